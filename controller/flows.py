"""Flows and groups as plain immutable values.

The compiler produces these, the codec turns them into OpenFlow bytes, and the simulator
executes them; none of the three needs the others' internals. Values are ints throughout
(MAC and IP addresses included) so that equal flows compare and hash equal cheaply, and a
flow compiled twice is recognised as the same flow.

A `Match` is a tuple of `(field, value, mask)` sorted in field order, `mask` None for an exact
match. Build one with `match(...)`, which also checks each field's prerequisites (OVS rejects
a flow that matches `arp_tpa` without `eth_type=0x0806`, for instance).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import NamedTuple


class FieldSpec(NamedTuple):
    """An OXM match field: where it lives on the wire and what it requires."""

    oxm_class: int
    oxm_field: int
    n_bytes: int
    # Each entry is (field, allowed values): the match must hold one of the allowed values.
    prerequisites: tuple[tuple[str, tuple[int, ...]], ...] = ()


OFPXMC_NXM_1 = 0x0001  # Nicira extension class: OVS registers reg0..reg7
OFPXMC_OPENFLOW_BASIC = 0x8000

ETH_TYPE_IPV4 = 0x0800
ETH_TYPE_ARP = 0x0806
ETH_TYPE_IPV6 = 0x86DD
IP_PROTO_IGMP = 2
IP_PROTO_ICMPV6 = 58

_IP4 = (("eth_type", (ETH_TYPE_IPV4,)),)
_ARP = (("eth_type", (ETH_TYPE_ARP,)),)
_IP6 = (("eth_type", (ETH_TYPE_IPV6,)),)
_IP = (("eth_type", (ETH_TYPE_IPV4, ETH_TYPE_IPV6)),)
_ICMP6 = (*_IP6, ("ip_proto", (IP_PROTO_ICMPV6,)))
_ND = (*_ICMP6, ("icmpv6_type", (135, 136)))

FIELDS: dict[str, FieldSpec] = {
    "in_port": FieldSpec(OFPXMC_OPENFLOW_BASIC, 0, 4),
    "metadata": FieldSpec(OFPXMC_OPENFLOW_BASIC, 2, 8),
    "eth_dst": FieldSpec(OFPXMC_OPENFLOW_BASIC, 3, 6),
    "eth_src": FieldSpec(OFPXMC_OPENFLOW_BASIC, 4, 6),
    "eth_type": FieldSpec(OFPXMC_OPENFLOW_BASIC, 5, 2),
    "ip_proto": FieldSpec(OFPXMC_OPENFLOW_BASIC, 10, 1, _IP),
    "ipv4_src": FieldSpec(OFPXMC_OPENFLOW_BASIC, 11, 4, _IP4),
    "ipv4_dst": FieldSpec(OFPXMC_OPENFLOW_BASIC, 12, 4, _IP4),
    "arp_op": FieldSpec(OFPXMC_OPENFLOW_BASIC, 21, 2, _ARP),
    "arp_spa": FieldSpec(OFPXMC_OPENFLOW_BASIC, 22, 4, _ARP),
    "arp_tpa": FieldSpec(OFPXMC_OPENFLOW_BASIC, 23, 4, _ARP),
    "arp_sha": FieldSpec(OFPXMC_OPENFLOW_BASIC, 24, 6, _ARP),
    "arp_tha": FieldSpec(OFPXMC_OPENFLOW_BASIC, 25, 6, _ARP),
    "ipv6_src": FieldSpec(OFPXMC_OPENFLOW_BASIC, 26, 16, _IP6),
    "ipv6_dst": FieldSpec(OFPXMC_OPENFLOW_BASIC, 27, 16, _IP6),
    "icmpv6_type": FieldSpec(OFPXMC_OPENFLOW_BASIC, 29, 1, _ICMP6),
    "ipv6_nd_target": FieldSpec(OFPXMC_OPENFLOW_BASIC, 31, 16, _ND),
    "ipv6_nd_sll": FieldSpec(OFPXMC_OPENFLOW_BASIC, 32, 6, (*_ICMP6, ("icmpv6_type", (135,)))),
    "ipv6_nd_tll": FieldSpec(OFPXMC_OPENFLOW_BASIC, 33, 6, (*_ICMP6, ("icmpv6_type", (136,)))),
    "tunnel_id": FieldSpec(OFPXMC_OPENFLOW_BASIC, 38, 8),
    **{f"reg{i}": FieldSpec(OFPXMC_NXM_1, i, 4) for i in range(8)},
}
FIELD_ORDER = {name: index for index, name in enumerate(FIELDS)}

MatchEntry = tuple[str, int, int | None]
Match = tuple[MatchEntry, ...]


def to_int(value) -> int:
    """An int from an int, a MAC string or an IP address (object or string)."""
    if isinstance(value, int):
        return value
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return int(value)
    text = str(value)
    if text.count(":") == 5 and len(text) == 17:
        return int(text.replace(":", ""), 16)
    return int(ipaddress.ip_address(text))


def match(**fields) -> Match:
    """A canonical match. A value is an int, MAC/IP text or address, or a (value, mask) pair.

    >>> match(eth_type=0x0806, arp_tpa="10.0.0.1")
    (('eth_type', 2054, None), ('arp_tpa', 167772161, None))
    """
    entries = []
    for name, value in fields.items():
        spec = FIELDS[name]  # KeyError names the unknown field
        mask: int | None
        if isinstance(value, tuple):
            number, mask = to_int(value[0]), to_int(value[1])
        else:
            number, mask = to_int(value), None
        limit = 1 << (8 * spec.n_bytes)
        if not 0 <= number < limit or (mask is not None and not 0 <= mask < limit):
            raise ValueError(f"{name}={number:#x} does not fit in {spec.n_bytes} bytes")
        if mask == limit - 1:
            mask = None  # an all-ones mask is an exact match: one spelling, one cookie
        if mask is not None:
            number &= mask
        entries.append((name, number, mask))
    result = tuple(sorted(entries, key=lambda e: FIELD_ORDER[e[0]]))
    _check_prerequisites(result)
    return result


def _check_prerequisites(m: Match) -> None:
    exact = {name: value for name, value, mask in m if mask is None}
    for name, _value, _mask in m:
        for required, allowed in FIELDS[name].prerequisites:
            if exact.get(required) not in allowed:
                raise ValueError(f"matching {name} requires {required} in {allowed}")


# ---------------------------------------------------------------- actions

OFPP_IN_PORT = 0xFFFFFFF8
OFPP_CONTROLLER = 0xFFFFFFFD
OFPCML_NO_BUFFER = 0xFFFF


@dataclass(frozen=True, slots=True)
class Output:
    """Send to `port` (an ofport, OFPP_IN_PORT or OFPP_CONTROLLER). OVS never sends a packet
    back out of the port it came in on unless the port is OFPP_IN_PORT."""

    port: int
    max_len: int = OFPCML_NO_BUFFER


@dataclass(frozen=True, slots=True)
class SetField:
    field: str
    value: int

    def __post_init__(self):
        n_bytes = FIELDS[self.field].n_bytes  # KeyError names the unknown field
        if not 0 <= self.value < 1 << (8 * n_bytes):
            raise ValueError(f"{self.field}={self.value:#x} does not fit in {n_bytes} bytes")


@dataclass(frozen=True, slots=True)
class Move:
    """Copy all bits of field `src` to field `dst` (same width): Nicira NXAST_REG_MOVE."""

    src: str
    dst: str

    def __post_init__(self):
        if FIELDS[self.src].n_bytes != FIELDS[self.dst].n_bytes:
            raise ValueError(f"cannot move {self.src} to {self.dst}: widths differ")


@dataclass(frozen=True, slots=True)
class ToGroup:
    group_id: int


Action = Output | SetField | Move | ToGroup


# ---------------------------------------------------------------- instructions


@dataclass(frozen=True, slots=True)
class ApplyActions:
    actions: tuple[Action, ...]


@dataclass(frozen=True, slots=True)
class WriteMetadata:
    value: int
    mask: int = 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True, slots=True)
class GotoTable:
    table: int


Instruction = ApplyActions | WriteMetadata | GotoTable
INSTRUCTION_ORDER = {ApplyActions: 0, WriteMetadata: 1, GotoTable: 2}


@dataclass(frozen=True, slots=True)
class Flow:
    """One flow entry. No instructions means drop.

    `category` says what owns the flow (see pipeline.Category) and is carried in its cookie.
    """

    table: int
    priority: int
    match: Match
    instructions: tuple[Instruction, ...]
    category: int
    # Hashed once: a flow is hashed over and over (configurations are sets, switches diff
    # them, the codec caches by flow), and hashing the nested match and instructions anew
    # each time was most of the cost of a reconcile pass.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        kinds = [INSTRUCTION_ORDER[type(i)] for i in self.instructions]
        if kinds != sorted(set(kinds)):
            raise ValueError(f"instructions out of order or repeated: {self.instructions}")
        fields = (self.table, self.priority, self.match, self.instructions, self.category)
        object.__setattr__(self, "_hash", hash(fields))

    def __hash__(self) -> int:
        return self._hash


@dataclass(frozen=True, slots=True)
class Group:
    """An OpenFlow group of type ALL: every bucket gets a copy of the packet.

    Its id is not chosen but derived from the buckets by the codec (`group_id`), so a group
    is identified by what it does, exactly like a flow by its cookie.
    """

    buckets: tuple[tuple[Action, ...], ...]
