"""The codec's messages on a real Open vSwitch 3.1.

One ovs-vswitchd with dummy datapaths (`--enable-dummy=override --disable-system`: OpenFlow
tables without taps) and its ovsdb-server run in a network namespace of their own. Two
bridges: br0 gets the codec's bytes through tests/support/ofclient.py; br1 gets the same
flows written by hand in ovs-ofctl's own syntax. Both dumps must be identical, so what OVS
made of our bytes is exactly what a human meant.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile

import pytest
from os_ken.ofproto import ofproto_parser
from os_ken.ofproto.ofproto_protocol import ProtocolDesc

from controller import codec, decode
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
from controller.pipeline import COOKIE_CATEGORY_SHIFT, WEFT_COOKIE, Category, Table
from lab import netns
from tests.support.ofclient import OFPT_ERROR, Message, OFClient

pytestmark = pytest.mark.lab

SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
OFPT_BUNDLE_CONTROL = 33
OFPBCT_OPEN_REPLY, OFPBCT_COMMIT_REPLY = 1, 5
DATAPATH = ProtocolDesc(codec.OFP_VERSION)


class DummySwitch:
    """ovsdb-server + ovs-vswitchd in netns `wcodec<pid>`, state under a fresh /tmp dir
    (short: unix socket paths must stay under ~100 characters)."""

    def __init__(self):
        self.netns = f"wcodec{os.getpid()}"
        self.base = tempfile.mkdtemp(prefix="wcodec-")
        self.env = {f"OVS_{d}DIR": self.base for d in ("RUN", "DB", "LOG", "SYSCONF")}

    def _run(self, *argv: str, inside: bool = False) -> str:
        """Run a command (inside our netns if asked) with the lab's guards; CommandError if
        it fails."""
        return netns.run(argv, netns=self.netns if inside else None, env=self.env).stdout

    def _daemon(self, name: str, *argv: str) -> None:
        b = self.base
        self._run(name, *argv, f"--unixctl={b}/{name}.ctl", f"--pidfile={b}/{name}.pid",
                  f"--log-file={b}/{name}.log", "--no-chdir", "--detach", inside=True)

    def start(self, bridges: tuple[str, ...]) -> None:
        netns.add([self.netns])
        self._run("ip", "link", "set", "lo", "up", inside=True)
        self._run("ovsdb-tool", "create", f"{self.base}/conf.db", SCHEMA)
        self._daemon("ovsdb-server", f"{self.base}/conf.db", f"--remote=punix:{self.base}/db.sock")
        self.vsctl("--no-wait", "init")
        self._daemon("ovs-vswitchd", f"unix:{self.base}/db.sock",
                     "--enable-dummy=override", "--disable-system")
        for bridge in bridges:
            self.vsctl("add-br", bridge, "--", "set", "bridge", bridge, "datapath_type=netdev",
                       "fail_mode=secure", "protocols=OpenFlow13,OpenFlow14")

    def stop(self) -> None:
        """Stop our daemons (every process in our netns), then remove the netns and the
        directory."""
        netns.delete([self.netns])
        shutil.rmtree(self.base, ignore_errors=True)

    def vsctl(self, *args: str) -> str:
        return self._run("ovs-vsctl", f"--db=unix:{self.base}/db.sock", "--timeout=10", *args)

    def ofctl(self, command: str, bridge: str, *args: str) -> str:
        return self._run("ovs-ofctl", "-O", "OpenFlow14", command, self.mgmt(bridge), *args)

    def mgmt(self, bridge: str) -> str:
        return f"{self.base}/{bridge}.mgmt"


@pytest.fixture(scope="module")
def switch():
    ovs = DummySwitch()
    try:
        ovs.start(("br0", "br1"))
        yield ovs
    finally:
        ovs.stop()


# ---------------------------------------------------------------- what gets installed

VNI = 5000
MAC_LOCAL, MAC_REMOTE, MAC_GW = 0x0200_0000_0001, 0x0200_0000_0002, 0x0200_0000_00FE
FLOOD = Group(((Output(1),), (Output(2),), (SetField("tunnel_id", VNI), Output(10))))
MCAST = Group(((SetField("eth_dst", 0x0100_5E01_0203), Output(3)), (ToGroup(codec.group_id(
    FLOOD)),)))
GROUP_TEXT = {  # the same groups in ovs-ofctl's syntax, written by hand
    FLOOD: "type=all,bucket=output:1,bucket=output:2,bucket=set_field:5000->tunnel_id,output:10",
    MCAST: "type=all,bucket=set_field:01:00:5e:01:02:03->eth_dst,output:3,"
           f"bucket=group:{codec.group_id(FLOOD)}",
}
ARP_REPLY = (
    Move("eth_src", "eth_dst"), SetField("eth_src", MAC_GW), SetField("arp_op", 2),
    Move("arp_sha", "arp_tha"), SetField("arp_sha", MAC_GW),
    Move("arp_spa", "arp_tpa"), SetField("arp_spa", 0x0A00_00FE), Output(OFPP_IN_PORT),
)
FLOWS = {  # flow -> the same flow in ovs-ofctl's syntax (without cookie), written by hand
    Flow(Table.CLASSIFY, 0, (), (), Category.PIPELINE): "table=0,priority=0,actions=drop",
    Flow(Table.CLASSIFY, 100, match(in_port=1), (WriteMetadata(VNI), GotoTable(10)),
         Category.PORT): "table=0,priority=100,in_port=1,"
                         "actions=write_metadata:5000,goto_table:10",
    Flow(Table.CLASSIFY, 100, match(in_port=10), (
        ApplyActions((SetField("reg0", 1),)), GotoTable(5)), Category.TUNNEL):
        "table=0,priority=100,in_port=10,actions=set_field:1->reg0,goto_table:5",
    Flow(Table.TUNNEL_IN, 100, match(tunnel_id=VNI), (
        WriteMetadata(VNI, 0xFFFF_FFFF), GotoTable(30)), Category.NETWORK):
        "table=5,priority=100,tun_id=5000,actions=write_metadata:5000/0xffffffff,goto_table:30",
    Flow(Table.PORT_SECURITY, 100, match(in_port=1, eth_src=MAC_LOCAL), (GotoTable(20),),
         Category.PORT):
        "table=10,priority=100,in_port=1,dl_src=02:00:00:00:00:01,actions=goto_table:20",
    Flow(Table.PORT_SECURITY, 200, match(in_port=1, eth_type=0x0800, ip_proto=2), (
        ApplyActions((Output(OFPP_CONTROLLER, max_len=128),)),), Category.MULTICAST):
        "table=10,priority=200,ip,in_port=1,nw_proto=2,actions=controller:128",
    Flow(Table.NEIGHBOUR, 100, match(
        metadata=VNI, eth_type=0x0806, arp_op=1, arp_tpa="10.0.0.254"), (
        ApplyActions(ARP_REPLY),), Category.NETWORK):
        "table=20,priority=100,arp,metadata=5000,arp_tpa=10.0.0.254,arp_op=1,"
        "actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:02:00:00:00:00:fe->eth_src,"
        "set_field:2->arp_op,move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],"
        "set_field:02:00:00:00:00:fe->arp_sha,move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],"
        "set_field:10.0.0.254->arp_spa,in_port",
    Flow(Table.NEIGHBOUR, 0, (), (GotoTable(30),), Category.PIPELINE):
        "table=20,priority=0,actions=goto_table:30",
    Flow(Table.L2_LOOKUP, 100, match(metadata=VNI, eth_dst=MAC_REMOTE, reg0=0), (
        ApplyActions((SetField("tunnel_id", VNI), Output(10))),), Category.PORT):
        "table=30,priority=100,reg0=0,metadata=5000,dl_dst=02:00:00:00:00:02,"
        "actions=set_field:5000->tunnel_id,output:10",
    Flow(Table.L2_LOOKUP, 50, match(eth_dst=(0x0100_0000_0000, 0x0100_0000_0000)), (
        GotoTable(40),), Category.PIPELINE):
        "table=30,priority=50,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=goto_table:40",
    Flow(Table.L2_LOOKUP, 60, match(
        metadata=(VNI, 0xFFFF_FFFF), eth_type=0x0800, ipv4_dst=("198.51.100.0", "255.255.255.0")
    ), (ApplyActions((Move("reg1", "reg2"), Move("tunnel_id", "metadata"))),
        GotoTable(40)), Category.NETWORK):
        "table=30,priority=60,ip,metadata=5000/0xffffffff,nw_dst=198.51.100.0/24,"
        "actions=move:NXM_NX_REG1[]->NXM_NX_REG2[],move:NXM_NX_TUN_ID[]->OXM_OF_METADATA[],"
        "goto_table:40",
    Flow(Table.L2_LOOKUP, 70, match(
        eth_type=0x86DD, ip_proto=58, icmpv6_type=135, ipv6_nd_target="fe80::1",
        ipv6_nd_sll="02:00:00:00:00:01"), (
        ApplyActions((SetField("ipv6_dst", 0xFE80 << 112 | 2), Output(2))),), Category.PORT):
        "table=30,priority=70,icmp6,icmp_type=135,nd_target=fe80::1,nd_sll=02:00:00:00:00:01,"
        "actions=set_field:fe80::2->ipv6_dst,output:2",
    Flow(Table.NEIGHBOUR, 100, match(
        in_port=4, eth_type=0x86DD, ip_proto=58, icmpv6_type=136,
        ipv6_nd_target=("fe80::", "ffff:ffff:ffff:ffff::"), ipv6_nd_tll="02:00:00:00:00:04"), (
        GotoTable(30),), Category.PORT):
        "table=20,priority=100,icmp6,in_port=4,icmp_type=136,nd_target=fe80::/64,"
        "nd_tll=02:00:00:00:00:04,actions=goto_table:30",
    Flow(Table.FLOOD, 100, match(metadata=VNI), (ApplyActions((ToGroup(codec.group_id(
        FLOOD)),)),), Category.NETWORK):
        f"table=40,priority=100,metadata=5000,actions=group:{codec.group_id(FLOOD)}",
    Flow(Table.FLOOD, 90, match(metadata=VNI, reg7=(0x10, 0xF0)), (ApplyActions((ToGroup(
        codec.group_id(MCAST)),)),), Category.MULTICAST):
        f"table=40,priority=90,reg7=0x10/0xf0,metadata=5000,"
        f"actions=group:{codec.group_id(MCAST)}",
}
CODEC = codec.Codec()


def dump_flows(switch: DummySwitch, bridge: str) -> list[str]:
    return sorted(switch.ofctl("dump-flows", bridge, "--no-stats").splitlines())


def dump_groups(switch: DummySwitch, bridge: str) -> list[str]:
    return sorted(switch.ofctl("dump-groups", bridge).splitlines()[1:])  # after the title


def assert_no_errors(replies) -> None:
    assert [m.error for m in replies if m.type == OFPT_ERROR] == []


def bundle_control_types(replies) -> list[int]:
    """The bundle control replies' types (OPEN_REPLY, COMMIT_REPLY, ...), in order."""
    return [int.from_bytes(m.body[4:6], "big") for m in replies if m.type == OFPT_BUNDLE_CONTROL]


