"""The codec's bytes equal os-ken 4.2.2's serialisation of the same messages.

os-ken is the oracle: each test builds the os-ken `ofproto_v1_4_parser` objects that mean
what our flow values mean, serialises them, and compares byte for byte. The conversion below
is deliberately naive (field by field, action by action) so that it cannot share a mistake
with the codec.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from os_ken.ofproto import ofproto_v1_4 as ofp
from os_ken.ofproto import ofproto_v1_4_parser as parser
from os_ken.ofproto.ofproto_protocol import ProtocolDesc

from controller import codec
from controller.flows import (
    FIELDS,
    OFPP_CONTROLLER,
    OFPP_IN_PORT,
    ApplyActions,
    Flow,
    GotoTable,
    Group,
    Move,
    Output,
    SetField,
    ToGroup,
    WriteMetadata,
    match,
)

DATAPATH = ProtocolDesc(ofp.OFP_VERSION)
MAC_FIELDS = {"eth_dst", "eth_src", "arp_sha", "arp_tha", "ipv6_nd_sll"}
IPV4_FIELDS = {"ipv4_src", "ipv4_dst", "arp_spa", "arp_tpa"}
IPV6_FIELDS = {"ipv6_src", "ipv6_dst", "ipv6_nd_target"}


# ---------------------------------------------------------------- values -> os-ken objects


def user_value(field: str, value: int):
    """os-ken's user-facing spelling of a field value."""
    if field in MAC_FIELDS:
        return ":".join(f"{b:02x}" for b in value.to_bytes(6, "big"))
    if field in IPV4_FIELDS:
        return str(ipaddress.IPv4Address(value))
    if field in IPV6_FIELDS:
        return str(ipaddress.IPv6Address(value))
    return value


def osken_match(m) -> parser.OFPMatch:
    fields = [
        (name, user_value(name, v) if mask is None
         else (user_value(name, v), user_value(name, mask)))
        for name, v, mask in m
    ]
    # The constructor os-ken's own parser uses: fields in exactly the given order.
    return parser.OFPMatch(_ordered_fields=fields)


def osken_action(action):
    if isinstance(action, Output):
        return parser.OFPActionOutput(action.port, action.max_len)
    if isinstance(action, SetField):
        return parser.OFPActionSetField(**{action.field: user_value(action.field, action.value)})
    if isinstance(action, Move):
        n_bits = 8 * FIELDS[action.src].n_bytes
        return parser.NXActionRegMove(action.src, action.dst, n_bits)
    if isinstance(action, ToGroup):
        return parser.OFPActionGroup(action.group_id)
    raise AssertionError(action)


def osken_instruction(instruction):
    if isinstance(instruction, ApplyActions):
        actions = [osken_action(a) for a in instruction.actions]
        return parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)
    if isinstance(instruction, WriteMetadata):
        return parser.OFPInstructionWriteMetadata(instruction.value, instruction.mask)
    if isinstance(instruction, GotoTable):
        return parser.OFPInstructionGotoTable(instruction.table)
    raise AssertionError(instruction)


def serialised(message, xid: int) -> bytes:
    message.set_xid(xid)
    message.serialize()
    return bytes(message.buf)


def osken_flow_add(flow: Flow, cookie: int):
    return parser.OFPFlowMod(
        DATAPATH, cookie=cookie, cookie_mask=0, table_id=flow.table, command=ofp.OFPFC_ADD,
        priority=flow.priority, buffer_id=ofp.OFP_NO_BUFFER, out_port=ofp.OFPP_ANY,
        out_group=ofp.OFPG_ANY, flags=0, match=osken_match(flow.match),
        instructions=[osken_instruction(i) for i in flow.instructions],
    )


def osken_group_mod(command: int, gid: int, group: Group | None):
    buckets = [] if group is None else [
        parser.OFPBucket(actions=[osken_action(a) for a in bucket]) for bucket in group.buckets
    ]
    return parser.OFPGroupMod(DATAPATH, command, ofp.OFPGT_ALL, gid, buckets)


