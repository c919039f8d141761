"""What the agents report, written to PostgreSQL: health, bindings, strays and tunnels.

The writer runs without its thread here: `flush()` writes what is pending, in the test's
thread, so every test states what was reported and checks the rows that result. Every
statement that writes is recorded (`writes`), to check that unchanged reports write nothing.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from models import tables as t
from models.db import make_engine
from ovsdb.bindings import BindingWriter, HostReport, TunnelState

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine(migrated_postgres_url):
    engine = make_engine(migrated_postgres_url)
    with Session(engine) as session, session.begin():
        for i in (1, 2, 3):
            session.add(t.Host(id=i, name=f"host{i}", ovsdb_target=f"tcp:198.18.0.{i}:6640",
                               tunnel_ip=f"203.0.113.{i}", datapath_id=i))
        session.add(t.Network(id=1, name="blue", vni=100))
        session.flush()
        for i, name in enumerate(("web", "db"), 1):
            session.add(t.Port(id=i, name=name, network_id=1, mac=f"02:00:00:00:00:0{i}"))
    yield engine
    engine.dispose()


@pytest.fixture
def writes(engine) -> list[str]:
    """The INSERT, UPDATE and DELETE statements run, in order (executemany counts once)."""
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.split(None, 1)[0] in ("INSERT", "UPDATE", "DELETE"):
            statements.append(statement.split(None, 3)[:3])

    return statements


def connected(host_id: int, interfaces=None, tunnels=None) -> HostReport:
    return HostReport(host_id, True, None, interfaces or {}, tunnels or {})


def flushed(writer: BindingWriter, *reports: HostReport, rebind: bool = False) -> None:
    for report in reports:
        writer.report(report)
    if rebind:
        writer.ports_changed()
    assert writer.flush()


def bindings(engine) -> dict[str, tuple]:
    with Session(engine) as session:
        rows = session.execute(select(t.Port.name, t.Port.state, t.Port.host_id, t.Port.ofport))
        return {row.name: tuple(row)[1:] for row in rows}


def strays(engine) -> dict[tuple[int, str], int | None]:
    with Session(engine) as session:
        rows = session.execute(select(t.StrayInterface))
        return {(s.host_id, s.iface_id): s.ofport for s in rows.scalars()}


def tunnels(engine) -> dict[tuple[int, int], tuple]:
    with Session(engine) as session:
        rows = session.execute(select(t.Tunnel)).scalars()
        return {(r.host_id, r.peer_id): (r.ofport, r.status) for r in rows}


def health(engine, host_id: int) -> t.Host:
    with Session(engine) as session:
        return session.get(t.Host, host_id)


# ---------------------------------------------------------------- health


def test_health_is_recorded_with_its_reason_and_last_seen(engine):
    writer = BindingWriter(engine)
    flushed(writer, connected(1), HostReport(2, False, "connection refused"))

    one, two = health(engine, 1), health(engine, 2)
    assert (one.state, one.state_reason) == ("connected", None)
    assert one.last_seen is not None
    assert (two.state, two.state_reason, two.last_seen) == (
        "disconnected", "connection refused", None,
    )
    assert health(engine, 3).state == "pending"

    flushed(writer, HostReport(1, False, "connection lost"))
    gone = health(engine, 1)
    assert (gone.state, gone.state_reason, gone.last_seen) == (
        "disconnected", "connection lost", one.last_seen,
    )


def test_last_seen_of_a_connected_host_is_refreshed_after_the_heartbeat(engine, writes):
    writer = BindingWriter(engine, heartbeat=60)
    flushed(writer, connected(1))
    first = health(engine, 1).last_seen
    writes.clear()

    assert writer.flush()
    assert writes == []

    with Session(engine) as session, session.begin():
        old = first - dt.timedelta(seconds=61)
        session.execute(update(t.Host).where(t.Host.id == 1).values(last_seen=old))
    assert writer.flush()
    assert health(engine, 1).last_seen > first


# ---------------------------------------------------------------- bindings


def test_an_interface_binds_its_port_and_unbinds_it_when_it_goes(engine):
    writer = BindingWriter(engine)
    flushed(writer, connected(1, {"web": 5}))
    assert bindings(engine)["web"] == ("bound", 1, 5)

    flushed(writer, connected(1, {"web": 8}))
    assert bindings(engine)["web"] == ("bound", 1, 8)

    flushed(writer, connected(1))
    assert bindings(engine)["web"] == ("unbound", None, None)


def test_unbinding_only_releases_a_port_still_bound_to_that_host(engine):
    writer = BindingWriter(engine)
    flushed(writer, connected(1, {"web": 5}), connected(2))
    flushed(writer, connected(1), connected(2, {"web": 6}))  # moved to host2
    assert bindings(engine)["web"] == ("bound", 2, 6)

    flushed(writer, connected(1))  # host1 still has no web
    assert bindings(engine)["web"] == ("bound", 2, 6)


def test_a_port_seen_on_two_hosts_stays_where_it_is_bound(engine):
    writer = BindingWriter(engine)
    flushed(writer, connected(2, {"web": 6}))
    flushed(writer, connected(1, {"web": 5}))
    assert bindings(engine)["web"] == ("bound", 2, 6)

    flushed(writer, connected(3, {"db": 4}), connected(1, {"web": 5, "db": 3}))
    assert bindings(engine)["db"] == ("bound", 1, 3)  # unbound before: lowest host id


def test_a_disconnected_host_keeps_its_bindings(engine):
    writer = BindingWriter(engine)
    flushed(writer, connected(1, {"web": 5}))

    flushed(writer, HostReport(1, False, "connection lost"))

    assert bindings(engine)["web"] == ("bound", 1, 5)


def test_an_unknown_iface_id_is_a_stray_until_its_port_appears(engine):
    writer = BindingWriter(engine)
    flushed(writer, connected(1, {"ghost": 9}))
    assert strays(engine) == {(1, "ghost"): 9}

    with Session(engine) as session, session.begin():
        session.add(t.Port(id=3, name="ghost", network_id=1, mac="02:00:00:00:00:09"))
    flushed(writer, rebind=True)

    assert bindings(engine)["ghost"] == ("bound", 1, 9)
    assert strays(engine) == {}

    flushed(writer, connected(1, {"other": 4}))
    assert strays(engine) == {(1, "other"): 4}
    assert bindings(engine)["ghost"] == ("unbound", None, None)


# ---------------------------------------------------------------- tunnels


def test_tunnels_are_recorded_updated_and_removed(engine):
    writer = BindingWriter(engine)
    flushed(writer, connected(1, tunnels={2: TunnelState(None, "unknown"),
                                          3: TunnelState(11, "down")}))
    assert tunnels(engine) == {(1, 2): (None, "unknown"), (1, 3): (11, "down")}

    flushed(writer, connected(1, tunnels={2: TunnelState(10, "up")}))
    assert tunnels(engine) == {(1, 2): (10, "up")}

    flushed(writer, HostReport(1, False, "connection lost"))  # unknown: kept
    assert tunnels(engine) == {(1, 2): (10, "up")}


def test_unchanged_reports_write_nothing(engine, writes):
    writer = BindingWriter(engine)
    report = connected(1, {"web": 5, "ghost": 9}, {2: TunnelState(10, "up")})
    flushed(writer, report)
    assert writes
    writes.clear()

    flushed(writer, report, rebind=True)

    assert writes == []


def test_reports_of_deleted_hosts_are_dropped(engine):
    writer = BindingWriter(engine)
    with Session(engine) as session, session.begin():
        session.execute(t.Host.__table__.delete().where(t.Host.id == 3))

    flushed(writer, connected(3, {"web": 5}, {1: TunnelState(4, "up")}),
            connected(1, tunnels={3: TunnelState(7, "up")}))

    assert bindings(engine)["web"] == ("unbound", None, None)
    assert tunnels(engine) == {}