def install_in_one_bundle(client: OFClient, bundle_id: int, groups, flows):
    xid = client.next_xid
    adds = [CODEC.group_add(g, xid()) for g in groups] + [CODEC.flow_add(f, xid()) for f in flows]
    return client.exchange(
        codec.bundle_open(xid(), bundle_id),
        *[codec.bundle_add(bundle_id, message) for message in adds],
        codec.bundle_commit(xid(), bundle_id),
    )


@pytest.fixture(scope="module")
def installed(switch):
    """br0: FLOWS and groups from the codec in one bundle; br1: the hand-written text."""
    with OFClient(switch.mgmt("br0")) as client:
        replies = install_in_one_bundle(client, 1, [FLOOD, MCAST], FLOWS)
    assert_no_errors(replies)
    assert bundle_control_types(replies) == [OFPBCT_OPEN_REPLY, OFPBCT_COMMIT_REPLY]
    for group, text in GROUP_TEXT.items():
        switch.ofctl("add-group", "br1", f"group_id={codec.group_id(group)},{text}")
    for flow, text in FLOWS.items():
        switch.ofctl("add-flow", "br1", f"cookie={CODEC.cookie(flow):#x},{text}")
    return switch


# ---------------------------------------------------------------- tests


def test_bundle_installs_the_flows_and_groups_as_written_by_hand(installed):
    ours = dump_flows(installed, "br0")
    assert len(ours) == len(FLOWS)
    assert ours == dump_flows(installed, "br1")
    assert dump_groups(installed, "br0") == dump_groups(installed, "br1")
    assert len(dump_groups(installed, "br0")) == 2
    cookies = {CODEC.cookie(flow) for flow in FLOWS}
    assert {line.split(",")[0].strip() for line in ours} == {f"cookie={c:#x}" for c in cookies}


