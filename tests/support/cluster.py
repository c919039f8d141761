"""Build desired-state snapshots in memory and run their compiled flows in the simulator.

`ClusterSpec` describes hosts, networks and ports compactly; `snapshot()` turns it into the
same immutable views the controller loads from the database, with a full tunnel mesh whose
ofports are 1000 + peer id. `fabric()` compiles every host and joins the SimSwitches by
those tunnels, so a test can send a packet in at a port and see where it comes out.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from types import MappingProxyType

from controller.compiler import SectionCache, SwitchConfig, compile_host
from controller.simulator import Fabric, Host, SimSwitch
from models.snapshot import GroupView, HostView, NetworkView, PortView, Snapshot, TunnelView
from models.topology import Topology

TUNNEL_BASE = 1000


@dataclass
class PortSpec:
    name: str
    network: str
    mac: str
    ips: tuple[str, ...] = ()
    host: str | None = None  # None: not bound
    ofport: int | None = None


@dataclass
class GroupSpec:
    network: str
    address: str
    members: tuple[str, ...]  # port names


@dataclass
class ClusterSpec:
    hosts: list[str]
    networks: dict[str, int]  # name -> VNI
    ports: list[PortSpec]
    groups: list[GroupSpec] = field(default_factory=list)
    flood_unregistered: frozenset[str] = frozenset()
    subnets: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def host_id(self, name: str) -> int:
        return self.hosts.index(name) + 1

    def network_id(self, name: str) -> int:
        return list(self.networks).index(name) + 1

    def port(self, name: str) -> PortSpec:
        return next(p for p in self.ports if p.name == name)


def snapshot(spec: ClusterSpec) -> Snapshot:
    hosts = {
        spec.host_id(name): HostView(
            id=spec.host_id(name),
            name=name,
            tunnel_ip=ipaddress.ip_address(f"203.0.113.{spec.host_id(name)}"),
            datapath_id=0x5746_0000_0000_0000 + spec.host_id(name),
            datapath_type="netdev",
            ovsdb_target=f"tcp:198.18.0.{spec.host_id(name)}:6640",
        )
        for name in spec.hosts
    }
    tunnels = {
        h: MappingProxyType({p: TunnelView(h, p, TUNNEL_BASE + p, "up") for p in hosts if p != h})
        for h in hosts
    }
    port_ids = {p.name: i + 1 for i, p in enumerate(spec.ports)}
    networks = {}
    for name, vni in spec.networks.items():
        net_id = spec.network_id(name)
        ports = tuple(
            PortView(
                id=port_ids[p.name],
                name=p.name,
                network_id=net_id,
                mac=p.mac,
                addresses=tuple(ipaddress.ip_address(a) for a in p.ips),
                host_id=spec.host_id(p.host) if p.host else None,
                ofport=p.ofport if p.host else None,
            )
            for p in spec.ports
            if p.network == name
        )
        groups = tuple(
            GroupView(
                id=index + 1,
                address=ipaddress.ip_address(g.address),
                member_port_ids=frozenset(port_ids[m] for m in g.members),
            )
            for index, g in enumerate(spec.groups)
            if g.network == name
        )
        networks[net_id] = NetworkView(
            id=net_id,
            name=name,
            vni=vni,
            mtu=1450,
            unregistered_multicast="flood" if name in spec.flood_unregistered else "drop",
            subnets=tuple(ipaddress.ip_network(s) for s in spec.subnets.get(name, ())),
            ports=ports,
            groups=groups,
        )
    return Snapshot(
        hosts=MappingProxyType(hosts),
        networks=MappingProxyType(networks),
        tunnels=MappingProxyType(tunnels),
    )


def compile_all(spec: ClusterSpec) -> dict[str, SwitchConfig]:
    topology = Topology.from_snapshot(snapshot(spec))
    cache = SectionCache()
    return {name: compile_host(topology, spec.host_id(name), cache) for name in spec.hosts}


def fabric(spec: ClusterSpec) -> Fabric:
    configs = compile_all(spec)
    return Fabric(
        {
            name: Host(
                SimSwitch(configs[name].flows, configs[name].groups),
                {TUNNEL_BASE + spec.host_id(peer): peer for peer in spec.hosts if peer != name},
            )
            for name in spec.hosts
        }
    )
