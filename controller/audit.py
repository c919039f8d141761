"""What a switch holds against what Weft wants there: the difference, and the messages that
repair it. Pure: tables read back in, a `Difference` and bytes out.

The comparison is by identity, never by parsing: a Weft flow's cookie is a hash of the flow
and a Weft group's id a hash of its buckets (controller/codec.py), so

- a desired flow whose cookie is not installed is *missing*; an installed Weft cookie that is
  not desired is *extra* and deleted by that exact cookie;
- a desired cookie whose installed flow says something else (`ovs-ofctl mod-flows` keeps the
  cookie) is *changed*: deleted by its cookie and added again. Checking that means decoding
  the entry and hashing it again (~20 us a flow), so it is done once per flow and
  connection: an entry found right leaves a fingerprint (a hash of its bytes from the match
  on), and later audits only compare fingerprints (`known`);
- a desired group that is absent is missing; one present with other buckets than its id
  says (someone ran `ovs-ofctl mod-group`) is *changed* and modified back; an installed
  Weft group that is not desired is extra;
- a flow without Weft's cookie mark is someone else's. In one of Weft's tables it is *rogue*
  and deleted (by its exact table, priority, match and cookie): each of those tables ends in
  a priority-0 miss flow of Weft's, so a flow of any priority there takes packets from Weft's
  flows or competes with the miss. In any other table it is *foreign*: reported, left alone
  (no Weft flow ever goes to another table, so it cannot change Weft's forwarding).

SwitchSync (controller/switch.py) uses the same `Difference` for ordinary applies, computed
from what it last committed instead of from tables read back.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from controller import codec as ofcodec
from controller.compiler import SwitchConfig
from controller.decode import decode_flow, decode_group
from controller.flows import Flow, Group
from controller.flowtext import actions_text, buckets_text, match_text, table_name
from controller.owners import Owners
from controller.pipeline import COOKIE_MARK_MASK, GROUP_ID_MARK, WEFT_COOKIE, Table

WEFT_TABLES = frozenset(int(t) for t in Table)
_MATCH_LENGTH = struct.Struct("!H")
_MATCH_OFFSET = 48  # ofp_flow_stats up to its match


@dataclass(frozen=True)
class Tables:
    """What a switch holds, as read back: controller/oskenfix.py's FlowEntry and GroupEntry
    (cookie, table, priority and raw bytes of each flow; id and raw bytes of each group)."""

    flows: tuple
    groups: tuple

    @property
    def bytes_read(self) -> int:
        return sum(e.length for e in self.flows) + sum(e.length for e in self.groups)


@dataclass(frozen=True)
class Difference:
    missing_flows: tuple[Flow, ...] = ()
    changed_flows: tuple = ()  # (desired Flow, the FlowEntry installed with its cookie)
    extra_flows: tuple[int, ...] = ()  # Weft cookies
    rogue_flows: tuple = ()  # FlowEntry: not Weft's, in Weft's tables
    foreign_flows: tuple = ()  # FlowEntry: not Weft's, in other tables (reported only)
    missing_groups: tuple[Group, ...] = ()
    changed_groups: tuple[Group, ...] = ()
    extra_groups: tuple[int, ...] = ()
    tables: Tables | None = None  # what was read, if anything (to name the extra flows)
    fingerprints: Mapping[int, int] | None = None  # cookie -> fingerprint of a right entry

    @property
    def missing(self) -> int:
        """Desired flows and groups the switch lacks (or holds changed)."""
        return (len(self.missing_flows) + len(self.changed_flows) + len(self.missing_groups)
                + len(self.changed_groups))

    @property
    def extra(self) -> int:
        """Flows and groups the switch holds and Weft removes."""
        return len(self.extra_flows) + len(self.rogue_flows) + len(self.extra_groups)

    def __bool__(self) -> bool:
        """Whether the switch needs a repair (foreign flows need none)."""
        return bool(self.missing or self.extra)


def is_weft(cookie: int) -> bool:
    return cookie & COOKIE_MARK_MASK == WEFT_COOKIE


def desired_cookies(config: SwitchConfig, codec: ofcodec.Codec) -> dict[int, Flow]:
    return {codec.cookie(flow): flow for flow in config.flows}


def against_belief(
    config: SwitchConfig,
    installed_flows: Iterable[int],
    installed_groups: Iterable[int],
    codec: ofcodec.Codec,
) -> Difference:
    """The difference from what was last committed (no tables read)."""
    desired = desired_cookies(config, codec)
    installed_flows, installed_groups = set(installed_flows), set(installed_groups)
    return Difference(
        missing_flows=tuple(f for c, f in desired.items() if c not in installed_flows),
        extra_flows=tuple(installed_flows - desired.keys()),
        missing_groups=tuple(g for i, g in config.groups.items() if i not in installed_groups),
        extra_groups=tuple(installed_groups - config.groups.keys()),
    )


def compare(
    config: SwitchConfig,
    tables: Tables,
    codec: ofcodec.Codec,
    known: Mapping[int, int] | None = None,
) -> Difference:
    """The difference between `config` and what the switch was read to hold. With `known`
    (fingerprints of entries found right before, {} at first), installed Weft flows are
    checked against their cookies too; without, only their cookies are compared."""
    weft = [e for e in tables.flows if is_weft(e.cookie)]
    others = [e for e in tables.flows if not is_weft(e.cookie)]
    groups = {e.group_id: e for e in tables.groups if e.group_id & GROUP_ID_MARK}
    base = against_belief(config, (e.cookie for e in weft), groups, codec)
    changed = tuple(
        group
        for gid, group in config.groups.items()
        if gid in groups and groups[gid].raw[8:] != ofcodec.encode_buckets(group)
    )
    changed_flows, fingerprints = (), None
    if known is not None:
        changed_flows, fingerprints = _verify(weft, desired_cookies(config, codec), known, codec)
    return Difference(
        missing_flows=base.missing_flows,
        changed_flows=changed_flows,
        extra_flows=base.extra_flows,
        rogue_flows=tuple(e for e in others if e.table in WEFT_TABLES),
        foreign_flows=tuple(e for e in others if e.table not in WEFT_TABLES),
        missing_groups=base.missing_groups,
        changed_groups=changed,
        extra_groups=base.extra_groups,
        tables=tables,
        fingerprints=fingerprints,
    )


def _fingerprint(entry) -> int:
    return hash(entry.raw[_MATCH_OFFSET:])  # match and instructions: no counters


def _verify(entries, desired: Mapping[int, Flow], known: Mapping[int, int], codec):
    """(desired flows installed with other content, fingerprints of the entries found
    right). An entry is right if its fingerprint is known, or if it decodes to a flow whose
    cookie is its own; a cookie held by a wrong entry (even beside a right one) is changed."""
    right: dict[int, int] = {}
    wrong: dict[int, object] = {}
    for entry in entries:
        if entry.cookie not in desired:
            continue  # extra: deleted anyway
        fingerprint = _fingerprint(entry)
        if known.get(entry.cookie) == fingerprint or _encodes_to_its_cookie(entry, codec):
            right[entry.cookie] = fingerprint
        else:
            wrong[entry.cookie] = entry
    for cookie in wrong:
        right.pop(cookie, None)
    return tuple((desired[c], entry) for c, entry in wrong.items()), right


def _encodes_to_its_cookie(entry, codec: ofcodec.Codec) -> bool:
    installed = decode_flow(entry.raw)
    return not installed.opaque and codec.cookie(installed.flow) == entry.cookie


def repair_messages(difference: Difference, codec: ofcodec.Codec, xid: int) -> list[bytes]:
    """The messages of one bundle that make the switch equal to the desired state. Order:
    new groups, changed groups, flow deletions, flow additions, group deletions, so that no
    flow ever points at a missing group."""
    return [
        *(codec.group_add(group, xid) for group in difference.missing_groups),
        *(ofcodec.group_modify(group, xid) for group in difference.changed_groups),
        *(ofcodec.flow_delete(cookie, xid) for cookie in difference.extra_flows),
        *(ofcodec.flow_delete(entry.cookie, xid) for _flow, entry in difference.changed_flows),
        *(_delete_exactly(entry, xid) for entry in difference.rogue_flows),
        *(codec.flow_add(flow, xid) for flow in difference.missing_flows),
        *(codec.flow_add(flow, xid) for flow, _entry in difference.changed_flows),
        *(ofcodec.group_delete(gid, xid) for gid in difference.extra_groups),
    ]


def _delete_exactly(entry, xid: int) -> bytes:
    """Delete the flow read back as `entry` and nothing else: its table, priority and match
    (the bytes the switch reported), and its cookie."""
    (length,) = _MATCH_LENGTH.unpack_from(entry.raw, _MATCH_OFFSET + 2)
    match = entry.raw[_MATCH_OFFSET:_MATCH_OFFSET + length + (-length % 8)]
    return ofcodec.flow_delete_strict(entry.table, entry.priority, entry.cookie, match, xid)



def describe(difference: Difference, owners: Owners, host_id: int | None) -> list[dict]:
    """Each difference as a record for people and scripts: kind (missing, extra, rogue,
    foreign, changed), what (flow or group), and the flow or group with its owner."""
    records = [_flow_record("missing", flow, owners, host_id) for flow in difference.missing_flows]
    read = {e.cookie: e for e in difference.tables.flows} if difference.tables else {}
    for flow, entry in difference.changed_flows:
        installed = decode_flow(entry.raw)
        record = _flow_record("changed", flow, owners, host_id, entry.cookie)
        record["installed"] = ",".join(
            [actions_text(installed.flow), *(o.description for o in installed.opaque)]
        )
        records.append(record)
    for cookie in difference.extra_flows:
        entry = read.get(cookie)
        if entry is None:
            records.append({"kind": "extra", "what": "flow", "cookie": f"{cookie:#018x}"})
        else:
            records.append(_flow_record("extra", decode_flow(entry.raw).flow, owners, host_id,
                                        cookie))
    for kind, entries in (("rogue", difference.rogue_flows),
                          ("foreign", difference.foreign_flows)):
        for entry in entries:
            installed = decode_flow(entry.raw)
            record = _flow_record(kind, installed.flow, owners, host_id, entry.cookie)
            record["actions"] = ",".join(
                filter(None, [record["actions"], *(o.description for o in installed.opaque)])
            )
            records.append(record)
    groups = {e.group_id: e for e in difference.tables.groups} if difference.tables else {}
    for group in difference.missing_groups:
        records.append(_group_record("missing", ofcodec.group_id(group), group.buckets))
    for group in difference.changed_groups:
        gid = ofcodec.group_id(group)
        record = _group_record("changed", gid, group.buckets)
        record["installed"] = buckets_text(decode_group(groups[gid].raw)[1].buckets)
        records.append(record)
    for gid in difference.extra_groups:
        buckets = decode_group(groups[gid].raw)[1].buckets if gid in groups else ()
        records.append(_group_record("extra", gid, buckets))
    return records


def _flow_record(kind: str, flow: Flow, owners: Owners, host_id, cookie: int | None = None):
    return {
        "kind": kind,
        "what": "flow",
        "table": table_name(flow.table),
        "priority": flow.priority,
        "match": match_text(flow.match),
        "actions": actions_text(flow),
        "owner": owners.of(flow, host_id),
        **({"cookie": f"{cookie:#018x}"} if cookie is not None else {}),
    }


def _group_record(kind: str, gid: int, buckets) -> dict:
    return {"kind": kind, "what": "group", "group_id": f"{gid:#x}",
            "buckets": buckets_text(buckets)}


def summary(records: list[dict]) -> str:
    """One line naming each difference, for the controller's log."""
    return "; ".join(
        f"{r['kind']} {r['what']} "
        + (f"{r['table']} priority={r['priority']} {r['match']} ({r['owner']})"
           if r["what"] == "flow" and "table" in r
           else r.get("group_id", r.get("cookie", "")))
        for r in records
    )
