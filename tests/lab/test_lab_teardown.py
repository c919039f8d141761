"""`down` (and `up` of the same name) leave nothing behind, even after a crash: no namespace,
process, link, mount or file. `leftovers()` checks the system directly."""

from __future__ import annotations

import os
import re
import signal
import subprocess

import pytest

from lab import Lab, ovs, procs
from tests.support.labs import create_br_int, leftovers

pytestmark = pytest.mark.lab


@pytest.fixture
def busy_lab(make_lab, tmp_path):
    """2 hosts with br-int, two containers, and long-running processes in ctl and in a
    container, like a controller and a test's listener."""
    lab = make_lab(hosts=2)
    create_br_int(lab)
    lab.attach("a", "host1", "02:00:00:00:01:01", ["198.51.100.11/24"])
    lab.attach("b", "host2", "02:00:00:00:02:01", ["198.51.100.21/24"])
    lab.spawn("ctl", ["sleep", "600"], tmp_path / "ctl.log")
    lab.spawn("a", ["sleep", "600"], tmp_path / "a.log")
    return lab


def _daemon_pids(lab: Lab) -> list[int]:
    return [
        int(host.pidfile(daemon).read_text())
        for host in lab.hosts
        for daemon in (ovs.OVSDB_SERVER, ovs.VSWITCHD)
    ]


def test_down_leaves_nothing(busy_lab):
    pids = _daemon_pids(busy_lab) + [s.pid for s in busy_lab._state.read().spawned]
    busy_lab.down()
    assert leftovers(busy_lab.name) == []
    assert not any(procs.is_running(pid) for pid in pids)
    assert not busy_lab.is_up and not busy_lab.status().up
    busy_lab.down()  # and again, on nothing: no error


def test_down_after_a_crash(busy_lab):
    """host1's daemons SIGKILLed (stale pidfiles and sockets); host2's namespace and a
    container's deleted under live processes (such namespaces live on, invisibly)."""
    host1, host2 = busy_lab.host("host1"), busy_lab.host("host2")
    for daemon in (ovs.OVSDB_SERVER, ovs.VSWITCHD):
        os.kill(int(host1.pidfile(daemon).read_text()), signal.SIGKILL)
    orphans = [int(host2.pidfile(d).read_text()) for d in (ovs.OVSDB_SERVER, ovs.VSWITCHD)]
    container = busy_lab.container("a")
    for namespace in (host2.netns, container.netns):
        subprocess.run(["ip", "netns", "del", namespace], check=True)
        assert namespace not in os.listdir("/run/netns")
    orphans += [s.pid for s in busy_lab._state.read().spawned]
    assert all(procs.is_running(pid) for pid in orphans)

    busy_lab.down()
    assert leftovers(busy_lab.name) == []
    assert not any(procs.is_running(pid) for pid in orphans)


def test_down_without_state_file(busy_lab):
    """A lab that crashed before its state was written is still found by its names."""
    pids = _daemon_pids(busy_lab)
    busy_lab._state.path.unlink()
    busy_lab.down()
    assert leftovers(busy_lab.name) == []
    assert not any(procs.is_running(pid) for pid in pids)


def test_up_sweeps_a_killed_lab_of_the_same_name(busy_lab):
    old = _daemon_pids(busy_lab)
    for pid in old:
        os.kill(pid, signal.SIGKILL)
    busy_lab.up(hosts=1)
    assert not any(procs.is_running(pid) for pid in old)
    assert [h.name for h in busy_lab.hosts] == ["host1"] and busy_lab.containers == []
    assert not [ns for ns in os.listdir("/run/netns") if re.fullmatch(rf"{busy_lab.name}-c\d+", ns)]
    host1 = busy_lab.host("host1")
    answer = busy_lab.exec("ctl", ["ovs-vsctl", f"--db={host1.ovsdb_target}", "list-br"])
    assert answer.stdout.split() == ["br-phy"]


def test_labs_with_different_names_coexist(make_lab):
    first, second = make_lab(hosts=1), make_lab(hosts=1)
    assert first.host("host1").mgmt_ip == second.host("host1").mgmt_ip  # same plan, apart
    first.down()
    assert leftovers(first.name) == []
    assert all(second.status().hosts[0].daemons.values())
    assert second.ping("ctl", second.host("host1").mgmt_ip)
