"""The pipeline compiler: desired state in, the complete flows and groups of one host out.

Pure: it reads a Snapshot and its Topology and returns values; it does no I/O, keeps no
state between calls except memos of pure results (the optional SectionCache, and the flows of
each port), and is tested without switches (tests/unit/test_compiler*.py, through
controller/simulator.py).

A host's configuration is the sum of independent sections:
- the fixed pipeline (table misses, IGMP to the controller),
- one section per tunnel (classification of traffic from that peer),
- one section per network present on the host (its local ports, remote ports, ARP answers,
  flooding and multicast groups).
A change in one network recompiles that network's section on the hosts where it is present
and nothing else; see SectionCache. Tables and registers are described in controller/pipeline.py.

Flow count per host, with T tunnels, and per network N present on the host: L local ports
(one IPv4 address each, the common case), R remote bound ports, A IPv4 addresses in N, G
multicast groups:

    7 + T + sum over N of (8 + 4L + R + A + 2G)

plus 2 per further IPv4 address of a local port, 3 per IPv6 address of a local port and 10
per local port with IPv6 (port security and neighbour discovery checks), and 2 if N floods
unregistered multicast. It grows with the ports of the networks present on the host, never
with the rest of the cluster.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple, cast

from controller.codec import group_id
from controller.flows import (
    ETH_TYPE_ARP,
    ETH_TYPE_IPV4,
    ETH_TYPE_IPV6,
    IP_PROTO_ICMPV6,
    IP_PROTO_IGMP,
    OFPP_CONTROLLER,
    OFPP_IN_PORT,
    Action,
    ApplyActions,
    Flow,
    GotoTable,
    Group,
    Instruction,
    Move,
    Output,
    SetField,
    ToGroup,
    WriteMetadata,
    match,
    to_int,
)
from controller.pipeline import INGRESS_LOCAL, INGRESS_TUNNEL, REG_INGRESS, Category, Table
from models.snapshot import NetworkView, PortView
from models.topology import Topology

BROADCAST = 0xFFFF_FFFF_FFFF
MULTICAST_BIT = (0x0100_0000_0000, 0x0100_0000_0000)
IPV6_MULTICAST_MAC = (0x3333_0000_0000, 0xFFFF_0000_0000)
IPV4_LINK_LOCAL_MULTICAST = ("224.0.0.0", "255.255.255.0")
IPV4_MULTICAST = ("224.0.0.0", "240.0.0.0")
IPV6_LINK_LOCAL = ("fe80::", "ffff:ffff:ffff:ffff::")
ND_ROUTER_ADVERTISEMENT, ND_SOLICITATION, ND_ADVERTISEMENT, ND_REDIRECT = 134, 135, 136, 137
ND_FROM_ROUTERS_AND_NEIGHBOURS = (
    ND_ROUTER_ADVERTISEMENT, ND_SOLICITATION, ND_ADVERTISEMENT, ND_REDIRECT
)


class CompileError(Exception):
    """The desired state cannot be expressed as flows (e.g. two groups hash to one id)."""


@dataclass(frozen=True, slots=True)
class Section:
    flows: tuple[Flow, ...]
    groups: tuple[Group, ...] = ()


@dataclass(frozen=True)
class SwitchConfig:
    """Everything Weft wants on one switch."""

    flows: frozenset[Flow]
    groups: Mapping[int, Group]


def compile_host(
    topology: Topology,
    host_id: int,
    cache: SectionCache | None = None,
    only: Iterable[int] | None = None,
) -> SwitchConfig:
    """The complete flows and groups of host `host_id`, from the topology's snapshot.

    `only` (network ids) leaves out the sections of other networks: what a packet of those
    networks can meet on the host, since every flow of another network matches its own
    ports, VNI or metadata (`weft trace` compiles no more than that)."""
    cache = cache or SectionCache()
    present = topology.networks_on(host_id)
    cache.keep_networks(host_id, present)
    wanted = present if only is None else [n for n in present if n in set(only)]
    sections = [PIPELINE_SECTION, cache.tunnels(host_id, topology.tunnel_ports(host_id))]
    sections.extend(cache.network(topology, network_id, host_id) for network_id in wanted)
    return _assemble(sections)


def _assemble(sections: Iterable[Section]) -> SwitchConfig:
    flows: set[Flow] = set()
    groups: dict[int, Group] = {}
    for section in sections:
        flows.update(section.flows)
        for group in section.groups:
            gid = group_id(group)
            if groups.setdefault(gid, group) != group:
                raise CompileError(f"group id {gid:#x} is shared by two different groups")
    return SwitchConfig(frozenset(flows), groups)


class SectionCache:
    """Memo of compiled sections, keyed by the identity of their inputs.

    Snapshot views are immutable and a reload keeps the old object when nothing changed, so
    "same object" means "same result" and a section is recompiled only when its network or
    its host's tunnels really changed. Pure: dropping the cache changes nothing but speed.
    It holds the sections of the networks present on each host as last compiled, and
    nothing of hosts the reconciler no longer has (`retain`).
    """

    def __init__(self) -> None:
        self._networks: dict[tuple[int, int], tuple[NetworkView, Mapping, Section]] = {}
        self._tunnels: dict[int, tuple[Mapping, Section]] = {}

    def network(self, topology: Topology, network_id: int, host_id: int) -> Section:
        network = topology.snapshot.networks[network_id]
        tunnels = topology.tunnel_ports(host_id)
        key = (host_id, network_id)
        hit = self._networks.get(key)
        if hit and hit[0] is network and hit[1] is tunnels:
            return hit[2]
        # The flood peers follow from the network and the tunnels, the key of this memo.
        peers = topology.flood_peers(host_id, network_id)
        section = network_section(network, host_id, tunnels, peers)
        self._networks[key] = (network, tunnels, section)
        return section

    def tunnels(self, host_id: int, tunnels: Mapping[int, int]) -> Section:
        hit = self._tunnels.get(host_id)
        if hit and hit[0] is tunnels:
            return hit[1]
        section = tunnel_section(tunnels)
        self._tunnels[host_id] = (tunnels, section)
        return section

    def keep_networks(self, host_id: int, present: Iterable[int]) -> None:
        """Forget the sections of networks that have left `host_id`."""
        wanted = set(present)
        for key in [k for k in self._networks if k[0] == host_id and k[1] not in wanted]:
            del self._networks[key]

    def retain(self, host_ids: Iterable[int]) -> None:
        """Forget everything about hosts not in `host_ids` (deleted hosts)."""
        wanted = set(host_ids)
        for key in [k for k in self._networks if k[0] not in wanted]:
            del self._networks[key]
        for host_id in self._tunnels.keys() - wanted:
            del self._tunnels[host_id]


# ---------------------------------------------------------------- building blocks


def _flow(table: Table, priority: int, category: Category, m, *instructions) -> Flow:
    return Flow(int(table), priority, m, tuple(instructions), int(category))


def _goto(table: Table) -> GotoTable:
    return GotoTable(int(table))


def _apply(*actions: Action) -> ApplyActions:
    return ApplyActions(tuple(actions))


def _to_tunnel(vni: int, ofport: int) -> tuple[Action, ...]:
    return (SetField("tunnel_id", vni), Output(ofport))


def _pipeline_section() -> Section:
    """Table misses (drop, except NEIGHBOUR which falls through) and IGMP snooping."""
    drop_tables = (
        Table.CLASSIFY,
        Table.TUNNEL_IN,
        Table.PORT_SECURITY,
        Table.L2_LOOKUP,
        Table.FLOOD,
    )
    flows = [_flow(table, 0, Category.PIPELINE, ()) for table in drop_tables]
    flows.append(_flow(Table.NEIGHBOUR, 0, Category.PIPELINE, (), _goto(Table.L2_LOOKUP)))
    # IGMP from a local port goes to the controller only; the controller checks the source.
    flows.append(
        _flow(
            Table.PORT_SECURITY,
            110,
            Category.PIPELINE,
            match(eth_type=ETH_TYPE_IPV4, ip_proto=IP_PROTO_IGMP),
            _apply(Output(OFPP_CONTROLLER)),
        )
    )
    return Section(tuple(flows))


PIPELINE_SECTION = _pipeline_section()


def tunnel_section(tunnels: Mapping[int, int]) -> Section:
    """Traffic from a known peer's tunnel is marked INGRESS_TUNNEL and checked by VNI."""
    return Section(
        tuple(
            _flow(
                Table.CLASSIFY,
                100,
                Category.TUNNEL,
                match(in_port=ofport),
                _apply(SetField(REG_INGRESS, INGRESS_TUNNEL)),
                _goto(Table.TUNNEL_IN),
            )
            for ofport in tunnels.values()
        )
    )


