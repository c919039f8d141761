"""`weft lab` end to end, through the installed entry point, as a user would type it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab import Lab
from tests.support.labs import leftovers, unique_lab_name

pytestmark = pytest.mark.lab

WEFT = str(Path(sys.executable).parent / "weft")


@pytest.fixture
def name():
    """A unique lab name, torn down (and checked clean) whatever the test did."""
    name = unique_lab_name()
    yield name
    Lab(name).down()
    assert leftovers(name) == []


def weft(name, *args, input=None):
    """Run `weft lab ARGS` for lab `name` (passed through WEFT_LAB, as a shell user might)."""
    return subprocess.run(
        [WEFT, "lab", *args], capture_output=True, text=True, input=input, timeout=60,
        env={**os.environ, "WEFT_LAB": name},
    )


def test_cli_end_to_end(name):
    assert weft(name, "up", "--hosts", "2").returncode == 0

    status = json.loads(weft(name, "status", "--json").stdout)
    assert [h["ovsdb_target"] for h in status["hosts"]] == [
        "tcp:198.18.0.1:6640", "tcp:198.18.0.2:6640"
    ]
    assert all(all(h["daemons"].values()) for h in status["hosts"])

    # exec in a host reaches that host's own daemons with plain ovs-vsctl
    made = weft(name, "exec", "host1", "--", "ovs-vsctl", "add-br", "br-int",
                "--", "set", "Bridge", "br-int", "datapath_type=netdev", "fail_mode=secure")
    assert made.returncode == 0, made.stderr
    attached = weft(name, "attach", "p1", "--host", "host1", "--mac", "02:00:00:00:00:01",
                    "--ip", "198.51.100.1/24", "--ip", "fd00::1/64")
    assert attached.returncode == 0, attached.stderr

    # exec passes stdin, stdout and the exit status through
    ran = weft(name, "exec", "p1", "--", "sh", "-c", "cat; ip -br addr show eth0; exit 3",
               input="through stdin\n")
    assert ran.returncode == 3
    assert ran.stdout.startswith("through stdin\n")
    assert "198.51.100.1/24" in ran.stdout and "fd00::1/64" in ran.stdout

    status = json.loads(weft(name, "status", "--json").stdout)
    assert status["hosts"][0]["ports"] == ["c1"]
    assert [(c["port"], c["plugged"]) for c in status["containers"]] == [("p1", True)]

    assert weft(name, "detach", "p1").returncode == 0
    assert Lab(name).containers == []
    assert Lab(name).vsctl("host1", "list-ports", "br-int") == ""

    assert weft(name, "down").returncode == 0
    assert leftovers(name) == []


def test_cli_name_option_and_errors(name):
    up = subprocess.run([WEFT, "lab", "up", "--hosts", "1", "--name", name],
                        capture_output=True, text=True, timeout=60)
    assert up.returncode == 0, up.stderr
    assert Lab(name).is_up
    refused = weft(name, "attach", "p1", "--host", "host1", "--mac", "02:00:00:00:00:01",
                   "--ip", "198.51.100.1/24")
    assert refused.returncode == 1 and "host1 has no br-int yet" in refused.stderr
    unknown = weft(name, "exec", "nobody", "--", "true")
    assert unknown.returncode == 1 and "no container with port 'nobody'" in unknown.stderr
    old_vswitchd = Lab(name).host("host1").pidfile("ovs-vswitchd").read_text()
    restarted = weft(name, "restart", "host1", "--vswitchd-only")
    assert restarted.returncode == 0, restarted.stderr
    assert Lab(name).host("host1").pidfile("ovs-vswitchd").read_text() != old_vswitchd
