"""The topology graph kept up to date part by part equals the graph built afresh."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import networkx as nx

from models.snapshot import TunnelView
from models.topology import Topology
from tests.support.cluster import ClusterSpec, PortSpec, snapshot

SPEC = ClusterSpec(
    hosts=["h1", "h2", "h3"],
    networks={"blue": 100, "red": 200},
    ports=[
        PortSpec("b1", "blue", "02:00:00:00:0b:01", ("10.0.0.1",), "h1", 1),
        PortSpec("b2", "blue", "02:00:00:00:0b:02", ("10.0.0.2",), "h2", 1),
        PortSpec("r1", "red", "02:00:00:00:0e:01", ("10.0.0.1",), "h3", 1),
        PortSpec("r2", "red", "02:00:00:00:0e:02", ("10.0.0.2",)),
    ],
)


def with_tunnel(before, host_id: int, peer_id: int, **changes):
    tunnels = {h: dict(peers) for h, peers in before.tunnels.items()}
    tunnels[host_id][peer_id] = dataclasses.replace(tunnels[host_id][peer_id], **changes)
    return before.with_hosts(before.hosts, {h: MappingProxyType(p) for h, p in tunnels.items()})


def assert_same_as_fresh(topology: Topology) -> None:
    fresh = Topology.from_snapshot(topology.snapshot)
    assert nx.utils.graphs_equal(topology.graph, fresh.graph)
    for host_id in topology.snapshot.hosts:
        assert topology.tunnel_ports(host_id) == fresh.tunnel_ports(host_id)


def test_a_tunnel_change_updates_its_edge_and_keeps_the_ports():
    before = snapshot(SPEC)
    topology = Topology.from_snapshot(before)
    port_nodes = [n for n in topology.graph if n[0] == "port"]

    topology.update(with_tunnel(before, 1, 2, status="down"))
    assert topology.graph.edges[("host", 1), ("host", 2)]["status"][1] == "down"
    topology.update(with_tunnel(topology.snapshot, 2, 3, ofport=None))
    assert 3 not in topology.tunnel_ports(2)
    assert [n for n in topology.graph if n[0] == "port"] == port_nodes
    assert_same_as_fresh(topology)


def test_removing_a_tunnel_removes_its_edge():
    before = snapshot(SPEC)
    topology = Topology.from_snapshot(before)
    tunnels = {h: dict(peers) for h, peers in before.tunnels.items()}
    del tunnels[1][3], tunnels[3][1]
    topology.update(before.with_hosts(before.hosts, tunnels))
    assert not topology.graph.has_edge(("host", 1), ("host", 3))
    assert_same_as_fresh(topology)


def test_network_and_host_changes_match_a_fresh_graph():
    before = snapshot(SPEC)
    topology = Topology.from_snapshot(before)
    bound = snapshot(dataclasses.replace(SPEC, ports=[
        *SPEC.ports[:3], dataclasses.replace(SPEC.ports[3], host="h1", ofport=2)]))
    topology.update(before.with_networks({2: bound.networks[2]}))
    assert topology.networks_on(1) == [1, 2]
    assert_same_as_fresh(topology)
    hosts = {h: v for h, v in before.hosts.items() if h != 3}
    tunnels = {h: {p: t for p, t in peers.items() if p != 3}
               for h, peers in before.tunnels.items() if h != 3}
    topology.update(topology.snapshot.with_hosts(hosts, tunnels))
    assert ("host", 3) not in topology.graph
    assert_same_as_fresh(topology)


def test_tunnel_view_is_what_the_graph_records():
    before = snapshot(SPEC)
    topology = Topology.from_snapshot(before)
    tunnel: TunnelView = before.tunnels[1][2]
    edge = topology.graph.edges[("host", 1), ("host", 2)]
    assert (edge["ofport"][1], edge["status"][1]) == (tunnel.ofport, tunnel.status)


def test_port_at_finds_the_port_bound_on_a_host_at_an_ofport():
    topology = Topology.from_snapshot(snapshot(SPEC))
    assert topology.port_at(1, 1) == (1, 1)  # b1: network blue, port 1
    assert topology.port_at(3, 1) == (2, 3)  # r1: network red, port 3
    assert topology.port_at(1, 2) is None
    assert topology.port_at(9, 1) is None
