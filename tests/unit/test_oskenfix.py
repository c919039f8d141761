"""Flow-stats replies are read as cookie, table, priority and bytes, and agree with os-ken.

The reply bytes are built here field by field from the OpenFlow 1.4.0 layout of
ofp_flow_stats, with real matches and instructions from the codec; os-ken's own
OFPFlowStats parser is the oracle for where each entry's cookie and length are.
"""

from __future__ import annotations

import struct

from os_ken.ofproto import ofproto_parser
from os_ken.ofproto import ofproto_v1_4 as ofp
from os_ken.ofproto import ofproto_v1_4_parser as parser
from os_ken.ofproto.ofproto_protocol import ProtocolDesc

from controller import codec, oskenfix
from controller.flows import ApplyActions, Flow, GotoTable, Move, Output, SetField, match

DATAPATH = ProtocolDesc(ofp.OFP_VERSION)
FLOWS = [
    Flow(0, 100, match(in_port=3), (GotoTable(10),), 4),
    Flow(20, 100, match(metadata=7, eth_type=0x0806, arp_op=1, arp_tpa="10.0.0.2"),
         (ApplyActions((Move("eth_src", "eth_dst"), SetField("arp_op", 2), Output(5))),), 4),
    Flow(40, 0, (), (), 1),
]
COOKIES = [0x5704_0000_0000_0001, 0x5704_FFFF_FFFF_FFFF, 0x5701_0000_0000_0000]


def flow_stats_entry(flow: Flow, cookie: int) -> bytes:
    match_bytes = codec.encode_match(flow.match)
    instructions = b"".join(codec._encode_instruction(i) for i in flow.instructions)
    head = struct.pack(
        "!HBxIIHHHHH2xQQQ",
        48 + len(match_bytes) + len(instructions), flow.table, 12, 345, flow.priority,
        0, 0, 0, 0, cookie, 99, 9999,  # timeouts, flags, importance, cookie, packets, bytes
    )
    return head + match_bytes + instructions


def flow_stats_reply(entries: bytes, xid: int = 5) -> bytes:
    return struct.pack(
        "!BBHIHH4x", ofp.OFP_VERSION, ofp.OFPT_MULTIPART_REPLY, 16 + len(entries), xid,
        ofp.OFPMP_FLOW, 0,
    ) + entries


def test_each_entry_reads_as_os_ken_reads_its_cookie_and_length():
    for flow, cookie in zip(FLOWS, COOKIES, strict=True):
        entry = flow_stats_entry(flow, cookie)
        buf = b"\xaa" * 16 + entry  # not at the start: offsets must be relative
        full = parser.OFPFlowStats.parser(buf, 16)
        light = oskenfix.FlowEntry.parser(buf, 16)
        assert (light.cookie, light.length) == (full.cookie, full.length) == (cookie, len(entry))
        assert (light.table, light.priority) == (full.table_id, full.priority)
        assert light.raw == entry


def test_installed_flow_stats_replies_hold_every_cookie_in_order():
    oskenfix.install()
    raw = flow_stats_reply(b"".join(map(flow_stats_entry, FLOWS, COOKIES)))
    message = ofproto_parser.msg(DATAPATH, ofp.OFP_VERSION, ofp.OFPT_MULTIPART_REPLY,
                                 len(raw), 5, raw)
    assert isinstance(message, parser.OFPFlowStatsReply)
    assert [entry.cookie for entry in message.body] == COOKIES
