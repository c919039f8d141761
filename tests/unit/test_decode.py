"""Flows and groups read back from a switch decode to the values the compiler made."""

from __future__ import annotations

import struct

from controller import codec, decode
from controller.flows import Flow, Group
from tests.support.cluster import compile_all
from tests.unit.test_oskenfix import flow_stats_entry
from tests.unit.test_trace import spec


def test_every_compiled_flow_and_group_decodes_to_itself():
    c = codec.Codec()
    for config in compile_all(spec()).values():
        for flow in config.flows:
            installed = decode.decode_flow(flow_stats_entry(flow, c.cookie(flow)))
            assert (installed.flow, installed.cookie, installed.opaque) == (
                flow, c.cookie(flow), ())
        for gid, group in config.groups.items():
            buckets = codec.encode_buckets(group)
            raw = struct.pack("!HBxI", 8 + len(buckets), 0, gid) + buckets
            assert decode.decode_group(raw) == (gid, group)


def test_a_flow_that_is_not_weft_s_keeps_what_weft_does_not_know():
    flow = Flow(0, 5, (), (), 0)
    entry = bytearray(flow_stats_entry(flow, 0))
    # apply-actions with an unknown action type (ofp_action_header 0x0b: copy_ttl_in)
    entry += struct.pack("!HH4xHH4x", 4, 16, 0x0B, 8)
    struct.pack_into("!H", entry, 0, len(entry))
    installed = decode.decode_flow(bytes(entry))
    assert installed.flow.category == 0
    assert installed.opaque == (decode.Opaque("action type 11"),)
    assert decode.decode_group(struct.pack("!HBxI", 8, 0, 7)) == (7, Group(()))
