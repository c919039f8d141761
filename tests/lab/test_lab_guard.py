"""The guard: nothing the lab starts may run in the machine's root network namespace.

The root-namespace checks run `python -c` there through nsenter; that process only calls the
guard and opens no connection."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lab import Lab, NotIsolatedError, netns, require_isolated
from tests.support.labs import create_br_int, unique_lab_name

pytestmark = pytest.mark.lab


def _in_root_netns(code: str) -> subprocess.CompletedProcess:
    root = netns.root_netns_path()
    return subprocess.run(
        ["nsenter", f"--net={root}", sys.executable, "-c", code],
        capture_output=True, text=True, timeout=30,
    )


def test_guard_passes_in_an_isolated_namespace():
    require_isolated()
    assert not netns.in_root_netns()


def test_guard_refuses_the_root_namespace():
    refused = _in_root_netns("from lab import require_isolated; require_isolated()")
    assert refused.returncode == 1
    assert "NotIsolatedError: refusing to run in the root network namespace" in refused.stderr
    # and a control: the same interpreter and check pass when told the truth
    allowed = _in_root_netns("from lab.netns import in_root_netns; assert in_root_netns()")
    assert allowed.returncode == 0, allowed.stderr


def test_guard_refuses_any_namespace_with_a_default_route(make_lab):
    """Not the root namespace, but a way out all the same (here: a lab container's)."""
    lab = make_lab(hosts=1)
    create_br_int(lab)
    lab.attach("p", "host1", "02:00:00:00:00:01", ["198.51.100.1/24", "fd00::1/64"])
    check = [sys.executable, "-c", "from lab import require_isolated; require_isolated()"]
    assert lab.exec("p", check, check=False).returncode == 0
    lab.exec("p", ["ip", "route", "add", "default", "dev", "eth0"])
    refused = lab.exec("p", check, check=False)
    assert "default route (via eth0)" in refused.stderr
    lab.exec("p", ["ip", "route", "del", "default"])
    lab.exec("p", ["ip", "-6", "route", "add", "default", "dev", "eth0"])
    assert "default route (via eth0)" in lab.exec("p", check, check=False).stderr


def test_lab_refuses_to_work_from_the_root_namespace():
    refused = _in_root_netns("from lab import Lab; Lab('never-up')")
    assert "NotIsolatedError" in refused.stderr


def test_targets_bound_to_the_root_namespace_are_refused(tmp_path):
    """A lab namespace name that (by a stale or wrong mount) is the root namespace itself:
    spawn and exec refuse it, and a sweep does not take the machine's processes for the
    lab's."""
    lab = Lab(unique_lab_name())
    root_pid = netns.root_netns_path().parts[2]
    subprocess.run(["ip", "netns", "attach", lab.ctl_netns, root_pid], check=True)
    try:
        with pytest.raises(NotIsolatedError):
            lab.spawn("ctl", ["sleep", "60"], tmp_path / "never.log")
        with pytest.raises(NotIsolatedError):
            lab.exec("ctl", ["true"])
        assert netns.inodes([lab.ctl_netns]) == set()
    finally:
        subprocess.run(["ip", "netns", "del", lab.ctl_netns], check=True)
    assert (tmp_path / "never.log").read_bytes() == b""
