"""IGMP on the wire: what a container's IGMP packet means, and the query Weft sends.

Pure functions over bytes, so the snooping logic is tested without switches. Versions 1, 2
and 3 reports are understood. Weft does not filter by source, so an IGMPv3 record means
"wants the group" unless it is an INCLUDE of nothing (v3's way of leaving).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from controller.flows import ETH_TYPE_IPV4, IP_PROTO_IGMP

ETH_HEADER = struct.Struct("!6s6sH")

QUERY = 0x11
REPORT_V1 = 0x12
REPORT_V2 = 0x16
LEAVE_V2 = 0x17
REPORT_V3 = 0x22

# IGMPv3 group record types (RFC 3376 4.2.12)
MODE_IS_INCLUDE, MODE_IS_EXCLUDE = 1, 2
CHANGE_TO_INCLUDE, CHANGE_TO_EXCLUDE = 3, 4
ALLOW_NEW_SOURCES, BLOCK_OLD_SOURCES = 5, 6

ALL_SYSTEMS = ipaddress.IPv4Address("224.0.0.1")
LINK_LOCAL = ipaddress.IPv4Network("224.0.0.0/24")


@dataclass(frozen=True, slots=True)
class IgmpEvent:
    """`kind` is "join", "leave" or "query"; `group` is None for a general query."""

    kind: str
    group: ipaddress.IPv4Address | None
    source_mac: bytes


def parse(frame: bytes) -> list[IgmpEvent]:
    """The membership events in one Ethernet frame; [] if it is not (valid) IGMP."""
    if len(frame) < ETH_HEADER.size + 20:
        return []
    _dst, src_mac, eth_type = ETH_HEADER.unpack_from(frame)
    if eth_type != ETH_TYPE_IPV4:
        return []
    ip = frame[ETH_HEADER.size :]
    header_len = (ip[0] & 0x0F) * 4
    if ip[0] >> 4 != 4 or ip[9] != IP_PROTO_IGMP or len(ip) < header_len + 8:
        return []
    igmp = ip[header_len:]
    kind = igmp[0]
    group = ipaddress.IPv4Address(igmp[4:8])
    if kind == QUERY:
        return [IgmpEvent("query", None if int(group) == 0 else group, src_mac)]
    if kind in (REPORT_V1, REPORT_V2):
        return _routable([IgmpEvent("join", group, src_mac)])
    if kind == LEAVE_V2:
        return _routable([IgmpEvent("leave", group, src_mac)])
    if kind == REPORT_V3:
        return _routable(list(_v3_records(igmp, src_mac)))
    return []


def _v3_records(igmp: bytes, src_mac: bytes):
    (count,) = struct.unpack_from("!H", igmp, 6)
    offset = 8
    for _ in range(count):
        if offset + 8 > len(igmp):
            return
        record_type, aux_words, n_sources = struct.unpack_from("!BBH", igmp, offset)
        group = ipaddress.IPv4Address(igmp[offset + 4 : offset + 8])
        offset += 8 + 4 * n_sources + 4 * aux_words
        leaving = record_type in (MODE_IS_INCLUDE, CHANGE_TO_INCLUDE) and n_sources == 0
        if record_type == BLOCK_OLD_SOURCES:
            continue  # a narrower source list; without source filtering it changes nothing
        yield IgmpEvent("leave" if leaving else "join", group, src_mac)


def _routable(events: list[IgmpEvent]) -> list[IgmpEvent]:
    """Link-local groups (224.0.0.0/24) are always flooded; snooping ignores them."""
    return [e for e in events if e.group is not None and e.group not in LINK_LOCAL]


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def general_query(
    source_mac: bytes, source_ip: ipaddress.IPv4Address, max_response: float
) -> bytes:
    """An IGMPv2 general query to 224.0.0.1, as a querier sends it (RFC 2236)."""
    tenths = max(1, min(255, round(max_response * 10)))
    igmp = bytearray(struct.pack("!BBH4s", QUERY, tenths, 0, bytes(4)))
    struct.pack_into("!H", igmp, 2, checksum(bytes(igmp)))
    router_alert = b"\x94\x04\x00\x00"
    total = 24 + len(igmp)
    ip = bytearray(
        struct.pack(
            "!BBHHHBBH4s4s",
            0x46,  # version 4, header 6 words (with the router alert option)
            0xC0,  # DSCP CS6 (network control), as routers send queries
            total,
            0,
            0,
            1,  # TTL 1: never routed
            IP_PROTO_IGMP,
            0,
            source_ip.packed,
            ALL_SYSTEMS.packed,
        )
        + router_alert
    )
    struct.pack_into("!H", ip, 10, checksum(bytes(ip)))
    eth = ETH_HEADER.pack(bytes.fromhex("01005e000001"), source_mac, ETH_TYPE_IPV4)
    return eth + bytes(ip) + bytes(igmp)
