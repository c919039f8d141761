"""Restarting a host's OVS: vswitchd alone, both daemons, or onto a wiped database."""

from __future__ import annotations

import pytest

from lab import ovs, procs
from tests.support.labs import create_br_int, install_l2_flows

pytestmark = pytest.mark.lab


@pytest.fixture
def pair(make_lab):
    """2 hosts, container a on host1 and b on host2, pinging each other."""
    lab = make_lab(hosts=2)
    create_br_int(lab)
    lab.attach("a", "host1", "02:00:00:00:01:01", ["198.51.100.11/24"])
    lab.attach("b", "host2", "02:00:00:00:02:01", ["198.51.100.21/24"])
    install_l2_flows(lab, lab.containers)
    assert lab.ping("a", "198.51.100.21")
    return lab


def _pid(lab, host, daemon):
    return int(lab.host(host).pidfile(daemon).read_text())


def test_restart_vswitchd_only(pair):
    old_vswitchd, ovsdb = _pid(pair, "host1", ovs.VSWITCHD), _pid(pair, "host1", ovs.OVSDB_SERVER)
    assert pair.restart("host1", vswitchd_only=True) == []
    assert not procs.is_running(old_vswitchd) and procs.is_running(ovsdb)
    assert _pid(pair, "host1", ovs.VSWITCHD) != old_vswitchd
    assert pair.ofctl("host1", "dump-flows", "--no-stats").strip() == ""  # a restart flushes
    install_l2_flows(pair, pair.containers)  # as the controller will on reconnect
    assert pair.ping("a", "198.51.100.21")


def test_restart_both_daemons_keeps_the_database(pair):
    old = {d: _pid(pair, "host1", d) for d in (ovs.VSWITCHD, ovs.OVSDB_SERVER)}
    assert pair.restart("host1") == []
    assert not any(procs.is_running(pid) for pid in old.values())
    assert pair.vsctl("host1", "list-ports", "br-int").split() == ["c1", "vx2"]
    install_l2_flows(pair, pair.containers)
    assert pair.ping("a", "198.51.100.21")


def test_restart_onto_a_fresh_database(pair):
    assert pair.restart("host1", fresh_db=True) == ["a"]
    # only the lab's own settings: what a re-imaged machine has before provisioning
    assert pair.vsctl("host1", "list-br").split() == ["br-phy"]
    assert pair.vsctl("host1", "get", "Open_vSwitch", ".", "external_ids:system-id").strip() == (
        "host1"
    )
    host1 = pair.host("host1")
    answer = pair.exec("ctl", ["ovs-vsctl", f"--db={host1.ovsdb_target}", "--timeout=5", "list-br"])
    assert answer.stdout.split() == ["br-phy"]  # the TCP remote survived the wipe
    plugged = {e.container.port: e.plugged for e in pair.status().containers}
    assert plugged == {"a": False, "b": True}

    # provisioned again (manager) and re-plugged (runtime), the host carries traffic again
    create_br_int(pair, hosts=["host1"])
    pair.vsctl("host1", "add-port", "br-int", "c1",
               "--", "set", "Interface", "c1", "external_ids:iface-id=a")
    install_l2_flows(pair, pair.containers)
    assert pair.ping("a", "198.51.100.21")


def test_restart_refuses_contradicting_options(pair):
    with pytest.raises(ValueError):
        pair.restart("host1", vswitchd_only=True, fresh_db=True)
