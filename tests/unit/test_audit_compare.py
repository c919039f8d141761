"""The audit's comparison of tables read back with the desired configuration, and the
bundle that repairs them, on entries built byte for byte as a switch sends them."""

from __future__ import annotations

import dataclasses
import struct

from controller import audit, codec
from controller.flows import ApplyActions, Flow, Output
from controller.oskenfix import FlowEntry, GroupEntry
from tests.support.cluster import compile_all
from tests.unit.test_oskenfix import flow_stats_entry
from tests.unit.test_trace import spec

CODEC = codec.Codec()


def entry(flow: Flow, cookie: int | None = None) -> FlowEntry:
    raw = flow_stats_entry(flow, CODEC.cookie(flow) if cookie is None else cookie)
    return FlowEntry.parser(raw, 0)


def group_entry(gid: int, group) -> GroupEntry:
    buckets = codec.encode_buckets(group)
    return GroupEntry.parser(struct.pack("!HBxI", 8 + len(buckets), 0, gid) + buckets, 0)


def installed(config, flows=None, groups=None) -> audit.Tables:
    flows = [entry(f) for f in config.flows] if flows is None else flows
    groups = [group_entry(g, x) for g, x in config.groups.items()] if groups is None else groups
    return audit.Tables(tuple(flows), tuple(groups))


def test_a_switch_that_holds_the_configuration_has_no_difference():
    config = compile_all(spec())["h1"]
    difference = audit.compare(config, installed(config), CODEC, known={})
    assert not difference and difference.missing == difference.extra == 0
    assert set(difference.fingerprints) == {CODEC.cookie(f) for f in config.flows}


def test_every_kind_of_drift_is_found_and_the_repair_is_one_ordered_bundle():
    config = compile_all(spec())["h1"]
    flows = sorted(config.flows, key=CODEC.cookie)
    gone, changed, *kept = flows
    tampered = dataclasses.replace(changed, instructions=(ApplyActions((Output(99),)),))
    rogue = Flow(30, 200, (), (), 0)
    foreign = Flow(100, 5, (), (), 0)
    stale = Flow(40, 1, (), (), 3)  # a Weft flow nobody wants any more
    [(gid, group), *_] = config.groups.items()
    other = dataclasses.replace(group, buckets=((Output(1),),))
    tables = installed(config, [
        *(entry(f) for f in kept), entry(tampered, CODEC.cookie(changed)),
        entry(rogue, 0), entry(foreign, 7), entry(stale),
    ], [group_entry(gid, other), *(group_entry(g, x) for g, x in config.groups.items()
                                   if g != gid)])

    difference = audit.compare(config, tables, CODEC, known={})
    assert difference.missing_flows == (gone,)
    assert [f for f, _ in difference.changed_flows] == [changed]
    assert difference.extra_flows == (CODEC.cookie(stale),)
    assert [e.table for e in difference.rogue_flows] == [30]
    assert [e.cookie for e in difference.foreign_flows] == [7]
    assert difference.changed_groups == (group,)
    assert (difference.missing, difference.extra) == (3, 2)
    # Without fingerprints (on connect) only cookies are compared: the change goes unseen.
    assert audit.compare(config, tables, CODEC).changed_flows == ()

    kinds = [_kind(m) for m in audit.repair_messages(difference, CODEC, 1)]
    assert kinds == [
        "group modify",  # the changed group, back to its buckets
        "flow delete", "flow delete",  # the stale flow, then the changed one, by cookie
        "flow delete strict",  # the rogue flow: its table, priority and match
        "flow add", "flow add",  # the missing flow, and the changed one again
    ]


def _kind(message: bytes) -> str:
    """What an encoded flow-mod or group-mod does (OpenFlow 1.4 offsets)."""
    if message[1] == codec.OFPT_GROUP_MOD:
        (command,) = struct.unpack_from("!H", message, 8)
        return {codec.OFPGC_ADD: "group add", codec.OFPGC_MODIFY: "group modify",
                codec.OFPGC_DELETE: "group delete"}[command]
    command = message[8 + 8 + 8 + 1]  # after the header, cookie, cookie mask and table
    return {codec.OFPFC_ADD: "flow add", codec.OFPFC_DELETE: "flow delete",
            codec.OFPFC_DELETE_STRICT: "flow delete strict"}[command]
