"""`weft trace`, `weft audit` and status's MTU warnings through the command line, on the
three-host cluster of test_cli_common (no switches: --installed and audit find no
controller, on a loopback port where nothing listens)."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from models import tables as t
from models.db import make_engine

pytestmark = pytest.mark.postgres

NOBODY = "http://127.0.0.1:9"  # loopback, nothing listening: refused at once


def test_trace_prints_each_host_and_the_verdict(cluster):
    out = cluster.ok("trace", "--from", "blue-1", "--to", "blue-2")
    lines = out.splitlines()
    assert lines[1] == "host-1: in from port blue-1 (ofport 11)"
    assert "host-2: in from tunnel from host-1 (ofport 101)" in lines
    assert lines[-1] == "verdict: delivered: to port blue-2 (ofport 12) on host-2"
    dropped = cluster.json("trace", "--from", "blue-1", "--to", "red-1", "--proto", "udp",
                           "--dport", "53")
    assert dropped["verdict"] == "dropped" and "in network red" in dropped["reason"]
    assert dropped["packet"]["ip_proto"] == "17"


def test_trace_refusals_name_the_option(cluster):
    assert cluster.refused("trace", "--from", "blue-3", "--to", "blue-1") == (
        "error: --from: port blue-3 is not bound to a host (no container)")
    assert cluster.refused("trace", "--from", "blue-1", "--to", "198.51.100.250") == (
        "error: --to: no port of network blue has the address 198.51.100.250: "
        "ARP would go unanswered")
    assert cluster.refused("trace", "--from", "blue-1", "--to", "blue-2", "--installed",
                           "--controller", NOBODY).startswith(
        f"error: --controller: cannot reach the controller at {NOBODY}")


def test_audit_without_a_controller_says_so_for_every_host(cluster):
    result = cluster.run("audit", "--controller", NOBODY)
    assert result.exit_code == 3
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [
        "host-1", "host-2", "host-3"]
    assert "cannot audit: cannot reach the controller" in result.stdout
    assert cluster.refused("audit", "--host", "nobody") == "error: --host: no host named 'nobody'"


def test_status_names_an_interface_mtu_above_its_networks(cluster):
    engine = make_engine(cluster.url)
    with engine.begin() as db:
        db.execute(update(t.Port).where(t.Port.name == "blue-1").values(mtu=1500))
        db.execute(update(t.Port).where(t.Port.name == "blue-2").values(mtu=1450))
    engine.dispose()
    report = cluster.json("status")
    assert report["warnings"] == [
        'port "blue-1" on host-1: interface MTU 1500 exceeds network "blue"\'s 1450']
    assert report["healthy"] is True
    assert "warnings:\n  port \"blue-1\" on host-1" in cluster.ok("status")