def network_section(
    network: NetworkView, host_id: int, tunnels: Mapping[int, int], flood_peers: Mapping[int, int]
) -> Section:
    """All flows and groups of `network` on `host_id` (which has a port of it bound);
    `flood_peers` ({peer host: tunnel ofport}, Topology.flood_peers) are the hosts where the
    network is present too."""
    vni = network.vni
    local = [p for p in network.ports if p.bound and p.host_id == host_id]
    remote = [p for p in network.ports if p.bound and p.host_id != host_id and p.host_id in tunnels]

    flows: list[Flow] = [
        _flow(
            Table.TUNNEL_IN,
            100,
            Category.NETWORK,
            match(tunnel_id=vni),
            WriteMetadata(vni),
            _goto(Table.L2_LOOKUP),
        ),
        _flow(
            Table.L2_LOOKUP,
            50,
            Category.NETWORK,
            match(metadata=vni, eth_dst=MULTICAST_BIT),
            _goto(Table.FLOOD),
        ),
    ]
    for port in local:
        flows.extend(_local_port_flows(port, vni))
    for port in remote:
        flows.append(_remote_port_flow(port.mac, vni, tunnels[cast(int, port.host_id)]))
    for port in network.ports:
        flows.extend(_arp_answers(port, vni))

    flood = _replication(vni, [p.ofport for p in local], flood_peers.values())
    flows.extend(_flood_flows(network, flood))
    groups = list(flood)

    for group in network.groups:
        group_flows, replication = _multicast_group(group, network, host_id, tunnels)
        flows.extend(group_flows)
        groups.extend(replication)
    return Section(tuple(flows), tuple(g for g in groups if g.buckets))


