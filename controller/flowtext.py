"""Flows, groups and their parts as text, spelled close to `ovs-ofctl dump-flows`.

Used wherever a flow is shown to a person: `weft trace` steps, `weft audit` differences and
the controller's drift log lines. Tables are named as in controller/pipeline.py.
"""

from __future__ import annotations

import ipaddress

from controller.flows import (
    OFPP_CONTROLLER,
    OFPP_IN_PORT,
    ApplyActions,
    Flow,
    GotoTable,
    Match,
    Move,
    Output,
    SetField,
    ToGroup,
    WriteMetadata,
)
from controller.pipeline import Table

_MACS = {"eth_src", "eth_dst", "arp_sha", "arp_tha", "ipv6_nd_sll", "ipv6_nd_tll"}
_IPV4 = {"ipv4_src", "ipv4_dst", "arp_spa", "arp_tpa"}
_IPV6 = {"ipv6_src", "ipv6_dst", "ipv6_nd_target"}
_PORTS = {OFPP_IN_PORT: "IN_PORT", OFPP_CONTROLLER: "CONTROLLER", 0xFFFFFFFA: "NORMAL",
          0xFFFFFFFB: "FLOOD", 0xFFFFFFFC: "ALL", 0xFFFFFFFE: "LOCAL"}


def table_name(table: int) -> str:
    try:
        return Table(table).name
    except ValueError:
        return f"table {table}"


def value_text(name: str, value: int) -> str:
    if name in _MACS:
        return ":".join(f"{b:02x}" for b in value.to_bytes(6, "big"))
    if name in _IPV4:
        return str(ipaddress.IPv4Address(value))
    if name in _IPV6:
        return str(ipaddress.IPv6Address(value))
    if name in ("in_port", "ip_proto", "arp_op", "icmpv6_type") or name.startswith("reg"):
        return str(value)
    return hex(value)


def match_text(m: Match) -> str:
    return ",".join(
        f"{name}={value_text(name, value)}"
        + ("" if mask is None else f"/{value_text(name, mask)}")
        for name, value, mask in m
    ) or "(any)"


def action_text(action) -> str:
    if isinstance(action, Output):
        return f"output:{_PORTS.get(action.port, action.port)}"
    if isinstance(action, SetField):
        return f"set_field:{value_text(action.field, action.value)}->{action.field}"
    if isinstance(action, Move):
        return f"move:{action.src}->{action.dst}"
    if isinstance(action, ToGroup):
        return f"group:{action.group_id:#x}"
    return str(getattr(action, "description", action))


def actions_text(flow: Flow) -> str:
    parts = []
    for instruction in flow.instructions:
        if isinstance(instruction, ApplyActions):
            parts += [action_text(a) for a in instruction.actions]
        elif isinstance(instruction, WriteMetadata):
            parts.append(f"write_metadata:{instruction.value:#x}")
        elif isinstance(instruction, GotoTable):
            parts.append(f"goto_table:{table_name(instruction.table)}")
    return ",".join(parts) or "drop"


def flow_text(flow: Flow) -> str:
    return (f"{table_name(flow.table)} priority={flow.priority} {match_text(flow.match)} "
            f"actions={actions_text(flow)}")


def buckets_text(buckets) -> str:
    return " ".join("[" + ",".join(action_text(a) for a in b) + "]" for b in buckets) or "(none)"
