"""Parsing and checking the values operations are given, before anything touches the database.

Each function returns the value in canonical form (so that uniqueness checks compare like
with like) or raises InvalidInput naming the field at fault. The checks that PostgreSQL
repeats with its network types run here for SQLite, which stores plain text.
"""

from __future__ import annotations

import ipaddress
import re

from models.types import IPAddress, IPNetwork, normalize_mac
from northbound.errors import InvalidInput

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
NAME_MAX = 63  # hosts.name, networks.name
PORT_NAME_MAX = 255  # ports.name is OVS's external_ids:iface-id: any text without spaces
OVSDB_TCP = re.compile(r"(tcp|ssl):(\[[^\]]+\]|[^:\[\]]+):(\d+)")
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
IPV4_LINK_LOCAL_MULTICAST = ipaddress.ip_network("224.0.0.0/24")
IPV6_LINK_LOCAL_SCOPE = 2  # ff02::/16; scopes 0 (reserved) and 1 (interface) are narrower


def check_name(value: str, field: str = "name") -> str:
    """A host or network name: letters, digits, '-', '_', '.', starting with a letter or digit."""
    if not NAME.fullmatch(value) or len(value) > NAME_MAX:
        raise InvalidInput(
            field,
            f"{value!r} is not a valid name (1-{NAME_MAX} letters, digits, '-', '_', '.', "
            "starting with a letter or digit)",
        )
    return value


def check_port_name(value: str, field: str = "name") -> str:
    """A port name, which OVS interfaces carry as external_ids:iface-id."""
    if not 0 < len(value) <= PORT_NAME_MAX or not value.isprintable() or " " in value:
        raise InvalidInput(
            field, f"{value!r} is not a valid port name (1-{PORT_NAME_MAX} printable characters, "
            "no spaces)"
        )
    return value


def parse_ip(value: str, field: str) -> IPAddress:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise InvalidInput(
            field, f"{value!r} is not an IP address (e.g. 198.51.100.10 or 2001:db8::10)"
        ) from None


def parse_tunnel_ip(value: str, field: str = "tunnel_ip") -> IPAddress:
    """A VTEP address: a unicast address another host can send VXLAN packets to."""
    address = parse_ip(value, field)
    unusable = (
        address.is_multicast
        or address.is_unspecified
        or address.is_loopback
        or (address.version == 4 and address.is_reserved)
    )
    if unusable:
        raise InvalidInput(field, f"{address} is not a unicast address other hosts can reach")
    return address


def parse_cidr(value: str, field: str = "cidr") -> IPNetwork:
    if "/" not in value:
        raise InvalidInput(field, f"{value!r} has no prefix length (e.g. 198.51.100.0/24)")
    try:
        network = ipaddress.ip_network(value)
    except ValueError:
        try:
            interface = ipaddress.ip_interface(value)
        except ValueError:
            raise InvalidInput(
                field, f"{value!r} is not a CIDR (e.g. 198.51.100.0/24 or 2001:db8::/64)"
            ) from None
        raise InvalidInput(
            field, f"{value} has host bits set (the network is {interface.network})"
        ) from None
    if network.is_multicast:
        raise InvalidInput(field, f"{network} is a multicast range, not a subnet")
    return network


def parse_mac(value: str, field: str = "mac") -> str:
    try:
        mac = normalize_mac(value)
    except ValueError:
        raise InvalidInput(
            field, f"{value!r} is not a MAC address (e.g. 02:00:00:00:00:01)"
        ) from None
    if mac == BROADCAST_MAC:
        raise InvalidInput(field, f"{mac} is the broadcast MAC; a port needs a unicast MAC")
    if int(mac[:2], 16) & 0x01:
        raise InvalidInput(field, f"{mac} is a multicast MAC; a port needs a unicast MAC")
    if mac == "00:00:00:00:00:00":
        raise InvalidInput(field, f"{mac} is not a usable MAC")
    return mac


def parse_ovsdb_target(value: str, field: str = "ovsdb") -> str:
    """An OVSDB server a manager connects to: tcp:IP:PORT, ssl:IP:PORT or unix:PATH."""
    if value.startswith("unix:/"):
        return value
    found = OVSDB_TCP.fullmatch(value)
    port = int(found.group(3)) if found else 0
    if not found or not 0 < port < 65536:
        raise InvalidInput(
            field, f"{value!r} is not an OVSDB target (tcp:IP:PORT, ssl:IP:PORT or unix:PATH, "
            "e.g. tcp:198.18.0.1:6640)"
        )
    address = parse_ip(found.group(2).strip("[]"), field)
    host = f"[{address}]" if address.version == 6 else str(address)
    return f"{found.group(1)}:{host}:{port}"


def parse_group_address(value: str, field: str = "group") -> IPAddress:
    """A multicast group Weft can replicate: routable multicast, not a link-local group."""
    address = parse_ip(value, field)
    if not address.is_multicast:
        raise InvalidInput(
            field, f"{address} is not a multicast address (IPv4 224.0.0.0/4, IPv6 ff00::/8)"
        )
    if address.version == 4 and address in IPV4_LINK_LOCAL_MULTICAST:
        raise InvalidInput(
            field,
            f"{address} is in 224.0.0.0/24, the link-local control block (IGMP, OSPF, mDNS, ...): "
            "Weft always floods it to the whole network, so it cannot be a group",
        )
    if address.version == 6 and (int(address) >> 112) & 0xF <= IPV6_LINK_LOCAL_SCOPE:
        raise InvalidInput(
            field,
            f"{address} has link-local or narrower scope (like ff02::1 and neighbour discovery): "
            "Weft always floods it to the whole network, so it cannot be a group",
        )
    return address