# The flows of one port are memoised by value: a change of one port reloads and recompiles
# its whole network on every host where the network is present, and most of that work is
# the unchanged ports' flows again (an ARP answer is even the same on every host). Pure
# functions of immutable values, so a memo changes nothing but speed; bounded so that
# ports long gone do not stay in memory.
PORT_MEMO_SIZE = 1 << 16


@lru_cache(maxsize=PORT_MEMO_SIZE)
def _remote_port_flow(mac: str, vni: int, tunnel_ofport: int) -> Flow:
    """Traffic from a local port to a port bound on a peer goes into the peer's tunnel."""
    return _flow(
        Table.L2_LOOKUP,
        100,
        Category.PORT,
        match(metadata=vni, eth_dst=mac, **{REG_INGRESS: INGRESS_LOCAL}),
        _apply(*_to_tunnel(vni, tunnel_ofport)),
    )


@lru_cache(maxsize=PORT_MEMO_SIZE)
def _local_port_flows(port: PortView, vni: int) -> tuple[Flow, ...]:
    """Classification, port security and delivery of one port bound on this host."""
    ofport, mac = cast(int, port.ofport), port.mac  # bound: it has one
    to_l2 = _goto(Table.L2_LOOKUP)
    flows = [
        _flow(
            Table.CLASSIFY,
            100,
            Category.PORT,
            match(in_port=ofport),
            WriteMetadata(vni),
            _goto(Table.PORT_SECURITY),
        ),
        _flow(
            Table.L2_LOOKUP,
            100,
            Category.PORT,
            match(metadata=vni, eth_dst=mac),
            _apply(Output(ofport)),
        ),
    ]

    def allow(*instructions, **fields):
        m = match(in_port=ofport, eth_src=mac, **fields)
        flows.append(_flow(Table.PORT_SECURITY, 100, Category.PORT, m, *instructions))

    v4 = [a for a in port.addresses if a.version == 4]
    v6 = [a for a in port.addresses if a.version == 6]
    if not port.addresses:
        allow(to_l2)  # a port without addresses is layer-2 only: its MAC is all we check
    for address in v4:
        allow(_goto(Table.NEIGHBOUR), eth_type=ETH_TYPE_ARP, arp_spa=address, arp_sha=mac)
        allow(to_l2, eth_type=ETH_TYPE_IPV4, ipv4_src=address)
    # IPv6 from an own source goes on to NEIGHBOUR, where neighbour discovery is checked.
    to_neighbour = _goto(Table.NEIGHBOUR)
    for address6 in v6:
        allow(to_neighbour, eth_type=ETH_TYPE_IPV6, ipv6_src=address6)
    if v6:
        allow(to_neighbour, eth_type=ETH_TYPE_IPV6, ipv6_src=IPV6_LINK_LOCAL)
        # Duplicate address detection sends neighbour solicitations from "::".
        allow(to_neighbour, eth_type=ETH_TYPE_IPV6, ipv6_src="::", ip_proto=IP_PROTO_ICMPV6)
        flows.extend(_neighbour_discovery_guard(ofport, mac, v6))
    return tuple(flows)


