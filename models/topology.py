"""The cluster as a networkx graph: hosts joined by tunnels, ports bound to hosts and members of
networks. Built from a Snapshot and updated in step with it, part by part.

Nodes are tuples `(kind, id)` with kind "host", "network" or "port". Edges:
- host — host: a tunnel pair. `ofport[h]` is the ofport of the VXLAN port on host h towards
  the other end (None until OVS has assigned it), `status[h]` its BFD state.
- port — network: membership.
- port — host: the port is bound there (edge attribute `ofport`).

The flow compiler asks it which networks are present on a host, which tunnels a host has and
which peers a network's floods must reach; `weft topology` draws it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import cast

import networkx as nx

from models.snapshot import NetworkView, Snapshot


def host_node(host_id: int) -> tuple[str, int]:
    return ("host", host_id)


def network_node(network_id: int) -> tuple[str, int]:
    return ("network", network_id)


def port_node(port_id: int) -> tuple[str, int]:
    return ("port", port_id)


class Topology:
    def __init__(self) -> None:
        self.graph = nx.Graph()
        self._snapshot = Snapshot()
        # Per host, the {peer id: ofport} of its usable tunnels; rebuilt only when they change,
        # so callers may cache work on the identity of the mapping.
        self._tunnel_ports: dict[int, Mapping[int, int]] = {}

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot) -> Topology:
        topology = cls()
        topology.update(snapshot)
        return topology

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def update(self, snapshot: Snapshot) -> None:
        """Bring the graph in step with `snapshot`, touching only the parts that changed.

        A change of hosts (rare) rebuilds the graph; a change of tunnels (an ofport, a BFD
        state) replaces the tunnel edges only; a change of one network replaces that
        network's nodes only.
        """
        old = self._snapshot
        self._snapshot = snapshot
        if old.hosts != snapshot.hosts:
            self.graph.clear()
            for host in snapshot.hosts.values():
                self.graph.add_node(
                    host_node(host.id), kind="host", name=host.name, tunnel_ip=str(host.tunnel_ip)
                )
            self._add_tunnels(snapshot)
            for view in snapshot.networks.values():
                self._add_network(view)
            return
        if old.tunnels is not snapshot.tunnels:
            self.graph.remove_edges_from(
                (host_node(host_id), host_node(peer_id))
                for host_id, peers in old.tunnels.items()
                for peer_id in peers
            )
            self._add_tunnels(snapshot)
        for network_id in old.networks.keys() - snapshot.networks.keys():
            self._remove_network(network_id)
        for network_id, view in snapshot.networks.items():
            if old.networks.get(network_id) is not view:
                self._remove_network(network_id)
                self._add_network(view)

    # ------------------------------------------------------------ queries

    def networks_on(self, host_id: int) -> list[int]:
        """Ids of the networks with at least one port bound on `host_id` (present there)."""
        node = host_node(host_id)
        if node not in self.graph:
            return []
        present = {
            self.graph.nodes[neighbour]["network_id"]
            for neighbour in self.graph.neighbors(node)
            if neighbour[0] == "port"
        }
        return sorted(present)

    def port_at(self, host_id: int, ofport: int) -> tuple[int, int] | None:
        """(network id, port id) of the port bound on `host_id` at `ofport`, if any."""
        node = host_node(host_id)
        if node not in self.graph:
            return None
        for neighbour, edge in self.graph.adj[node].items():
            if edge["kind"] == "bound" and edge["ofport"] == ofport:
                return self.graph.nodes[neighbour]["network_id"], neighbour[1]
        return None

    def tunnel_ports(self, host_id: int) -> Mapping[int, int]:
        """{peer host id: ofport} of the tunnels on `host_id` that OVS has numbered."""
        return self._tunnel_ports.get(host_id, MappingProxyType({}))

    def hosts_of(self, network_id: int) -> set[int]:
        """Hosts where `network_id` is present."""
        node = network_node(network_id)
        if node not in self.graph:
            return set()
        return {
            self.graph.nodes[port]["host_id"]
            for port in self.graph.neighbors(node)
            if self.graph.nodes[port]["host_id"] is not None
        }

    def flood_peers(self, host_id: int, network_id: int) -> dict[int, int]:
        """{peer: tunnel ofport} a broadcast of `network_id` entering at `host_id` must reach."""
        tunnels = self.tunnel_ports(host_id)
        return {
            peer: tunnels[peer]
            for peer in sorted(self.hosts_of(network_id) - {host_id})
            if peer in tunnels
        }

    # ------------------------------------------------------------ maintenance

    def _add_tunnels(self, snapshot: Snapshot) -> None:
        for host_id, peers in snapshot.tunnels.items():
            for peer_id, tunnel in peers.items():
                if host_id not in snapshot.hosts or peer_id not in snapshot.hosts:
                    continue
                a, b = host_node(host_id), host_node(peer_id)
                if not self.graph.has_edge(a, b):
                    self.graph.add_edge(a, b, kind="tunnel", ofport={}, status={})
                edge = self.graph.edges[a, b]
                edge["ofport"][host_id] = tunnel.ofport
                edge["status"][host_id] = tunnel.status
        self._rebuild_tunnel_ports(snapshot)

    def _rebuild_tunnel_ports(self, snapshot: Snapshot) -> None:
        fresh: dict[int, Mapping[int, int]] = {}
        for host_id in snapshot.hosts:
            ports = {
                peer: tunnel.ofport
                for peer, tunnel in sorted(snapshot.tunnels.get(host_id, {}).items())
                if tunnel.ofport is not None and peer in snapshot.hosts
            }
            previous = self._tunnel_ports.get(host_id)
            fresh[host_id] = previous if previous == ports else MappingProxyType(ports)
        self._tunnel_ports = fresh

    def _remove_network(self, network_id: int) -> None:
        node = network_node(network_id)
        if node in self.graph:
            ports = [n for n in self.graph.neighbors(node) if n[0] == "port"]
            self.graph.remove_nodes_from([*ports, node])

    def _add_network(self, view: NetworkView) -> None:
        node = network_node(view.id)
        self.graph.add_node(node, kind="network", name=view.name, vni=view.vni)
        hosts = self._snapshot.hosts
        for port in view.ports:
            pnode = port_node(port.id)
            bound_here = port.bound and port.host_id in hosts
            self.graph.add_node(
                pnode,
                kind="port",
                name=port.name,
                mac=port.mac,
                network_id=view.id,
                host_id=port.host_id if bound_here else None,
            )
            self.graph.add_edge(pnode, node, kind="member")
            if bound_here:
                self.graph.add_edge(
                    pnode, host_node(cast(int, port.host_id)), kind="bound", ofport=port.ofport
                )