def test_an_invalid_flow_makes_the_whole_bundle_fail(installed):
    """A flow sending to a group that does not exist passes decoding, fails at commit; the
    valid flow and group of the same bundle must not be installed either."""
    before = dump_flows(installed, "br0"), dump_groups(installed, "br0")
    new_group = Group(((Output(7),),))
    valid = Flow(Table.L2_LOOKUP, 100, match(metadata=VNI, eth_dst=MAC_LOCAL), (
        ApplyActions((Output(1),)),), Category.PORT)
    invalid = Flow(Table.FLOOD, 80, match(metadata=VNI), (
        ApplyActions((ToGroup(0x8000_0000),)),), Category.NETWORK)
    with OFClient(installed.mgmt("br0")) as client:
        replies = install_in_one_bundle(client, 2, [new_group], [valid, invalid])
    OFPET_BAD_ACTION, OFPBAC_BAD_OUT_GROUP = 2, 9
    OFPET_BUNDLE_FAILED, OFPBFC_MSG_FAILED = 17, 13
    errors = [m.error for m in replies if m.type == OFPT_ERROR]
    assert errors == [(OFPET_BAD_ACTION, OFPBAC_BAD_OUT_GROUP),
                      (OFPET_BUNDLE_FAILED, OFPBFC_MSG_FAILED)]
    assert bundle_control_types(replies) == [OFPBCT_OPEN_REPLY]  # no COMMIT_REPLY
    assert (dump_flows(installed, "br0"), dump_groups(installed, "br0")) == before