# ---------------------------------------------------------------- sample values


def sample_value(field: str, salt: int = 0) -> int:
    """A value using every byte of the field, so byte order mistakes show."""
    n_bytes = FIELDS[field].n_bytes
    return int.from_bytes(bytes((0x11 * (i + 1) + salt) % 256 for i in range(n_bytes)), "big")


def sample_mask(field: str) -> int:
    """Not all ones (that is an exact match) and not contiguous (OXM allows any mask)."""
    n_bytes = FIELDS[field].n_bytes
    return int.from_bytes(b"\xf0" + b"\x0f" * (n_bytes - 1), "big")


def with_prerequisites(**fields):
    """A match on `fields` plus whatever their prerequisites require."""
    required = {}
    for name in fields:
        for prerequisite, allowed in FIELDS[name].prerequisites:
            required[prerequisite] = allowed[0]
    return match(**{**required, **fields})


def assert_flow_bytes_equal(flow: Flow, xid: int = 0x1234_5678):
    c = codec.Codec()
    ours = c.flow_add(flow, xid)
    assert ours == serialised(osken_flow_add(flow, c.cookie(flow)), xid)


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("field", FIELDS)
def test_every_field_exact(field):
    m = with_prerequisites(**{field: sample_value(field)})
    assert (field, sample_value(field), None) in m
    assert_flow_bytes_equal(Flow(10, 100, m, (GotoTable(20),), 3))


@pytest.mark.parametrize("field", FIELDS)
def test_every_field_masked(field):
    m = with_prerequisites(**{field: (sample_value(field), sample_mask(field))})
    assert (field, sample_value(field) & sample_mask(field), sample_mask(field)) in m
    assert_flow_bytes_equal(Flow(10, 100, m, (GotoTable(20),), 3))


def test_many_fields_in_one_match():
    m = match(
        in_port=7, metadata=(0x64, 0xFFFF), eth_src="02:00:00:00:00:01",
        eth_dst=("01:00:5e:00:00:00", "ff:ff:ff:80:00:00"), eth_type=0x0800, ip_proto=17,
        ipv4_src="198.51.100.1", ipv4_dst=("198.51.100.0", "255.255.255.0"),
        tunnel_id=5000, reg0=1, reg7=(0x10, 0xF0),
    )
    assert_flow_bytes_equal(Flow(30, 200, m, (ApplyActions((Output(3),)),), 4))


def test_empty_match_and_no_instructions():
    assert_flow_bytes_equal(Flow(0, 0, (), (), 1))


@pytest.mark.parametrize("field", FIELDS)
def test_set_field_of_every_field(field):
    flow = Flow(20, 10, (), (ApplyActions((SetField(field, sample_value(field, 3)),)),), 4)
    assert_flow_bytes_equal(flow)


@pytest.mark.parametrize("action", [
    Output(5),
    Output(0xFFFF_FF00),
    Output(OFPP_IN_PORT),
    Output(OFPP_CONTROLLER, max_len=128),
    Output(OFPP_CONTROLLER),
    ToGroup(0x8000_0001),
    Move("eth_src", "eth_dst"),
    Move("arp_sha", "arp_tha"),
    Move("arp_spa", "arp_tpa"),
    Move("reg1", "reg2"),
    Move("reg3", "ipv4_dst"),
    Move("tunnel_id", "metadata"),
    Move("ipv6_src", "ipv6_nd_target"),
], ids=repr)
def test_every_action(action):
    assert_flow_bytes_equal(Flow(20, 10, (), (ApplyActions((action,)),), 4))


