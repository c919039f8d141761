"""A lab's hosts: real OVS daemons per namespace, reachable from the ctl namespace over TCP,
wired as userspace VXLAN needs (docs/lab.md, docs/troubleshooting.md)."""

from __future__ import annotations

import json
import socket

import pytest

from lab import netns
from lab.layout import Layout

pytestmark = pytest.mark.lab


def test_every_host_answers_ovsdb_over_tcp_from_ctl(make_lab):
    lab = make_lab(hosts=3)
    assert [h.ovsdb_target for h in lab.hosts] == [
        "tcp:198.18.0.1:6640", "tcp:198.18.0.2:6640", "tcp:198.18.0.3:6640"
    ]
    for host in lab.hosts:
        answer = lab.exec("ctl", [
            "ovs-vsctl", f"--db={host.ovsdb_target}", "--timeout=5",
            "get", "Open_vSwitch", ".", "external_ids:system-id",
        ])
        assert answer.stdout.strip() == host.name


def test_a_test_can_connect_from_ctl_in_process(make_lab):
    """`entered("ctl")` moves this thread only while connecting; the socket stays in ctl."""
    lab = make_lab(hosts=1)
    host, home = lab.host("host1"), netns.netns_inode(netns.OWN_NETNS)
    ctl = netns.netns_inode(netns.NETNS_DIR / lab.ctl_netns)
    with pytest.raises(OSError):  # the test's own namespace has no way to the lab
        socket.create_connection((host.mgmt_ip, 6640), timeout=2)
    with lab.entered("ctl"):
        assert netns.netns_inode(netns.OWN_NETNS) == ctl
        netns.require_isolated()  # a lab namespace: no way off the machine
        connection = socket.create_connection((host.mgmt_ip, 6640), timeout=5)
    assert netns.netns_inode(netns.OWN_NETNS) == home
    with connection:
        connection.sendall(json.dumps({"method": "list_dbs", "params": [], "id": 1}).encode())
        assert json.loads(connection.recv(4096))["result"] == ["Open_vSwitch", "_Server"]


def test_host_wiring(make_lab):
    lab = make_lab(hosts=2)
    host = lab.host("host2")

    assert lab.vsctl("host2", "list-br").split() == ["br-phy"]  # br-int is the manager's job
    assert lab.vsctl("host2", "list-ports", "br-phy").split() == ["eth1"]
    assert lab.vsctl("host2", "get", "Bridge", "br-phy", "datapath_type", "fail_mode").split() == [
        "netdev", "standalone"
    ]
    addresses = lab.exec("host2", ["ip", "-br", "addr"]).stdout
    assert f"{host.tunnel_ip}/24" in _line_of(addresses, "br-phy")
    assert f"{host.mgmt_ip}/24" in _line_of(addresses, "mgmt0")
    assert "inet6" not in lab.exec("host2", ["ip", "addr"]).stdout
    sysctl = lab.exec("host2", ["sysctl", "-n", "net.ipv4.conf.all.arp_ignore"]).stdout
    assert sysctl.strip() == "1"
    # the ctl end of the underlay cable feeds an OVS port: checksum offload must be off
    features = lab.exec("ctl", ["ethtool", "-k", host.ctl_uplink]).stdout
    assert "tx-checksumming: off" in features
    # the daemons use the host's own run dir, not the machine's /var/run/openvswitch
    assert (host.rundir / "br-phy.mgmt").exists()


def test_underlay_and_management_reach_every_host(make_lab):
    lab = make_lab(hosts=3)
    for host in lab.hosts:
        assert lab.ping("ctl", host.mgmt_ip)
        assert lab.ping("ctl", host.tunnel_ip)
    assert lab.ping("host1", lab.host("host3").tunnel_ip)


def test_tunnel_neighbours_are_preloaded(make_lab):
    lab = make_lab(hosts=3)
    neighbours = lab.appctl("host1", "tnl/neigh/show")
    for peer in ("host2", "host3"):
        host = lab.host(peer)
        assert f"{host.tunnel_ip}" in neighbours and host.vtep_mac in neighbours
    # and the MAC preloaded is the one the peer's br-phy really has
    link = lab.exec("host2", ["ip", "-br", "link", "show", "br-phy"]).stdout
    assert lab.host("host2").vtep_mac in link


def test_status_describes_the_running_lab(make_lab):
    lab = make_lab(hosts=2)
    status = lab.status().to_dict()
    assert status["up"] and status["controller_ip"] == "198.18.0.254"
    assert status["ctl_netns"] == f"{lab.name}-ctl"
    host1 = status["hosts"][0]
    assert host1 == {
        "name": "host1", "netns": f"{lab.name}-host1", "mgmt_ip": "198.18.0.1",
        "tunnel_ip": "203.0.113.1", "ovsdb_target": "tcp:198.18.0.1:6640",
        "rundir": f"/run/weft-lab/{lab.name}/h1",
        "daemons": {"ovsdb-server": True, "ovs-vswitchd": True}, "br_int": False, "ports": [],
    }
    assert status["containers"] == []


def test_names_keep_labs_apart():
    weft, other = Layout("weft"), Layout("weft-2")
    assert weft.owns_netns("weft-host12") and weft.owns_netns("weft-c3")
    assert not weft.owns_netns("weft-2-ctl") and not other.owns_netns("weft-ctl")
    assert not weft.owns_netns("weft-host1-ctl")  # lab "weft-host1" is not lab "weft"
    for bad in ("", "Weft", "-x", "a" * 33, "a/b"):
        with pytest.raises(ValueError):
            Layout(bad)


def _line_of(output: str, ifname: str) -> str:
    return next(line for line in output.splitlines() if line.split()[0].startswith(ifname))