def test_a_discarded_bundle_changes_nothing(installed):
    """OVS refuses a flow it cannot decode (goto backwards) already at BUNDLE_ADD, and would
    commit the rest of the bundle; the controller must discard such a bundle instead."""
    before = dump_flows(installed, "br0")
    valid = Flow(Table.L2_LOOKUP, 100, match(metadata=VNI, eth_dst=MAC_LOCAL), (
        ApplyActions((Output(1),)),), Category.PORT)
    backwards = Flow(Table.FLOOD, 80, (), (GotoTable(Table.CLASSIFY),), Category.PIPELINE)
    with OFClient(installed.mgmt("br0")) as client:
        adds = [CODEC.flow_add(f, client.next_xid()) for f in (valid, backwards)]
        replies = client.exchange(
            codec.bundle_open(client.next_xid(), 3),
            *[codec.bundle_add(3, message) for message in adds],
        )
        OFPET_BAD_INSTRUCTION, OFPBIC_BAD_TABLE_ID = 3, 2
        assert [(m.xid, m.error) for m in replies if m.type == OFPT_ERROR] == [
            (int.from_bytes(adds[1][4:8], "big"), (OFPET_BAD_INSTRUCTION, OFPBIC_BAD_TABLE_ID))]
        discard = client.exchange(codec.bundle_discard(client.next_xid(), 3))
    OFPBCT_DISCARD_REPLY = 7
    assert bundle_control_types(discard) == [OFPBCT_DISCARD_REPLY]
    assert dump_flows(installed, "br0") == before


def test_delete_by_cookie_removes_exactly_that_flow(installed):
    before = dump_flows(installed, "br0")
    victim = next(f for f in FLOWS if f.table == Table.NEIGHBOUR and f.priority == 100)
    cookie = f"cookie={CODEC.cookie(victim):#x},"
    with OFClient(installed.mgmt("br0")) as client:
        assert_no_errors(client.exchange(
            CODEC.flow_delete(CODEC.cookie(victim), client.next_xid())))
    after = dump_flows(installed, "br0")
    assert after == [line for line in before if not line.lstrip().startswith(cookie)]
    assert len(after) == len(before) - 1


def parsed(message: Message):
    """os-ken's parse of a reply, as the controller will see it."""
    raw = struct.pack("!BBHI", codec.OFP_VERSION, message.type, 8 + len(message.body),
                      message.xid) + message.body
    return ofproto_parser.msg(
        DATAPATH, codec.OFP_VERSION, message.type, len(raw), message.xid, raw)


