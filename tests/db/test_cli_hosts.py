"""`weft host`: add, del, list, show; refused inputs leave the database as it was; a race lost
on a unique constraint is a message too."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text, update

from models import tables as t
from models.db import make_engine
from models.identity import datapath_id_for

pytestmark = pytest.mark.postgres

HOST_A = ("host", "add", "host-a", "--ovsdb", "tcp:198.18.0.1:6640", "--tunnel-ip", "203.0.113.1")


def test_datapath_ids_are_stable_prefixed_and_below_2_63():
    ids = {datapath_id_for(f"host-{n}") for n in range(1000)}
    assert len(ids) == 1000
    assert all(i >> 48 == 0x5746 and i < 2**63 for i in ids)
    assert datapath_id_for("host-a") == 0x5746_01D0_232B_685E  # the same in every process


def test_add_list_show(weft):
    assert weft.ok(*HOST_A).startswith('added host "host-a"')
    weft.ok("host", "add", "host-b", "--ovsdb", "unix:/run/b/db.sock",
            "--tunnel-ip", "203.0.113.2", "--datapath", "system")
    hosts = weft.json("host", "list")
    assert [h["name"] for h in hosts] == ["host-a", "host-b"]
    assert hosts[0] == {
        "name": "host-a",
        "datapath_id": f"{datapath_id_for('host-a'):016x}",
        "datapath_type": "netdev",
        "ovsdb_target": "tcp:198.18.0.1:6640",
        "tunnel_ip": "203.0.113.1",
        "state": "pending",
        "state_reason": None,
        "last_seen": None,
        "switch": None,
        "bound_ports": 0,
    }
    assert hosts[1]["datapath_type"] == "system"
    shown = weft.json("host", "show", "host-b")
    assert shown == hosts[1] | {"ports": [], "tunnels": []}
    assert "host-a" in weft.ok("host", "list") and "unix:/run/b/db.sock" in weft.ok(
        "host", "show", "host-b"
    )


def test_list_shows_datapaths_that_match_no_host_as_unknown(weft, engine):
    weft.ok(*HOST_A)
    stranger = 0x1234
    with engine.begin() as db:  # as the controller records connections
        db.execute(insert(t.Switch), [
            {"datapath_id": datapath_id_for("host-a"), "connected": True, "flows": 12,
             "address": "198.18.0.1"},
            {"datapath_id": stranger, "connected": True, "flows": None, "address": "198.18.0.99"},
        ])
    hosts = weft.json("host", "list")
    assert hosts[0]["switch"]["connected"] is True and hosts[0]["switch"]["flows"] == 12
    assert hosts[1]["name"] is None
    assert hosts[1]["state"] == "unknown"
    assert hosts[1]["datapath_id"] == "0000000000001234"
    assert hosts[1]["switch"]["address"] == "198.18.0.99"
    assert "0000000000001234" in weft.ok("host", "list")


def test_del_unbinds_the_hosts_ports_and_drops_its_tunnels(weft, engine):
    weft.ok(*HOST_A)
    weft.ok("host", "add", "host-b", "--ovsdb", "tcp:198.18.0.2:6640", "--tunnel-ip",
            "203.0.113.2")
    weft.ok("network", "create", "blue", "--cidr", "198.51.100.0/24")
    weft.ok("port", "create", "web-1", "--network", "blue")
    with engine.begin() as db:  # as the controller binds ports and records tunnels
        a, b = db.execute(select(t.Host.id).order_by(t.Host.name)).scalars()
        db.execute(update(t.Port).values(host_id=a, ofport=3, state="bound"))
        db.execute(insert(t.Tunnel), [{"host_id": a, "peer_id": b}, {"host_id": b, "peer_id": a}])
    assert weft.json("host", "show", "host-a")["ports"] == [
        {"name": "web-1", "network": "blue", "ofport": 3}
    ]
    assert weft.ok("host", "del", "host-a") == 'deleted host "host-a" (1 ports unbound)\n'
    port = weft.json("port", "show", "web-1")
    assert (port["state"], port["host"], port["ofport"]) == ("unbound", None, None)
    assert weft.json("host", "show", "host-b")["tunnels"] == []
    assert [h["name"] for h in weft.json("host", "list")] == ["host-b"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (HOST_A, 'NAME: a host named "host-a" already exists'),
        (("host", "add", "host-b", "--ovsdb", "tcp:198.18.0.1:6640", "--tunnel-ip",
          "203.0.113.2"), '--ovsdb: tcp:198.18.0.1:6640 is already the OVSDB target of host '
         '"host-a"'),
        (("host", "add", "host-b", "--ovsdb", "tcp:198.18.0.2:6640", "--tunnel-ip",
          "203.0.113.1"), '--tunnel-ip: 203.0.113.1 is already the tunnel IP of host "host-a"'),
        (("host", "add", "host b", "--ovsdb", "tcp:198.18.0.2:6640", "--tunnel-ip",
          "203.0.113.2"), "NAME: 'host b' is not a valid name"),
        (("host", "add", "host-b", "--ovsdb", "198.18.0.2:6640", "--tunnel-ip", "203.0.113.2"),
         "--ovsdb: '198.18.0.2:6640' is not an OVSDB target"),
        (("host", "add", "host-b", "--ovsdb", "tcp:198.18.0.2:99999", "--tunnel-ip",
          "203.0.113.2"), "--ovsdb: 'tcp:198.18.0.2:99999' is not an OVSDB target"),
        (("host", "add", "host-b", "--ovsdb", "tcp:198.18.0.2:6640", "--tunnel-ip",
          "203.0.113.300"), "--tunnel-ip: '203.0.113.300' is not an IP address"),
        (("host", "add", "host-b", "--ovsdb", "tcp:198.18.0.2:6640", "--tunnel-ip",
          "239.1.1.1"), "--tunnel-ip: 239.1.1.1 is not a unicast address"),
        (("host", "del", "host-z"), 'NAME: no host named "host-z"'),
        (("host", "show", "host-z"), 'NAME: no host named "host-z"'),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(weft, args, message):
    weft.ok(*HOST_A)
    assert weft.refused(*args).startswith(f"error: {message}")


def test_an_equal_ovsdb_target_written_differently_is_still_a_duplicate(weft):
    weft.ok("host", "add", "v6", "--ovsdb", "tcp:[2001:db8::1]:6640", "--tunnel-ip",
            "203.0.113.1")
    message = weft.refused("host", "add", "v6b", "--ovsdb", "tcp:[2001:0db8:0::1]:6640",
                           "--tunnel-ip", "203.0.113.2")
    assert message == 'error: --ovsdb: tcp:[2001:db8::1]:6640 is already the OVSDB target of ' \
        'host "v6"'


def test_a_race_lost_on_a_unique_constraint_is_a_message_not_a_traceback(
    migrated_postgres_url,
):
    """Another writer inserts host-a and has not committed when `weft host add host-a` checks
    the name; the command's INSERT then waits on the unique index, and fails when the other
    transaction commits. It must say so like any other refusal."""
    engine = make_engine(migrated_postgres_url)
    weft_bin = Path(sys.executable).with_name("weft")
    try:
        with engine.connect() as other:
            other.execute(insert(t.Host).values(
                name="host-a", ovsdb_target="unix:/other.sock", tunnel_ip="203.0.113.9",
                datapath_id=datapath_id_for("host-a"),
            ))
            command = subprocess.Popen(
                [str(weft_bin), *HOST_A, "--database-url", migrated_postgres_url],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            _wait_for_a_session_waiting_on_a_lock(engine)
            other.commit()
        stdout, stderr = command.communicate(timeout=60)
    finally:
        engine.dispose()
    assert (command.returncode, stdout) == (1, "")
    # The name's unique index or the datapath id's (same name, same id) catches it first.
    assert stderr.startswith("error: NAME: another host with this name")
    assert stderr.endswith("was just added\n") and stderr.count("\n") == 1


def _wait_for_a_session_waiting_on_a_lock(engine, limit: float = 60.0) -> None:
    """Poll pg_stat_activity until some session waits on a lock (an upper bound, not a
    timing assertion: the command normally gets there in well under a second)."""
    deadline = time.monotonic() + limit
    query = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    while time.monotonic() < deadline:
        with engine.connect() as probe:
            if probe.execute(query).scalar():
                return
        time.sleep(0.05)
    raise AssertionError("the command never blocked on the uncommitted row")
