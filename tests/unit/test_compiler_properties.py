"""Properties of the compiled pipeline over random clusters (hypothesis + the simulator).

For any hosts, networks and ports (MACs and IPs deliberately reused across networks, some
ports unplugged), every bound port can reach every other bound port of its network by
unicast and broadcast, exactly once, and nothing it sends — unicast to any MAC, broadcast,
multicast — is ever delivered to a port of another network.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.flows import ETH_TYPE_IPV4
from tests.support.cluster import ClusterSpec, GroupSpec, PortSpec, fabric

MACS = [f"02:00:00:00:00:{i:02x}" for i in range(1, 7)]
IPS = [f"10.0.0.{i}" for i in range(1, 7)]


@st.composite
def clusters(draw) -> ClusterSpec:
    hosts = [f"h{i}" for i in range(1, draw(st.integers(1, 4)) + 1)]
    networks = {f"n{i}": 100 + i for i in range(1, draw(st.integers(1, 3)) + 1)}
    ports: list[PortSpec] = []
    next_ofport = dict.fromkeys(hosts, 1)
    for network in networks:
        count = draw(st.integers(0, 5))
        macs = draw(st.lists(st.sampled_from(MACS), min_size=count, max_size=count, unique=True))
        ips = draw(st.lists(st.sampled_from(IPS), min_size=count, max_size=count, unique=True))
        for mac, ip in zip(macs, ips, strict=True):
            host = draw(st.sampled_from([*hosts, None]))
            ofport = None
            if host is not None:
                ofport, next_ofport[host] = next_ofport[host], next_ofport[host] + 1
            ports.append(PortSpec(f"p{len(ports)}", network, mac, (ip,), host, ofport))
    groups = []
    for network in networks:
        members = [p.name for p in ports if p.network == network]
        chosen = draw(st.lists(st.sampled_from(members), unique=True)) if members else []
        groups.append(GroupSpec(network, "239.1.1.1", tuple(chosen)))
    return ClusterSpec(hosts, networks, ports, groups)


def bound(spec: ClusterSpec) -> list[PortSpec]:
    return [p for p in spec.ports if p.host is not None]


def frame(src: PortSpec, dst_mac: str, dst_ip: str) -> dict:
    return dict(
        eth_src=src.mac,
        eth_dst=dst_mac,
        eth_type=ETH_TYPE_IPV4,
        ipv4_src=src.ips[0],
        ipv4_dst=dst_ip,
        ip_proto=17,
    )


def delivered_to(spec: ClusterSpec, deliveries) -> list[PortSpec]:
    by_place = {(p.host, p.ofport): p for p in bound(spec)}
    return [by_place[(host, port)] for host, port, _ in deliveries]


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(clusters())
def test_unicast_reaches_exactly_the_destination_within_the_network(spec):
    net = fabric(spec)
    for src in bound(spec):
        for dst in bound(spec):
            if dst is src:
                continue
            got = delivered_to(
                spec, net.send(src.host, src.ofport, frame(src, dst.mac, dst.ips[0]))
            )
            if dst.network == src.network:
                assert got == [dst]
            else:
                # dst's MAC may also belong to a port of src's own network: only that one
                same_mac = [p for p in bound(spec) if p.network == src.network and p.mac == dst.mac]
                assert got == [p for p in same_mac if p is not src]


@SETTINGS
@given(clusters())
def test_broadcast_reaches_every_other_port_of_the_network_once(spec):
    net = fabric(spec)
    for src in bound(spec):
        got = delivered_to(
            spec, net.send(src.host, src.ofport, frame(src, "ff:ff:ff:ff:ff:ff", "10.0.0.255"))
        )
        expected = [p for p in bound(spec) if p.network == src.network and p is not src]
        assert sorted(p.name for p in got) == sorted(p.name for p in expected)


@SETTINGS
@given(clusters())
def test_multicast_reaches_members_of_the_senders_network_only(spec):
    net = fabric(spec)
    members = {m for g in spec.groups for m in g.members}
    for src in bound(spec):
        got = delivered_to(
            spec, net.send(src.host, src.ofport, frame(src, "01:00:5e:01:01:01", "239.1.1.1"))
        )
        expected = [
            p
            for p in bound(spec)
            if p.network == src.network and p.name in members and p is not src
        ]
        assert sorted(p.name for p in got) == sorted(p.name for p in expected)


@SETTINGS
@given(clusters(), st.sampled_from(MACS), st.sampled_from(IPS))
def test_a_port_sending_as_someone_else_reaches_nobody(spec, mac, ip):
    net = fabric(spec)
    for src in bound(spec):
        if (mac, ip) == (src.mac, src.ips[0]):
            continue
        spoofed = frame(src, "ff:ff:ff:ff:ff:ff", "10.0.0.255") | {"eth_src": mac, "ipv4_src": ip}
        assert net.send(src.host, src.ofport, spoofed) == []