def test_flow_stats_request_selects_by_cookie(installed):
    port_flows = {CODEC.cookie(f) for f in FLOWS if f.category == Category.PORT}
    category_bits = WEFT_COOKIE | Category.PORT << COOKIE_CATEGORY_SHIFT
    with OFClient(installed.mgmt("br0")) as client:
        replies = client.exchange(codec.flow_stats_request(
            client.next_xid(), category_bits, 0xFFFF << COOKIE_CATEGORY_SHIFT))
    assert {stats.cookie for reply in replies for stats in parsed(reply).body} == port_flows


def test_group_desc_request_lists_the_groups(installed):
    with OFClient(installed.mgmt("br0")) as client:
        replies = client.exchange(codec.group_desc_request(client.next_xid()))
    group_ids = {desc.group_id for reply in replies for desc in parsed(reply).body}
    assert group_ids == {codec.group_id(FLOOD), codec.group_id(MCAST)}


def test_group_add_and_delete_outside_a_bundle(switch):
    group = Group(((Output(5),), (Output(6),)))
    listed = f"group_id={codec.group_id(group)},type=all,bucket=actions=output:5,"
    with OFClient(switch.mgmt("br0")) as client:
        assert_no_errors(client.exchange(CODEC.group_add(group, client.next_xid())))
        assert any(line.strip().startswith(listed) for line in dump_groups(switch, "br0"))
        assert_no_errors(client.exchange(
            CODEC.group_delete(codec.group_id(group), client.next_xid())))
    assert not any(line.strip().startswith(listed) for line in dump_groups(switch, "br0"))


def test_packet_out_sends_the_packet_through_the_actions(switch):
    """A dummy port on br0 records what it transmits in a pcap file."""
    pcap = f"{switch.base}/p7.pcap"
    switch.vsctl("add-port", "br0", "p7", "--", "set", "interface", "p7", "type=dummy",
                 "ofport_request=7", f"options:tx_pcap={pcap}")
    frame = bytes.fromhex("ffffffffffff" "020000000001" "0800") + bytes(range(46))
    actions = (SetField("eth_dst", MAC_REMOTE), Output(7))
    with OFClient(switch.mgmt("br0")) as client:
        assert_no_errors(client.exchange(
            codec.packet_out(client.next_xid(), OFPP_CONTROLLER, actions, frame)))
    with open(pcap, "rb") as captured:
        records = captured.read()[24:]  # after the pcap file header
    (length,) = struct.unpack_from("<I", records, 8)  # captured length of the one record
    assert records[16:16 + length] == MAC_REMOTE.to_bytes(6, "big") + frame[6:]
    assert len(records) == 16 + length


def test_flows_and_groups_read_back_decode_to_the_values_sent(switch):
    """On a bridge of its own (br0 loses a flow in another test; br1's, written with
    ovs-ofctl, have max_len 0 in their outputs, where the codec writes OFPCML_NO_BUFFER)."""
    switch.vsctl("add-br", "br2", "--", "set", "bridge", "br2", "datapath_type=netdev",
                 "fail_mode=secure", "protocols=OpenFlow13,OpenFlow14")
    with OFClient(switch.mgmt("br2")) as client:
        assert_no_errors(install_in_one_bundle(client, 1, [FLOOD, MCAST], FLOWS))
        flow_replies = client.exchange(codec.flow_stats_request(client.next_xid(), 0, 0))
        group_replies = client.exchange(codec.group_desc_request(client.next_xid()))
    entries = [entry for reply in flow_replies for entry in _entries(reply.body, 8)]
    read = {(d := decode.decode_flow(raw)).cookie: d for raw in entries}
    assert {c: d.flow for c, d in read.items()} == {CODEC.cookie(f): f for f in FLOWS}
    assert all(d.opaque == () for d in read.values())
    groups = dict(decode.decode_group(raw) for reply in group_replies
                  for raw in _entries(reply.body, 8))
    assert groups == {codec.group_id(FLOOD): FLOOD, codec.group_id(MCAST): MCAST}


def _entries(body: bytes, offset: int) -> list[bytes]:
    """The entries of a multipart reply's body (after its 8-byte multipart header)."""
    found = []
    while offset < len(body):
        (length,) = struct.unpack_from("!H", body, offset)
        found.append(body[offset:offset + length])
        offset += length
    return found
