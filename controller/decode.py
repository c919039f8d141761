"""The flows and groups a switch holds, from its replies back to controller/flows.py values.

The inverse of controller/codec.py for what Weft writes: OXM match fields, the Output,
Group, SetField and Nicira register-move actions, and the ApplyActions, WriteMetadata and
GotoTable instructions. Anything else (a flow someone else added with other actions or
fields) is kept as an `Opaque` action or an unnamed field, so it can be shown and simulated
as far as its known parts go. Entries arrive as raw bytes from controller/oskenfix.py's
FlowEntry/GroupEntry; decoding is done only when someone asks what a flow is (an audit
naming its differences, `weft trace --installed`), never for the cookie diff.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from controller import codec
from controller.flows import (
    FIELD_ORDER,
    FIELDS,
    INSTRUCTION_ORDER,
    Action,
    ApplyActions,
    Flow,
    GotoTable,
    Group,
    Instruction,
    Match,
    Move,
    Output,
    SetField,
    ToGroup,
    WriteMetadata,
)
from controller.pipeline import cookie_category

# OVS names the fields of a register move by their older Nicira (NXM) headers, class 0
# (NXM_OF_*) or 1 (NXM_NX_*, where reg0..reg7 are fields 0..7), in OpenFlow 1.4 too.
NXM_NAMES = {
    (0x0000, 1): "eth_dst", (0x0000, 2): "eth_src", (0x0000, 3): "eth_type",
    (0x0000, 6): "ip_proto", (0x0000, 7): "ipv4_src", (0x0000, 8): "ipv4_dst",
    (0x0000, 15): "arp_op", (0x0000, 16): "arp_spa", (0x0000, 17): "arp_tpa",
    (0x0001, 16): "tunnel_id", (0x0001, 17): "arp_sha", (0x0001, 18): "arp_tha",
    (0x0001, 19): "ipv6_src", (0x0001, 20): "ipv6_dst", (0x0001, 21): "icmpv6_type",
    (0x0001, 23): "ipv6_nd_target", (0x0001, 24): "ipv6_nd_sll", (0x0001, 25): "ipv6_nd_tll",
}
_FIELD_NAMES = {
    **NXM_NAMES,
    **{(spec.oxm_class, spec.oxm_field): name for name, spec in FIELDS.items()},
}
_FLOW_STATS = struct.Struct("!HBx8xH10xQ16x")  # length, table, priority, cookie; 48 bytes
_GROUP_DESC = struct.Struct("!HBxI")  # length, type, group_id
_BUCKET = struct.Struct("!HHII4x")
_TLV = struct.Struct("!HH")
_REG_MOVE = struct.Struct("!HHIHHHHII")


@dataclass(frozen=True, slots=True)
class Opaque:
    """An action or instruction Weft does not write; the simulator passes over it."""

    description: str


@dataclass(frozen=True, slots=True)
class InstalledFlow:
    """A flow as read back: its cookie, the value (category 0 if the cookie is not Weft's)
    and what of it could not be decoded into a value."""

    cookie: int
    flow: Flow
    opaque: tuple[Opaque, ...] = ()


def _oxm(data: bytes, offset: int) -> tuple[str, int, int | None, int]:
    """(name, value, mask, next offset) of the OXM field at `offset`."""
    (header,) = struct.unpack_from("!I", data, offset)
    oxm_class, oxm_field, masked, length = header >> 16, header >> 9 & 0x7F, header >> 8 & 1, \
        header & 0xFF
    body = data[offset + 4:offset + 4 + length]
    if oxm_class == 0xFFFF:  # experimenter OXM: a 4-byte experimenter id precedes the value
        body = body[4:]
    width = len(body) // (2 if masked else 1)
    value = int.from_bytes(body[:width], "big")
    mask = int.from_bytes(body[width:], "big") if masked else None
    name = _FIELD_NAMES.get((oxm_class, oxm_field), f"oxm_{oxm_class:04x}_{oxm_field}")
    return name, value, mask, offset + 4 + length


def decode_match(data: bytes, offset: int) -> tuple[Match, int]:
    """The Match of the ofp_match at `offset`, and the offset after its padding."""
    _kind, length = _TLV.unpack_from(data, offset)
    entries = []
    position, end = offset + 4, offset + length
    while position < end:
        name, value, mask, position = _oxm(data, position)
        entries.append((name, value, mask))
    entries.sort(key=lambda e: (FIELD_ORDER.get(e[0], len(FIELD_ORDER)), e[0]))
    return tuple(entries), offset + length + (-length % 8)


def decode_actions(data: bytes, offset: int, end: int) -> tuple[Action | Opaque, ...]:
    actions: list[Action | Opaque] = []
    while offset < end:
        kind, length = _TLV.unpack_from(data, offset)
        if kind == codec.OFPAT_OUTPUT:
            port, max_len = struct.unpack_from("!IH", data, offset + 4)
            actions.append(Output(port, max_len))
        elif kind == codec.OFPAT_GROUP:
            actions.append(ToGroup(struct.unpack_from("!I", data, offset + 4)[0]))
        elif kind == codec.OFPAT_SET_FIELD:
            name, value, _mask, _ = _oxm(data, offset + 4)
            actions.append(SetField(name, value) if name in FIELDS else Opaque(f"set {name}"))
        else:
            actions.append(_experimenter(data, offset, kind))
        offset += length
    return tuple(actions)


def _experimenter(data: bytes, offset: int, kind: int) -> Action | Opaque:
    if kind == codec.OFPAT_EXPERIMENTER:
        fields = _REG_MOVE.unpack_from(data, offset)
        vendor, subtype, src, dst = fields[2], fields[3], fields[7], fields[8]
        if vendor == codec.NX_VENDOR_ID and subtype == codec.NXAST_REG_MOVE:
            src_name = _FIELD_NAMES.get((src >> 16, src >> 9 & 0x7F))
            dst_name = _FIELD_NAMES.get((dst >> 16, dst >> 9 & 0x7F))
            if src_name and dst_name:
                return Move(src_name, dst_name)
        return Opaque(f"experimenter action {vendor:#x}/{subtype}")
    return Opaque(f"action type {kind}")


def decode_flow(raw: bytes) -> InstalledFlow:
    """An ofp_flow_stats entry (FlowEntry.raw) as a value."""
    length, table, priority, cookie = _FLOW_STATS.unpack_from(raw)
    m, offset = decode_match(raw, _FLOW_STATS.size)
    instructions: list[Instruction] = []
    opaque: list[Opaque] = []
    while offset < length:
        kind, size = _TLV.unpack_from(raw, offset)
        if kind == codec.OFPIT_GOTO_TABLE:
            instructions.append(GotoTable(raw[offset + 4]))
        elif kind == codec.OFPIT_WRITE_METADATA:
            value, mask = struct.unpack_from("!QQ", raw, offset + 8)
            instructions.append(WriteMetadata(value, mask))
        elif kind == codec.OFPIT_APPLY_ACTIONS:
            actions = decode_actions(raw, offset + 8, offset + size)
            opaque += [a for a in actions if isinstance(a, Opaque)]
            known = tuple(a for a in actions if not isinstance(a, Opaque))
            instructions.append(ApplyActions(known))
        else:
            opaque.append(Opaque(f"instruction type {kind}"))
        offset += size
    instructions.sort(key=lambda i: INSTRUCTION_ORDER[type(i)])
    category = cookie_category(cookie)
    flow = Flow(table, priority, m, tuple(instructions), int(category) if category else 0)
    return InstalledFlow(cookie, flow, tuple(opaque))


def decode_group(raw: bytes) -> tuple[int, Group]:
    """(group id, Group) of an ofp_group_desc entry (GroupEntry.raw); actions Weft does not
    write are left out of the buckets."""
    length, _kind, gid = _GROUP_DESC.unpack_from(raw)
    buckets = []
    offset = 8
    while offset < length:
        size = _BUCKET.unpack_from(raw, offset)[0]
        actions = decode_actions(raw, offset + 16, offset + size)
        buckets.append(tuple(a for a in actions if not isinstance(a, Opaque)))
        offset += size
    return gid, Group(tuple(buckets))