@pytest.mark.parametrize("instructions", [
    (ApplyActions(()),),
    (WriteMetadata(0x1234),),
    (WriteMetadata(0x1234, 0xFFFF),),
    (GotoTable(40),),
    (
        ApplyActions((
            Move("eth_src", "eth_dst"), SetField("eth_src", 0x02AABBCCDDEE),
            SetField("arp_op", 2), Move("arp_sha", "arp_tha"), Move("arp_spa", "arp_tpa"),
            SetField("arp_sha", 0x02AABBCCDDEE), SetField("arp_spa", 0xC6336401),
            SetField("reg0", 1), Output(OFPP_IN_PORT),
        )),
        WriteMetadata(0x0000_0001_0000_0000, 0xFFFF_FFFF_0000_0000),
        GotoTable(30),
    ),
], ids=["apply-empty", "metadata", "metadata-masked", "goto", "all-three"])
def test_instructions(instructions):
    assert_flow_bytes_equal(Flow(10, 65535, match(in_port=1), instructions, 2))


GROUPS = [
    Group(()),
    Group(((Output(1),),)),
    Group(((Output(1),), (Output(2),), (SetField("tunnel_id", 100), Output(10)))),
    Group(((SetField("eth_dst", 0x0100_5E01_0203), Move("reg1", "reg2"), Output(3)),
           (ToGroup(0x8000_0002),))),
]


@pytest.mark.parametrize("group", GROUPS, ids=range(len(GROUPS)))
def test_group_add(group):
    c = codec.Codec()
    gid = codec.group_id(group)
    expected = serialised(osken_group_mod(ofp.OFPGC_ADD, gid, group), 99)
    assert c.group_add(group, 99) == expected


def test_group_delete():
    expected = serialised(osken_group_mod(ofp.OFPGC_DELETE, 0x8765_4321, None), 5)
    assert codec.group_delete(0x8765_4321, 5) == expected


def test_flow_delete_by_cookie():
    expected = parser.OFPFlowMod(
        DATAPATH, cookie=0x5704_0000_DEAD_BEEF, cookie_mask=0xFFFF_FFFF_FFFF_FFFF,
        table_id=ofp.OFPTT_ALL, command=ofp.OFPFC_DELETE, buffer_id=ofp.OFP_NO_BUFFER,
        out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY, priority=0, match=parser.OFPMatch(),
    )
    assert codec.flow_delete(0x5704_0000_DEAD_BEEF, 42) == serialised(expected, 42)


@pytest.mark.parametrize("encode, control_type", [
    (codec.bundle_open, ofp.OFPBCT_OPEN_REQUEST),
    (codec.bundle_commit, ofp.OFPBCT_COMMIT_REQUEST),
    (codec.bundle_discard, ofp.OFPBCT_DISCARD_REQUEST),
])
def test_bundle_control(encode, control_type):
    flags = ofp.OFPBF_ATOMIC | ofp.OFPBF_ORDERED
    expected = parser.OFPBundleCtrlMsg(DATAPATH, 0xABCD, control_type, flags, [])
    assert encode(17, 0xABCD) == serialised(expected, 17)


def test_bundle_add_of_a_flow_mod_and_a_group_mod():
    c = codec.Codec()
    flags = ofp.OFPBF_ATOMIC | ofp.OFPBF_ORDERED
    flow = Flow(30, 100, match(metadata=5, eth_dst=0x0200_0000_0001), (
        ApplyActions((Output(4),)),), 4)
    group = GROUPS[2]
    cases = [
        (c.flow_add(flow, 1001), osken_flow_add(flow, c.cookie(flow)), 1001),
        (c.group_add(group, 1002),
         osken_group_mod(ofp.OFPGC_ADD, codec.group_id(group), group), 1002),
    ]
    for inner, osken_inner, xid in cases:
        osken_inner.set_xid(xid)  # os-ken copies the outer xid into the inner message
        expected = parser.OFPBundleAddMsg(DATAPATH, 7, flags, osken_inner, [])
        assert codec.bundle_add(7, inner) == serialised(expected, xid)


def test_barrier_request():
    assert codec.barrier_request(3) == serialised(parser.OFPBarrierRequest(DATAPATH), 3)


