"""What the hosts' OVSDBs show, written to the database: health, port bindings, tunnels.

Agents report each host's observed state (`HostReport`) whenever it changes; this thread
folds whatever arrived into one database transaction, and writes only rows that differ from
what the database holds. It reads before it writes, so it is right after a restart or when
someone else (`weft host delete`) changed rows meanwhile.

Binding rules:
- an interface on br-int whose `external_ids:iface-id` names a port binds that port to the
  host with the interface's ofport; when the interface goes, the port is unbound, but only
  if it is still bound to that host;
- if two connected hosts both have an interface for one port, the port stays where it is
  bound (else goes to the lowest host id), so two hosts never take it from each other in turn;
- an iface-id that names no port is recorded in `stray_interfaces`, and bound as soon as the
  port appears (`ports_changed`, from the reconciler);
- a disconnected host's bindings stay as they are: its containers still run;
- a bound port records its interface's MTU (`ports.mtu`); one above its network's MTU is
  logged as a warning when written, and named by `weft status`.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Engine, Row, Table, bindparam, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from models import tables as t
from models.types import utcnow

log = logging.getLogger(__name__)

# The tables themselves, for bulk statements (a mapped class's __table__ is typed FromClause).
PORTS = cast(Table, t.Port.__table__)
STRAYS = cast(Table, t.StrayInterface.__table__)
TUNNELS = cast(Table, t.Tunnel.__table__)
HOSTS = cast(Table, t.Host.__table__)


@dataclass(frozen=True)
class TunnelState:
    ofport: int | None
    status: str  # "up", "down" or "unknown" (BFD has not said yet)


@dataclass(frozen=True)
class HostReport:
    """One host as its agent sees it. `interfaces` ({iface-id: ofport}) and `tunnels`
    ({peer host id: TunnelState}) are None when unknown (the host is not connected)."""

    host_id: int
    connected: bool
    reason: str | None = None
    interfaces: Mapping[str, int] | None = None
    tunnels: Mapping[int, TunnelState] | None = None
    mtus: Mapping[str, int] | None = None  # {iface-id: interface MTU}, where OVS reports one


class BindingWriter(threading.Thread):
    """Writes HostReports in batches. A batch runs at least every `heartbeat` seconds and
    refreshes the `last_seen` of each connected host that is `heartbeat` old, so it is never
    older than twice that: an older value means the manager lost track of the host."""

    def __init__(self, engine: Engine, heartbeat: float = 15.0) -> None:
        super().__init__(name="ovsdb-bindings", daemon=True)
        self._engine = engine
        self._stopping = threading.Event()
        self._heartbeat = dt.timedelta(seconds=heartbeat)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending: dict[int, HostReport] = {}
        self._rebind = False
        # The reports last written, per host: what bindings are computed from.
        self._latest: dict[int, HostReport] = {}

    # ------------------------------------------------------------ inputs (any thread)

    def report(self, report: HostReport) -> None:
        with self._lock:
            self._pending[report.host_id] = report
        self._wake.set()

    def ports_changed(self) -> None:
        """Ports were created or deleted: strays may bind, bindings may go."""
        with self._lock:
            self._rebind = True
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    # ------------------------------------------------------------ the thread

    def run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._heartbeat.total_seconds())
            self._wake.clear()
            if not self.flush():
                self._stopping.wait(1.0)
                self._wake.set()

    def flush(self) -> bool:
        """Write what is pending now, in one transaction; False (and kept for the next
        attempt) if that failed. Runs on the writer's thread, or in a test's."""
        with self._lock:
            pending, self._pending = self._pending, {}
            rebind, self._rebind = self._rebind, False
        try:
            self._write(pending, rebind)
        except Exception:
            log.exception("could not record what the hosts' OVSDBs show; will retry")
            with self._lock:
                self._pending = {**pending, **self._pending}
                self._rebind = self._rebind or rebind
            return False
        return True

    def _write(self, pending: dict[int, HostReport], rebind: bool) -> None:
        now = utcnow()
        with Session(self._engine) as session, session.begin():
            hosts = {
                row.id: row
                for row in session.execute(
                    select(t.Host.id, t.Host.state, t.Host.state_reason, t.Host.last_seen)
                )
            }
            latest = {
                h: r for h, r in {**self._latest, **pending}.items() if h in hosts
            }
            _write_health(session, hosts, latest, now, self._heartbeat)
            if rebind or any(
                (old := self._latest.get(h, HostReport(h, False))).interfaces != r.interfaces
                or old.mtus != r.mtus
                for h, r in pending.items()
            ):
                _write_bindings(session, latest, now)
            _write_tunnels(
                session, [r for r in pending.values() if r.host_id in hosts], set(hosts), now
            )
        # Deleted hosts drop out here (and their late reports at the next batch).
        self._latest = latest


# ---------------------------------------------------------------- health


def _write_health(
    session: Session,
    hosts: Mapping[int, Row],
    reports: Mapping[int, HostReport],
    now: dt.datetime,
    heartbeat: dt.timedelta,
) -> None:
    """`hosts`: id -> (id, state, state_reason, last_seen) as read."""
    changes = []
    for host_id, report in reports.items():
        row = hosts[host_id]
        state = "connected" if report.connected else "disconnected"
        stale = report.connected and (row.last_seen is None or now - row.last_seen >= heartbeat)
        if (row.state, row.state_reason) != (state, report.reason) or stale:
            last_seen = now if report.connected else row.last_seen
            changes.append(
                {"b_id": row.id, "state": state, "state_reason": report.reason,
                 "last_seen": last_seen}
            )
    if changes:
        session.execute(
            update(HOSTS).where(HOSTS.c.id == bindparam("b_id")), changes
        )


# ---------------------------------------------------------------- bindings


def _write_bindings(session: Session, reports: Mapping[int, HostReport], now: dt.datetime) -> None:
    """Bind, move, unbind ports and record strays from the interfaces of connected hosts."""
    known = {h: r.interfaces for h, r in reports.items() if r.interfaces is not None}
    claims: dict[str, dict[int, int]] = {}  # iface-id -> {host id: ofport}
    for host_id, interfaces in known.items():
        for iface_id, ofport in interfaces.items():
            claims.setdefault(iface_id, {})[host_id] = ofport
    ports = session.execute(
        select(
            PORTS.c.id, PORTS.c.name, PORTS.c.host_id, PORTS.c.ofport, PORTS.c.mtu,
            t.Network.name.label("network"), t.Network.mtu.label("network_mtu"),
        )
        .join(t.Network, t.Network.id == PORTS.c.network_id)
        .where(or_(PORTS.c.name.in_(claims), PORTS.c.host_id.in_(known)))
    ).all()
    binds, unbinds, mtus = [], [], []
    for port in ports:
        claimants = claims.get(port.name, {})
        if port.host_id in claimants:
            target = (port.host_id, claimants[port.host_id])
        elif claimants:
            host_id = min(claimants)
            target = (host_id, claimants[host_id])
        elif port.host_id in known:
            target = None  # its interface went from the host it is bound to
        else:
            continue  # bound to a host we cannot see now (or not bound): leave it
        if target is None:
            unbinds.append({"b_id": port.id, "b_host": port.host_id})
            continue
        mtu = (reports[target[0]].mtus or {}).get(port.name)
        if target != (port.host_id, port.ofport):
            binds.append({"b_id": port.id, "host_id": target[0], "ofport": target[1], "mtu": mtu})
        elif mtu != port.mtu:
            mtus.append({"b_id": port.id, "mtu": mtu})
        if mtu is not None and mtu > port.network_mtu and mtu != port.mtu:
            log.warning("port %s: its interface's MTU %d exceeds network %s's %d",
                        port.name, mtu, port.network, port.network_mtu)
    if binds:
        session.execute(
            update(PORTS)
            .where(PORTS.c.id == bindparam("b_id"))
            .values(state="bound", bound_at=now),
            binds,
        )
    if mtus:
        session.execute(update(PORTS).where(PORTS.c.id == bindparam("b_id")), mtus)
    if unbinds:
        session.execute(
            update(PORTS)
            .where(PORTS.c.id == bindparam("b_id"), PORTS.c.host_id == bindparam("b_host"))
            .values(host_id=None, ofport=None, mtu=None, state="unbound", bound_at=None),
            unbinds,
        )
    port_names = {port.name for port in ports}
    strays = {
        (host_id, iface_id): ofport
        for iface_id, hosts in claims.items()
        if iface_id not in port_names
        for host_id, ofport in hosts.items()
    }
    recorded = session.execute(
        select(STRAYS.c.host_id, STRAYS.c.iface_id, STRAYS.c.ofport).where(
            STRAYS.c.host_id.in_(known)
        )
    )
    _write_rows(
        session, STRAYS, ("host_id", "iface_id"), strays,
        have={(row.host_id, row.iface_id): row.ofport for row in recorded},
        values=lambda ofport: {"ofport": ofport, "seen_at": now},
    )


# ---------------------------------------------------------------- tunnels


def _write_tunnels(
    session: Session, reports: list[HostReport], hosts: set[int], now: dt.datetime
) -> None:
    reported = [r for r in reports if r.tunnels is not None]
    if not reported:
        return
    observed = {
        (r.host_id, peer_id): (state.ofport, state.status)
        for r in reported
        for peer_id, state in (r.tunnels or {}).items()  # each reported one has them
        if peer_id in hosts
    }
    recorded = session.execute(
        select(TUNNELS.c.host_id, TUNNELS.c.peer_id, TUNNELS.c.ofport, TUNNELS.c.status).where(
            TUNNELS.c.host_id.in_([r.host_id for r in reported])
        )
    )
    _write_rows(
        session, TUNNELS, ("host_id", "peer_id"), observed,
        have={(row.host_id, row.peer_id): (row.ofport, row.status) for row in recorded},
        values=lambda state: {"ofport": state[0], "status": state[1], "updated_at": now},
    )


# ---------------------------------------------------------------- shared


def _write_rows(
    session: Session, table, key: tuple[str, str], wanted: dict, have: dict, values
) -> None:
    """Make the rows `have` ({(key0, key1): value}, as read) equal to `wanted`: insert,
    update and delete only what differs. `values` turns a value into the columns to write."""
    inserts = [
        {key[0]: k[0], key[1]: k[1], **values(v)} for k, v in wanted.items() if k not in have
    ]
    updates = [
        {"b_0": k[0], "b_1": k[1], **values(v)}
        for k, v in wanted.items()
        if k in have and have[k] != v
    ]
    deletes = [{"b_0": k[0], "b_1": k[1]} for k in have if k not in wanted]
    where = (table.c[key[0]] == bindparam("b_0"), table.c[key[1]] == bindparam("b_1"))
    if inserts:
        session.execute(insert(table), inserts)
    if updates:
        session.execute(update(table).where(*where), updates)
    if deletes:
        session.execute(delete(table).where(*where), deletes)
