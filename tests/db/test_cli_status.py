"""`weft status`: what is up and what is down, and exit code 3 as soon as something is down."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, update

from models import tables as t

pytestmark = pytest.mark.postgres


def test_a_healthy_cluster_is_exit_0(cluster):
    report = cluster.json("status")
    assert report["healthy"] is True and report["problems"] == []
    assert [c["up"] for c in report["controllers"]] == [True]
    assert [(h["name"], h["up"], h["flows"]) for h in report["hosts"]] == [
        ("host-1", True, 20), ("host-2", True, 20), ("host-3", True, 20),
    ]
    assert report["ports"] == {"bound": 3, "unbound": 1}
    assert report["tunnel_counts"] == {"up": 6, "down": 0, "unknown": 0}
    assert {"host": "host-1", "peer": "host-2", "status": "up", "ofport": 102} in (
        report["tunnels"]
    )
    text = cluster.ok("status")
    assert "controller: up: ctl pid 4242" in text and "3 of 3 up" in text


def test_anything_down_is_exit_3_and_named(cluster, engine):
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    with engine.begin() as db:
        db.execute(update(t.Controller).values(last_seen=stale))
        db.execute(update(t.Host).where(t.Host.name == "host-2").values(
            state="disconnected", state_reason="connection refused"))
        host_3 = db.execute(select(t.Host.id, t.Host.datapath_id)
                            .where(t.Host.name == "host-3")).one()
        db.execute(update(t.Switch).where(t.Switch.datapath_id == host_3.datapath_id)
                   .values(connected=False))
        db.execute(update(t.Tunnel).where(t.Tunnel.host_id == host_3.id, t.Tunnel.ofport == 101)
                   .values(status="down"))
    result = cluster.run("status", "--json")
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    assert report["healthy"] is False
    assert report["problems"] == [
        "no controller heartbeat in the last 6 s (is `weft controller` running?)",
        'host "host-2" is disconnected (OVSDB): connection refused',
        'host "host-3": its switch is not connected (OpenFlow)',
        "tunnel host-3 -> host-1 is down",
    ]
    text = cluster.run("status")
    assert text.exit_code == 3
    assert "controller: DOWN" in text.stdout and "tunnel host-3 -> host-1 is down" in text.stdout


def test_a_datapath_of_no_host_is_reported_but_not_down(cluster, engine):
    with engine.begin() as db:
        db.execute(t.Switch.__table__.insert().values(
            datapath_id=0xABC, connected=True, flows=None, address="198.18.0.77"))
    report = cluster.json("status")
    assert report["healthy"] is True
    assert report["unknown_datapaths"] == [
        {"datapath_id": "0000000000000abc", "address": "198.18.0.77", "connected": True}
    ]
