"""Packets really cross the lab: containers on different hosts (VXLAN over the underlay) and
on the same host reach each other once br-int, tunnels and flows exist. The test itself
stands in for the OVSDB manager and the controller, which come later."""

from __future__ import annotations

import pytest

from tests.support.labs import create_br_int, install_l2_flows

pytestmark = pytest.mark.lab

# A TCP echo over the overlay: with checksum offload left on, ping works but this hangs.
ECHO_SERVER = """
import socket
s = socket.create_server(("0.0.0.0", 5000))
conn, _ = s.accept()
conn.sendall(conn.recv(100).upper())
"""
ECHO_CLIENT = """
import socket, sys, time
deadline = time.monotonic() + 10
while True:
    try:
        s = socket.create_connection((sys.argv[1], 5000), timeout=5)
        break
    except ConnectionRefusedError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.05)
s.sendall(b"across the overlay")
print(s.recv(100).decode())
"""


@pytest.fixture
def overlay(make_lab):
    """2 hosts; a and c on host1, b on host2; br-int, tunnels and L2 flows in place."""
    lab = make_lab(hosts=2)
    create_br_int(lab)
    containers = [
        lab.attach("a", "host1", "02:00:00:00:01:01", ["198.51.100.11/24"]),
        lab.attach("b", "host2", "02:00:00:00:02:01", ["198.51.100.21/24"]),
        lab.attach("c", "host1", "02:00:00:00:01:02", ["198.51.100.12/24"]),
    ]
    install_l2_flows(lab, containers)
    return lab


def test_containers_on_different_hosts_ping_each_other(overlay):
    assert overlay.ping("a", "198.51.100.21")
    assert overlay.ping("b", "198.51.100.11")
    assert overlay.ping("b", "198.51.100.12", count=3)


def test_containers_on_the_same_host_ping_each_other(overlay):
    assert overlay.ping("a", "198.51.100.12")
    assert overlay.ping("c", "198.51.100.11")


def test_tcp_crosses_the_overlay(overlay, tmp_path):
    server = overlay.spawn("b", ["python3", "-c", ECHO_SERVER], tmp_path / "server.log")
    reply = overlay.exec("a", ["python3", "-c", ECHO_CLIENT, "198.51.100.21"], timeout=20)
    assert reply.stdout.strip() == "ACROSS THE OVERLAY"
    assert server.wait(timeout=10) == 0


def test_without_flows_nothing_crosses(overlay):
    """The pings above are the flows' doing, not some path around OVS."""
    for host in ("host1", "host2"):
        overlay.ofctl(host, "del-flows")
    assert not overlay.ping("a", "198.51.100.21", deadline=0.6)
    assert not overlay.ping("a", "198.51.100.12", deadline=0.6)


def test_container_namespace(overlay):
    container = overlay.container("a")
    assert container.host == "host1" and container.veth == "c1"
    assert container.netns == f"{overlay.name}-c1"
    link = overlay.exec("a", ["ip", "-o", "link", "show", "eth0"]).stdout
    assert "mtu 1450" in link and "02:00:00:00:01:01" in link
    assert "inet6" not in overlay.exec("a", ["ip", "addr"]).stdout  # IPv4 only: IPv6 off
    assert "tx-checksumming: off" in overlay.exec("a", ["ethtool", "-k", "eth0"]).stdout
    iface_id = overlay.vsctl("host1", "get", "Interface", "c1", "external_ids:iface-id")
    assert iface_id.strip() == "a"


def test_ipv6_container_pings_over_ipv6(make_lab):
    lab = make_lab(hosts=2)
    create_br_int(lab)
    containers = [
        lab.attach("v1", "host1", "02:00:00:00:06:01", ["198.51.100.61/24", "fd00:6::1/64"]),
        lab.attach("v2", "host2", "02:00:00:00:06:02", ["fd00:6::2/64"]),
    ]
    install_l2_flows(lab, containers)
    assert lab.ping("v1", "fd00:6::2")
    assert lab.ping("v2", "fd00:6::1")
