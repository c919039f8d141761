"""The simulator on small hand-written tables whose outcome is worked out by hand."""

from __future__ import annotations

import pytest

from controller.flows import (
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
from controller.simulator import Fabric, FlowTableError, Host, LoopError, Packet, SimSwitch

MAC_A, MAC_B, MAC_GW = 0x0200_0000_000A, 0x0200_0000_000B, 0x0200_0000_00FE
ARP_REQUEST = Packet(
    eth_src=MAC_A, eth_dst=0xFFFF_FFFF_FFFF, eth_type=0x0806, arp_op=1,
    arp_sha=MAC_A, arp_spa="10.0.0.1", arp_tha=0, arp_tpa="10.0.0.254", payload="who-has",
)
UDP = Packet(eth_src=MAC_A, eth_dst=MAC_B, eth_type=0x0800, ip_proto=17,
             ipv4_src="10.0.0.1", ipv4_dst="10.0.0.2", payload="data")


def flow(table, priority, m=(), actions=(), *, metadata=None, goto=None) -> Flow:
    """A flow from the parts a test cares about; category does not matter here."""
    instructions = []
    if actions:
        instructions.append(ApplyActions(tuple(actions)))
    if metadata is not None:
        instructions.append(WriteMetadata(*metadata))
    if goto is not None:
        instructions.append(GotoTable(goto))
    return Flow(table, priority, m, tuple(instructions), 1)


def test_arp_responder_rewrites_the_request_into_a_reply():
    responder = flow(0, 100, match(eth_type=0x0806, arp_op=1, arp_tpa="10.0.0.254"), [
        Move("eth_src", "eth_dst"), SetField("eth_src", MAC_GW), SetField("arp_op", 2),
        Move("arp_sha", "arp_tha"), SetField("arp_sha", MAC_GW),
        Move("arp_spa", "arp_tpa"), SetField("arp_spa", 0x0A00_00FE), Output(OFPP_IN_PORT),
    ])
    switch = SimSwitch([responder], {})
    assert switch.process(3, ARP_REQUEST) == [(3, Packet(
        eth_src=MAC_GW, eth_dst=MAC_A, eth_type=0x0806, arp_op=2, arp_sha=MAC_GW,
        arp_spa="10.0.0.254", arp_tha=MAC_A, arp_tpa="10.0.0.1", payload="who-has",
    ))]
    other_target = ARP_REQUEST.replace(arp_tpa="10.0.0.9")
    assert switch.process(3, other_target) == []  # table miss drops


def test_group_all_copies_to_every_bucket_except_the_in_port():
    group = Group((
        (Output(1),),
        (Output(2),),
        (SetField("eth_dst", MAC_B), Output(3)),
    ))
    switch = SimSwitch([flow(0, 0, (), [ToGroup(7), Output(4)])], {7: group})
    assert switch.process(1, UDP) == [
        (2, UDP),
        (3, UDP.replace(eth_dst=MAC_B)),
        (4, UDP),  # the bucket's SetField changed only the bucket's copy
    ]


def test_groups_may_chain_but_not_loop():
    groups = {1: Group(((Output(5),), (ToGroup(2),))), 2: Group(((Output(6),),))}
    assert SimSwitch([flow(0, 0, (), [ToGroup(1)])], groups).process(1, UDP) == [
        (5, UDP), (6, UDP)]
    looping = {1: Group(((ToGroup(2),),)), 2: Group(((ToGroup(1),),))}
    with pytest.raises(FlowTableError, match="contains itself"):
        SimSwitch([flow(0, 0, (), [ToGroup(1)])], looping).process(1, UDP)


def test_goto_and_metadata_writes_with_masks():
    switch = SimSwitch([
        flow(0, 10, match(in_port=1), metadata=(0x0005, 0x00FF), goto=10),
        flow(10, 10, match(metadata=0x0005), metadata=(0x0100, 0x0F00), goto=20),
        flow(20, 10, match(metadata=0x0105), [Output(9)]),
    ], {})
    assert switch.process(1, UDP) == [(9, UDP)]
    assert switch.process(2, UDP) == []


def test_apply_actions_run_before_the_next_table_sees_the_packet():
    switch = SimSwitch([
        flow(0, 10, (), [SetField("reg0", 1), SetField("eth_dst", MAC_GW)], goto=5),
        flow(5, 10, match(reg0=1, eth_dst=MAC_GW), [Output(9)]),
    ], {})
    assert switch.process(1, UDP) == [(9, UDP.replace(eth_dst=MAC_GW))]


def test_registers_and_metadata_start_at_zero():
    switch = SimSwitch([flow(0, 10, match(reg3=0, metadata=0), [Output(9)])], {})
    assert switch.process(1, UDP) == [(9, UDP)]


def test_highest_priority_wins_and_masks_match_prefixes():
    subnet = ("10.0.0.0", "255.255.255.0")
    switch = SimSwitch([
        flow(0, 10, match(eth_type=0x0800, ipv4_dst=subnet), [Output(10)]),
        flow(0, 20, match(eth_type=0x0800, ipv4_dst="10.0.0.2"), [Output(20)]),
        flow(0, 30, match(eth_dst=(0x0100_0000_0000, 0x0100_0000_0000)), [Output(30)]),
    ], {})
    assert switch.process(1, UDP) == [(20, UDP)]
    assert switch.process(1, UDP.replace(ipv4_dst="10.0.0.3")) == [(10, UDP.replace(
        ipv4_dst="10.0.0.3"))]
    assert switch.process(1, UDP.replace(ipv4_dst="10.0.1.2")) == []
    multicast = UDP.replace(eth_dst=0x0100_5E00_0001)
    assert switch.process(1, multicast) == [(30, multicast)]


def test_each_of_many_flows_of_one_priority_matches_its_own_packets():
    macs = [0x0200_0000_1000 + i for i in range(20)]
    switch = SimSwitch([
        *[flow(0, 100, match(metadata=0, eth_dst=mac), [Output(10 + i)])
          for i, mac in enumerate(macs)],
        flow(0, 100, match(metadata=1, eth_dst=macs[0]), [Output(99)]),
        flow(0, 100, match(metadata=0, eth_dst=(0x0100_0000_0000, 0x0100_0000_0000)),
             [Output(98)]),
    ], {})
    for i, mac in enumerate(macs):
        assert switch.process(1, UDP.replace(eth_dst=mac)) == [(10 + i, UDP.replace(eth_dst=mac))]
    broadcast = UDP.replace(eth_dst=0xFFFF_FFFF_FFFF)
    assert switch.process(1, broadcast) == [(98, broadcast)]
    assert switch.process(1, UDP.replace(eth_dst=0x0200_0000_0FFF)) == []


def test_output_to_the_in_port_is_dropped_unless_it_is_ofpp_in_port():
    switch = SimSwitch([flow(0, 0, (), [Output(1), Output(2), Output(OFPP_IN_PORT)])], {})
    assert switch.process(1, UDP) == [(2, UDP), (1, UDP)]


def test_controller_output_is_reported_as_that_port():
    switch = SimSwitch([flow(0, 0, (), [Output(OFPP_CONTROLLER, max_len=128)])], {})
    assert switch.process(1, UDP) == [(OFPP_CONTROLLER, UDP)]


@pytest.mark.parametrize("a, b", [
    (match(eth_dst=MAC_A), match(eth_dst=MAC_A)),
    (match(eth_dst=MAC_A), match(in_port=1)),
    (match(eth_type=0x0800, ipv4_dst=("10.0.0.0", "255.255.255.0")),
     match(eth_type=0x0800, ipv4_dst="10.0.0.7")),
    (match(reg0=(1, 1)), match(reg0=(2, 2))),
], ids=["same", "disjoint-fields", "prefix-contains", "masks-independent-bits"])
def test_overlapping_flows_of_equal_priority_are_refused(a, b):
    with pytest.raises(FlowTableError, match="overlapping"):
        SimSwitch([flow(0, 5, a, [Output(1)]), flow(0, 5, b, [Output(2)])], {})


@pytest.mark.parametrize("a, b", [
    (match(eth_dst=MAC_A), match(eth_dst=MAC_B)),
    (match(eth_type=0x0800, ipv4_dst=("10.0.0.0", "255.255.255.0")),
     match(eth_type=0x0800, ipv4_dst="10.0.1.7")),
    (match(reg0=(1, 1)), match(reg0=(2, 3))),
    (match(metadata=1, eth_dst=MAC_A), match(metadata=2, eth_dst=MAC_A, reg0=1)),
])
def test_disjoint_flows_of_equal_priority_are_fine(a, b):
    SimSwitch([flow(0, 5, a, [Output(1)]), flow(0, 5, b, [Output(2)])], {})


def test_the_same_flow_twice_is_one_flow():
    same = flow(0, 5, match(eth_dst=MAC_B), [Output(2)])
    assert SimSwitch([same, same], {}).process(1, UDP) == [(2, UDP)]


def test_tables_ovs_would_refuse_are_refused():
    with pytest.raises(FlowTableError, match="does not exist"):
        SimSwitch([flow(0, 0, (), [ToGroup(9)])], {})
    with pytest.raises(FlowTableError, match="does not exist"):
        SimSwitch([], {1: Group(((ToGroup(9),),))})
    with pytest.raises(FlowTableError, match="earlier table"):
        SimSwitch([flow(10, 0, (), goto=10)], {})


def test_packets_are_immutable_values_without_switch_state():
    assert Packet(ipv4_dst="10.0.0.2", eth_dst="02:00:00:00:00:0b")["ipv4_dst"] == 0x0A00_0002
    assert dict(UDP) == UDP
    assert hash(UDP) == hash(Packet(dict(UDP)))
    with pytest.raises(TypeError):
        UDP["eth_dst"] = 1
    with pytest.raises(ValueError, match="switch state"):
        Packet(UDP, reg0=1)


# ---------------------------------------------------------------- fabric

TUNNEL_PORT = 100  # on each host, the tunnel port to the other host


def two_hosts(a_flows, b_flows) -> Fabric:
    return Fabric({
        "a": Host(SimSwitch(a_flows, {}), {TUNNEL_PORT: "b"}),
        "b": Host(SimSwitch(b_flows, {}), {TUNNEL_PORT + 1: "a"}),
    })


def test_fabric_delivers_through_the_tunnel_with_vni_and_fresh_registers():
    fabric = two_hosts(
        [flow(0, 10, match(in_port=1), [
            SetField("reg0", 1), SetField("tunnel_id", 5000), Output(TUNNEL_PORT)])],
        [
            # arrives on b's port towards a, with the VNI and reg0 back at 0
            flow(0, 10, match(in_port=TUNNEL_PORT + 1, tunnel_id=5000, reg0=0),
                 metadata=(5000, 0xFFFF), goto=30),
            flow(30, 10, match(metadata=5000, eth_dst=MAC_B), [Output(2)]),
        ],
    )
    assert fabric.send("a", 1, UDP) == [("b", 2, UDP)]  # the VNI is not delivered


def test_fabric_reports_local_deliveries_on_both_hosts():
    fabric = two_hosts(
        [flow(0, 10, match(in_port=1), [Output(2), Output(TUNNEL_PORT)])],
        [flow(0, 10, match(in_port=TUNNEL_PORT + 1), [Output(3), Output(OFPP_CONTROLLER)])],
    )
    assert sorted(fabric.send("a", 1, UDP)) == sorted(
        [("a", 2, UDP), ("b", 3, UDP), ("b", OFPP_CONTROLLER, UDP)])


def test_fabric_refuses_a_tunnel_without_a_way_back():
    with pytest.raises(ValueError, match="no tunnel back"):
        Fabric({"a": Host(SimSwitch([], {}), {100: "b"}),
                "b": Host(SimSwitch([], {}), {})})


def test_a_tunnel_to_tunnel_loop_is_an_error_not_a_hang():
    bounce = flow(0, 0, (), [Output(OFPP_IN_PORT)])  # send back where it came from
    fabric = two_hosts([flow(0, 10, match(in_port=1), [Output(TUNNEL_PORT)]), bounce], [bounce])
    with pytest.raises(LoopError, match="a:1 -> b:101 -> a:100 -> b:101"):
        fabric.send("a", 1, UDP)


def test_a_long_path_is_an_error_past_the_hop_limit():
    """a -> b -> c is two hops: fine with the default limit, a LoopError with max_hops=1."""
    forward = [flow(0, 0, match(in_port=1), [Output(10)]),
               flow(0, 0, match(in_port=11), [Output(10)]),
               flow(0, 0, match(in_port=12), [Output(2)])]
    hosts = {
        "a": Host(SimSwitch(forward, {}), {10: "b"}),
        "b": Host(SimSwitch(forward, {}), {11: "a", 10: "c"}),
        "c": Host(SimSwitch(forward, {}), {12: "b"}),
    }
    assert Fabric(hosts).send("a", 1, UDP) == [("c", 2, UDP)]
    with pytest.raises(LoopError):
        Fabric(hosts, max_hops=1).send("a", 1, UDP)