def _neighbour_discovery_guard(ofport: int, mac: str, v6: list) -> list[Flow]:
    """IPv6's ARP spoofing, stopped: what a local port may say in neighbour discovery.

    A solicitation may carry only the port's own MAC as its source link-layer address (or
    none, as in duplicate address detection); an advertisement may announce only one of
    the port's addresses or a link-local one, with its own MAC (or none). Router
    advertisements and redirects from a port are dropped (a container is no router here),
    as is any other solicitation or advertisement. The rest of IPv6 falls through to
    L2_LOOKUP by the table's miss flow.
    """
    to_l2 = _goto(Table.L2_LOOKUP)
    no_mac = "00:00:00:00:00:00"  # what OVS matches when the option is absent

    def nd(priority: int, icmpv6_type: int, *instructions, **fields) -> Flow:
        m = match(in_port=ofport, eth_type=ETH_TYPE_IPV6, ip_proto=IP_PROTO_ICMPV6,
                  icmpv6_type=icmpv6_type, **fields)
        return _flow(Table.NEIGHBOUR, priority, Category.PORT, m, *instructions)

    targets = [*v6, IPV6_LINK_LOCAL]
    return [
        *(nd(100, ND_SOLICITATION, to_l2, ipv6_nd_sll=sll) for sll in (mac, no_mac)),
        *(nd(100, ND_ADVERTISEMENT, to_l2, ipv6_nd_target=target, ipv6_nd_tll=tll)
          for target in targets for tll in (mac, no_mac)),
        *(nd(90, icmpv6_type) for icmpv6_type in ND_FROM_ROUTERS_AND_NEIGHBOURS),
    ]


@lru_cache(maxsize=PORT_MEMO_SIZE)
def _arp_answers(port: PortView, vni: int) -> tuple[Flow, ...]:
    """Answer ARP requests for each IPv4 address of `port` with its MAC, from the switch.

    Swaps the request into a reply in place and sends it back out of the asking port, so an
    ARP request for a known address is never flooded. Bound or not: answering early lets the
    first packet go out the moment the port binds.
    """
    mac = to_int(port.mac)
    return tuple(
        _flow(
            Table.NEIGHBOUR,
            100,
            Category.PORT,
            match(metadata=vni, eth_type=ETH_TYPE_ARP, arp_op=1, arp_tpa=address),
            _apply(
                Move("eth_src", "eth_dst"),
                SetField("eth_src", mac),
                SetField("arp_op", 2),
                Move("arp_sha", "arp_tha"),
                SetField("arp_sha", mac),
                Move("arp_spa", "arp_tpa"),
                SetField("arp_spa", to_int(address)),
                Output(OFPP_IN_PORT),
            ),
        )
        for address in port.addresses
        if address.version == 4
    )


