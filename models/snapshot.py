"""Immutable snapshots of the database: what the flow compiler and the OVSDB manager read.

A `Snapshot` is plain frozen data with no session attached, so code that takes one cannot do
I/O. It is loaded per part: one network (its subnets, ports, addresses and multicast groups)
or the host layer (hosts and tunnels), so that a change to one network reloads and recompiles
that network only. Views compare by value: reloading an unchanged network gives an equal view,
and the caller may keep the old object (and every result cached on it).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import tables as t
from models.types import IPAddress, IPNetwork


@dataclass(frozen=True, slots=True)
class HostView:
    id: int
    name: str
    tunnel_ip: IPAddress
    datapath_id: int
    datapath_type: str
    ovsdb_target: str


@dataclass(frozen=True, slots=True)
class PortView:
    id: int
    name: str
    network_id: int
    mac: str
    addresses: tuple[IPAddress, ...]
    host_id: int | None
    ofport: int | None

    @property
    def bound(self) -> bool:
        return self.host_id is not None and self.ofport is not None


@dataclass(frozen=True, slots=True)
class GroupView:
    """A multicast group and the ids of its member ports (static and snooped alike)."""

    id: int
    address: IPAddress
    member_port_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class NetworkView:
    id: int
    name: str
    vni: int
    mtu: int
    unregistered_multicast: str
    subnets: tuple[IPNetwork, ...]
    ports: tuple[PortView, ...]
    groups: tuple[GroupView, ...]

    def bound_ports(self) -> Iterable[PortView]:
        return (p for p in self.ports if p.bound)

    def host_ids(self) -> frozenset[int]:
        """Hosts with at least one bound port of this network: where the network is present."""
        return frozenset(cast(int, p.host_id) for p in self.ports if p.bound)


@dataclass(frozen=True, slots=True)
class TunnelView:
    host_id: int
    peer_id: int
    ofport: int | None
    status: str


@dataclass(frozen=True)
class Snapshot:
    hosts: Mapping[int, HostView] = field(default_factory=lambda: MappingProxyType({}))
    networks: Mapping[int, NetworkView] = field(default_factory=lambda: MappingProxyType({}))
    # host id -> peer host id -> the tunnel on `host` towards `peer`
    tunnels: Mapping[int, Mapping[int, TunnelView]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def with_networks(self, changes: Mapping[int, NetworkView | None]) -> Snapshot:
        """This snapshot with networks replaced (or removed where the view is None)."""
        networks = dict(self.networks)
        for network_id, view in changes.items():
            if view is None:
                networks.pop(network_id, None)
            else:
                networks[network_id] = view
        return dataclasses.replace(self, networks=MappingProxyType(networks))

    def with_hosts(self, hosts: Mapping[int, HostView], tunnels) -> Snapshot:
        return dataclasses.replace(
            self, hosts=MappingProxyType(dict(hosts)), tunnels=MappingProxyType(dict(tunnels))
        )


def load_snapshot(session: Session) -> Snapshot:
    hosts, tunnels = load_host_layer(session)
    networks = load_networks(session)
    return Snapshot(
        hosts=MappingProxyType(hosts),
        networks=MappingProxyType(networks),
        tunnels=MappingProxyType(tunnels),
    )


def load_host_layer(
    session: Session,
) -> tuple[dict[int, HostView], dict[int, Mapping[int, TunnelView]]]:
    hosts = {
        row.id: HostView(
            id=row.id,
            name=row.name,
            tunnel_ip=row.tunnel_ip,
            datapath_id=row.datapath_id,
            datapath_type=row.datapath_type,
            ovsdb_target=row.ovsdb_target,
        )
        for row in session.execute(
            select(
                t.Host.id,
                t.Host.name,
                t.Host.tunnel_ip,
                t.Host.datapath_id,
                t.Host.datapath_type,
                t.Host.ovsdb_target,
            ).order_by(t.Host.id)
        )
    }
    by_host: dict[int, dict[int, TunnelView]] = defaultdict(dict)
    for row in session.execute(
        select(t.Tunnel.host_id, t.Tunnel.peer_id, t.Tunnel.ofport, t.Tunnel.status)
    ):
        by_host[row.host_id][row.peer_id] = TunnelView(*row)
    return hosts, {h: MappingProxyType(peers) for h, peers in by_host.items()}


def load_networks(
    session: Session, network_ids: Iterable[int] | None = None
) -> dict[int, NetworkView]:
    """Load the given networks (all when `network_ids` is None) with ports and groups.

    Six queries whatever the number of networks: subnets, addresses, ports, members, groups,
    networks.
    A requested id that no longer exists is simply absent from the result.
    """
    ids = None if network_ids is None else list(set(network_ids))

    def only(column):
        return True if ids is None else column.in_(ids)

    subnets: dict[int, list[IPNetwork]] = defaultdict(list)
    for net_id, cidr in session.execute(
        select(t.Subnet.network_id, t.Subnet.cidr)
        .where(only(t.Subnet.network_id))
        .order_by(t.Subnet.id)
    ):
        subnets[net_id].append(cidr)

    addresses: dict[int, list[IPAddress]] = defaultdict(list)
    for port_id, address in session.execute(
        select(t.PortAddress.port_id, t.PortAddress.address)
        .where(only(t.PortAddress.network_id))
        .order_by(t.PortAddress.id)
    ):
        addresses[port_id].append(address)

    ports: dict[int, list[PortView]] = defaultdict(list)
    for row in session.execute(
        select(t.Port.id, t.Port.name, t.Port.network_id, t.Port.mac, t.Port.host_id, t.Port.ofport)
        .where(only(t.Port.network_id))
        .order_by(t.Port.id)
    ):
        ports[row.network_id].append(
            PortView(
                id=row.id,
                name=row.name,
                network_id=row.network_id,
                mac=row.mac,
                addresses=tuple(addresses.get(row.id, ())),
                host_id=row.host_id,
                ofport=row.ofport,
            )
        )

    members: dict[int, set[int]] = defaultdict(set)
    for group_id, port_id in session.execute(
        select(t.GroupMember.group_id, t.GroupMember.port_id).where(only(t.GroupMember.network_id))
    ):
        members[group_id].add(port_id)
    groups: dict[int, list[GroupView]] = defaultdict(list)
    for group_id, net_id, address in session.execute(
        select(t.MulticastGroup.id, t.MulticastGroup.network_id, t.MulticastGroup.address)
        .where(only(t.MulticastGroup.network_id))
        .order_by(t.MulticastGroup.id)
    ):
        groups[net_id].append(GroupView(group_id, address, frozenset(members.get(group_id, ()))))

    return {
        row.id: NetworkView(
            id=row.id,
            name=row.name,
            vni=row.vni,
            mtu=row.mtu,
            unregistered_multicast=row.unregistered_multicast,
            subnets=tuple(subnets.get(row.id, ())),
            ports=tuple(ports.get(row.id, ())),
            groups=tuple(groups.get(row.id, ())),
        )
        for row in session.execute(
            select(
                t.Network.id,
                t.Network.name,
                t.Network.vni,
                t.Network.mtu,
                t.Network.unregistered_multicast,
            )
            .where(only(t.Network.id))
            .order_by(t.Network.id)
        )
    }