def test_flow_stats_request():
    expected = parser.OFPFlowStatsRequest(
        DATAPATH, cookie=0x5700_0000_0000_0000, cookie_mask=0xFF00_0000_0000_0000
    )
    ours = codec.flow_stats_request(8, 0x5700_0000_0000_0000, 0xFF00_0000_0000_0000)
    assert ours == serialised(expected, 8)


def test_group_desc_request():
    expected = serialised(parser.OFPGroupDescStatsRequest(DATAPATH), 9)
    assert codec.group_desc_request(9) == expected


@pytest.mark.parametrize("in_port, actions", [
    (ofp.OFPP_CONTROLLER, (Output(3),)),
    (2, (SetField("eth_dst", 0x0200_0000_0009), Output(OFPP_IN_PORT))),
    (ofp.OFPP_CONTROLLER, (ToGroup(0x8000_0003),)),
])
def test_packet_out(in_port, actions):
    data = bytes(range(60))
    expected = parser.OFPPacketOut(
        DATAPATH, buffer_id=ofp.OFP_NO_BUFFER, in_port=in_port,
        actions=[osken_action(a) for a in actions], data=data,
    )
    assert codec.packet_out(11, in_port, actions, data) == serialised(expected, 11)


# ---------------------------------------------------------------- random flows


def _field_values(field: str):
    return st.integers(0, (1 << (8 * FIELDS[field].n_bytes)) - 1)


@st.composite
def random_matches(draw):
    """Up to 6 random fields, exact or masked, with their prerequisites; a field whose
    prerequisites contradict those of an earlier one (ARP after IPv4) is left out."""
    fields, required = {}, {}
    for name in draw(st.lists(st.sampled_from(list(FIELDS)), unique=True, max_size=6)):
        prerequisites = FIELDS[name].prerequisites
        if any(required.get(p, allowed[0]) not in allowed for p, allowed in prerequisites):
            continue
        for p, allowed in prerequisites:
            required.setdefault(p, draw(st.sampled_from(allowed)))
        value = draw(_field_values(name))
        fields[name] = (value, draw(_field_values(name))) if draw(st.booleans()) else value
    return match(**{**fields, **required})  # prerequisites win over random values


@st.composite
def random_actions(draw):
    field = draw(st.sampled_from(list(FIELDS)))
    same_width = [f for f in FIELDS if FIELDS[f].n_bytes == FIELDS[field].n_bytes]
    return draw(st.one_of(
        st.builds(Output, st.integers(0, 2**32 - 1), st.integers(0, 0xFFFF)),
        _field_values(field).map(lambda v: SetField(field, v)),
        st.sampled_from(same_width).map(lambda dst: Move(field, dst)),
        st.integers(0, 2**32 - 1).map(ToGroup),
    ))


@st.composite
def random_flows(draw):
    instructions = []
    if draw(st.booleans()):
        instructions.append(ApplyActions(tuple(draw(st.lists(random_actions(), max_size=5)))))
    if draw(st.booleans()):
        instructions.append(WriteMetadata(draw(st.integers(0, 2**64 - 1)),
                                          draw(st.integers(0, 2**64 - 1))))
    if draw(st.booleans()):
        instructions.append(GotoTable(draw(st.integers(0, 254))))
    return Flow(draw(st.integers(0, 254)), draw(st.integers(0, 0xFFFF)), draw(random_matches()),
                tuple(instructions), draw(st.integers(0, 255)))


@settings(max_examples=300, deadline=None)
@given(random_flows(), st.integers(0, 2**32 - 1))
def test_random_flows(flow, xid):
    assert_flow_bytes_equal(flow, xid)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(random_actions(), max_size=4).map(tuple), max_size=4))
def test_random_groups(buckets):
    group = Group(tuple(buckets))
    expected = serialised(osken_group_mod(ofp.OFPGC_ADD, codec.group_id(group), group), 1)
    assert codec.Codec().group_add(group, 1) == expected