class _Replication(NamedTuple):
    """Where copies of a packet go: from a local port to the local ports and the peers'
    tunnels; from a tunnel to the local ports only (split horizon: never tunnel to tunnel)."""

    from_local: Group
    from_tunnel: Group

    def send(self, ingress: int) -> tuple[Instruction, ...]:
        """The instructions for packets entering from `ingress` (none: dropped)."""
        group = self.from_local if ingress == INGRESS_LOCAL else self.from_tunnel
        return (_apply(ToGroup(group_id(group))),) if group.buckets else ()


def _replication(vni: int, local_ofports, peer_ofports) -> _Replication:
    local = tuple((Output(ofport),) for ofport in local_ofports)
    tunnels = tuple(_to_tunnel(vni, ofport) for ofport in peer_ofports)
    return _Replication(Group(local + tunnels), Group(local))


def _flood_flows(network: NetworkView, flood: _Replication) -> list[Flow]:
    """Broadcast, link-local multicast and IPv6 multicast (neighbour discovery) flooded in the
    network, and unregistered IPv4 multicast too if the network says so."""
    selectors = [
        (100, {"eth_dst": BROADCAST}),
        (90, {"eth_type": ETH_TYPE_IPV4, "ipv4_dst": IPV4_LINK_LOCAL_MULTICAST}),
        (85, {"eth_dst": IPV6_MULTICAST_MAC}),
    ]
    if network.unregistered_multicast == "flood":
        selectors.append((70, {"eth_type": ETH_TYPE_IPV4, "ipv4_dst": IPV4_MULTICAST}))
    return [
        flow
        for priority, fields in selectors
        for flow in _by_ingress(network.vni, priority, Category.NETWORK, fields, flood.send)
    ]


def _by_ingress(vni, priority, category, fields, instructions_for) -> list[Flow]:
    """One FLOOD-table flow per ingress kind, since local and tunnel traffic replicate apart."""
    return [
        _flow(
            Table.FLOOD,
            priority,
            category,
            match(metadata=vni, **{REG_INGRESS: ingress}, **fields),
            *instructions_for(ingress),
        )
        for ingress in (INGRESS_LOCAL, INGRESS_TUNNEL)
    ]


def _multicast_group(group, network: NetworkView, host_id: int, tunnels: Mapping[int, int]):
    """Flows and replication groups for one multicast group address of `network`.

    Data from a local sender goes to local members and to the tunnels of hosts that have
    members (head-end replication: in a full mesh every member host is one hop away, which no
    tree beats); data from a tunnel goes to local members only. No members: dropped.
    """
    members = [p for p in network.ports if p.id in group.member_port_ids and p.bound]
    peer_ports = sorted(
        {tunnels[cast(int, p.host_id)] for p in members
         if p.host_id in tunnels and p.host_id != host_id}
    )
    replication = _replication(
        network.vni, [p.ofport for p in members if p.host_id == host_id], peer_ports
    )

    address = ipaddress.ip_address(group.address)
    if address.version == 4:
        fields, priority = {"eth_type": ETH_TYPE_IPV4, "ipv4_dst": address}, 80
    else:
        # Above the IPv6 multicast flood (85): a registered group is replicated, not flooded.
        fields, priority = {"eth_type": ETH_TYPE_IPV6, "ipv6_dst": address}, 95
    flows = _by_ingress(network.vni, priority, Category.MULTICAST, fields, replication.send)
    return flows, list(replication)
