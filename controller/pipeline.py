"""The Weft pipeline in one place: table numbers, register fields, cookie layout.

Every flow Weft installs lives in one of these tables; docs/pipeline.md explains them with
examples and must be kept in step with this module. A packet walks them in order:

    CLASSIFY ──local port──> PORT_SECURITY ──> NEIGHBOUR ──> L2_LOOKUP ──> FLOOD
        └─────tunnel─────> TUNNEL_IN ─────────────────────────────^

- CLASSIFY (0): by in_port. A bound container port records its network in `metadata` and
  goes to PORT_SECURITY; a tunnel port from a known peer sets INGRESS=TUNNEL and goes to
  TUNNEL_IN. Anything else (unknown ports, unbound ports) is dropped.
- TUNNEL_IN (5): by VNI. Only VNIs of networks present on this host are accepted; the VNI
  becomes `metadata`. Others are dropped.
- PORT_SECURITY (10): a local port may send only with its own MAC, and only IP/ARP with its
  own addresses (IPv6 also from its link-local ones). IGMP goes to the controller
  (snooping), never anywhere else.
- NEIGHBOUR (20): ARP requests for addresses of the network are answered here, from the
  port's own flows, and never flooded. IPv6 neighbour discovery from a local port is
  checked here, as ARP is in PORT_SECURITY: only its own addresses and MAC; router
  advertisements and redirects are dropped. Everything else continues to L2_LOOKUP.
- L2_LOOKUP (30): by (network, destination MAC): a local port is an output; a remote port is
  the tunnel to its host with the VNI set, but only for traffic that entered from a local
  port (split horizon: never tunnel to tunnel). Multicast/broadcast goes to FLOOD; unknown
  unicast is dropped.
- FLOOD (40): broadcast, link-local multicast and IPv6 multicast go to the network's flood
  group; registered multicast groups (IPv4 and IPv6) go to their replication group;
  unregistered IPv4 multicast is flooded or dropped by the network's setting.

Metadata holds the network's VNI from CLASSIFY/TUNNEL_IN on; REG_INGRESS (reg0) says where
the packet entered. Cookies: bits 63..56 COOKIE_MARK ('W'), 55..48 the Category of the object
that owns the flow, 47..0 a hash of the flow itself, so a cookie identifies one exact flow and
a changed flow gets a new cookie (see controller/codec.py).
"""

from __future__ import annotations

from enum import IntEnum


class Table(IntEnum):
    CLASSIFY = 0
    TUNNEL_IN = 5
    PORT_SECURITY = 10
    NEIGHBOUR = 20
    L2_LOOKUP = 30
    FLOOD = 40


class Category(IntEnum):
    """What owns a flow, shown in its cookie: `ovs-ofctl dump-flows` can filter by it."""

    PIPELINE = 1  # table-miss and other fixed flows
    TUNNEL = 2  # per peer host
    NETWORK = 3  # per network present on the host
    PORT = 4  # per port (local or remote)
    MULTICAST = 5  # per multicast group


# reg0: where the packet entered this switch.
REG_INGRESS = "reg0"
INGRESS_LOCAL = 0
INGRESS_TUNNEL = 1

COOKIE_MARK = 0x57  # 'W'
COOKIE_MARK_SHIFT = 56
COOKIE_CATEGORY_SHIFT = 48
COOKIE_HASH_BITS = 48
COOKIE_MARK_MASK = 0xFF << COOKIE_MARK_SHIFT
WEFT_COOKIE = COOKIE_MARK << COOKIE_MARK_SHIFT

# Group ids: GROUP_ID_MARK (bit 31) marks Weft's groups; a hash of the buckets, reduced into
# GROUP_ID_MARK..OFPG_MAX, makes the rest (controller/codec.py, group_id).
GROUP_ID_MARK = 0x8000_0000
OFPG_MAX = 0xFFFF_FF00


def cookie_category(cookie: int) -> Category | None:
    """The owner category of a Weft cookie, or None if the flow is not Weft's."""
    if cookie >> COOKIE_MARK_SHIFT != COOKIE_MARK:
        return None
    try:
        return Category((cookie >> COOKIE_CATEGORY_SHIFT) & 0xFF)
    except ValueError:
        return None
