"""On PostgreSQL every row change of a watched table is announced on `weft_changes`.

The controller LISTENs there (controller/changes.py) and reloads what a message names, so the
payload is checked field by field for every watched table and every kind of change.
"""

from __future__ import annotations

import json

import psycopg
import pytest
from sqlalchemy import delete, insert, update

from models import tables as t
from models.db import make_engine

pytestmark = pytest.mark.postgres

CHANNEL = "weft_changes"
WAIT_SECONDS = 30  # an upper bound on waiting for delivery, not a timing assertion


@pytest.fixture
def listener(migrated_postgres_url):
    with psycopg.connect(migrated_postgres_url, autocommit=True) as connection:
        connection.execute(f"LISTEN {CHANNEL}")
        yield connection


@pytest.fixture
def engine(migrated_postgres_url):
    engine = make_engine(migrated_postgres_url)
    yield engine
    engine.dispose()


def received(listener, count: int) -> list[dict]:
    """The next `count` messages (fewer only if they do not come within WAIT_SECONDS)."""
    notifications = list(listener.notifies(timeout=WAIT_SECONDS, stop_after=count))
    assert {n.channel for n in notifications} <= {CHANNEL}
    return [json.loads(n.payload) for n in notifications]


def change(table: str, op: str, row_id, network_id=None) -> dict:
    return {"table": table, "op": op, "id": row_id, "network_id": network_id}


def test_inserts_into_every_watched_table_are_notified(engine, listener):
    with engine.begin() as db:
        db.execute(insert(t.Host), [_host(1), _host(2)])
        db.execute(insert(t.Network).values(id=10, name="blue", vni=100))
        db.execute(insert(t.Subnet).values(id=20, network_id=10, cidr="198.51.100.0/24"))
        db.execute(
            insert(t.Port).values(
                id=30,
                network_id=10,
                name="blue-1",
                mac="02:00:00:00:00:01",
                host_id=1,
                ofport=7,
                state="bound",
            )
        )
        db.execute(
            insert(t.PortAddress).values(
                id=40,
                port_id=30,
                network_id=10,
                subnet_id=20,
                cidr="198.51.100.0/24",
                address="198.51.100.10",
            )
        )
        db.execute(insert(t.MulticastGroup).values(id=50, network_id=10, address="239.1.1.1"))
        db.execute(
            insert(t.GroupMember).values(group_id=50, port_id=30, origin="static", network_id=10)
        )
        db.execute(insert(t.Tunnel).values(id=60, host_id=1, peer_id=2, ofport=3))

    assert received(listener, 9) == [
        change("hosts", "INSERT", 1),
        change("hosts", "INSERT", 2),
        change("networks", "INSERT", 10, network_id=10),
        change("subnets", "INSERT", 20, network_id=10),
        change("ports", "INSERT", 30, network_id=10),
        change("port_addresses", "INSERT", 40, network_id=10),
        change("multicast_groups", "INSERT", 50, network_id=10),
        change(
            "group_members",
            "INSERT",
            {"group_id": 50, "port_id": 30, "origin": "static"},
            network_id=10,
        ),
        change("tunnels", "INSERT", 60),
    ]


def test_updates_and_deletes_are_notified(engine, listener):
    with engine.begin() as db:
        db.execute(insert(t.Network).values(id=10, name="blue", vni=100))
    received(listener, 1)

    with engine.begin() as db:
        db.execute(update(t.Network).where(t.Network.id == 10).values(mtu=1400))
    assert received(listener, 1) == [change("networks", "UPDATE", 10, network_id=10)]

    with engine.begin() as db:
        db.execute(delete(t.Network).where(t.Network.id == 10))
    assert received(listener, 1) == [change("networks", "DELETE", 10, network_id=10)]


def test_a_row_moving_to_another_network_tells_both_networks(engine, listener):
    with engine.begin() as db:
        db.execute(
            insert(t.Network), [dict(id=10, name="blue", vni=100), dict(id=11, name="red", vni=200)]
        )
        db.execute(insert(t.Port).values(id=30, network_id=10, name="p", mac="02:00:00:00:00:01"))
    received(listener, 3)

    with engine.begin() as db:
        db.execute(update(t.Port).where(t.Port.id == 30).values(network_id=11))
    assert received(listener, 2) == [
        change("ports", "UPDATE", 30, network_id=11),
        change("ports", "UPDATE", 30, network_id=10),
    ]


def test_nothing_is_notified_for_an_unwatched_table(engine, listener):
    with engine.begin() as db:
        db.execute(insert(t.Switch).values(datapath_id=1))
    with engine.begin() as db:
        db.execute(insert(t.Network).values(id=10, name="blue", vni=100))
    # Had the switch been announced, its message would have come first.
    assert received(listener, 1) == [change("networks", "INSERT", 10, network_id=10)]


def _host(number: int) -> dict:
    return dict(
        id=number,
        name=f"host-{number}",
        ovsdb_target=f"unix:/run/weft-test/{number}.sock",
        tunnel_ip=f"203.0.113.{number}",
        datapath_id=number,
    )
