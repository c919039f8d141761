"""Status: is everything up? One report of the controllers, hosts, switches, ports and tunnels.

It reads what the running pieces write: the controller's heartbeat (`controllers.last_seen`,
every 2 s) and its switches (`switches.connected`, `switches.flows`), the OVSDB manager's view
of each host (`hosts.state`, `state_reason`, `last_seen`), port bindings and tunnel states.
Something is down when no controller has a fresh heartbeat, a host is not connected (OVSDB)
or its switch is not (OpenFlow), or a tunnel is down. Unbound ports are normal (no container
plugged in yet) and so are tunnels in state "unknown" (no BFD verdict yet): reported, not
counted as down.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from models import tables as t
from models.identity import datapath_id_text
from northbound.records import as_utc, timestamp

# Three heartbeats of controller/status.py: one late write is not an outage.
CONTROLLER_FRESH = dt.timedelta(seconds=6)


def _controllers(session: Session, now: dt.datetime) -> list[dict]:
    return [
        {
            "hostname": c.hostname,
            "pid": c.pid,
            "version": c.version,
            "started_at": timestamp(c.started_at),
            "last_seen": timestamp(c.last_seen),
            "up": now - as_utc(c.last_seen) <= CONTROLLER_FRESH,
        }
        for c in session.scalars(select(t.Controller).order_by(t.Controller.id))
    ]


def _hosts(session: Session, switches: dict[int, t.Switch]) -> list[dict]:
    records = []
    for host in session.scalars(select(t.Host).order_by(t.Host.name)):
        switch = switches.pop(host.datapath_id, None)
        connected = None if switch is None else switch.connected
        records.append({
            "name": host.name,
            "state": host.state,
            "state_reason": host.state_reason,
            "last_seen": timestamp(host.last_seen),
            "switch_connected": connected,
            "flows": None if switch is None else switch.flows,
            "up": host.state == "connected" and bool(connected),
        })
    return records


def _tunnels(session: Session) -> list[dict]:
    host, peer = aliased(t.Host), aliased(t.Host)
    rows = session.execute(
        select(host.name, peer.name, t.Tunnel.status, t.Tunnel.ofport)
        .join(host, host.id == t.Tunnel.host_id)
        .join(peer, peer.id == t.Tunnel.peer_id)
        .order_by(host.name, peer.name)
    )
    return [{"host": h, "peer": p, "status": s, "ofport": o} for h, p, s, o in rows]


def _mtu_warnings(session: Session) -> list[str]:
    """Bound ports whose interface MTU (as OVSDB reports it) exceeds their network's."""
    rows = session.execute(
        select(t.Port.name, t.Host.name, t.Network.name, t.Port.mtu, t.Network.mtu)
        .join(t.Network, t.Network.id == t.Port.network_id)
        .join(t.Host, t.Host.id == t.Port.host_id)
        .where(t.Port.mtu > t.Network.mtu)
        .order_by(t.Port.name)
    )
    return [
        f'port "{port}" on {host}: interface MTU {mtu} exceeds network "{network}"\'s {limit}'
        for port, host, network, mtu, limit in rows
    ]


def _problems(report: dict) -> list[str]:
    problems = []
    if not any(c["up"] for c in report["controllers"]):
        problems.append(
            f"no controller heartbeat in the last {CONTROLLER_FRESH.seconds} s"
            " (is `weft controller` running?)"
        )
    for host in report["hosts"]:
        if host["state"] != "connected":
            reason = f": {host['state_reason']}" if host["state_reason"] else ""
            problems.append(f'host "{host["name"]}" is {host["state"]} (OVSDB){reason}')
        elif not host["switch_connected"]:
            problems.append(f'host "{host["name"]}": its switch is not connected (OpenFlow)')
    problems += [
        f"tunnel {x['host']} -> {x['peer']} is down"
        for x in report["tunnels"]
        if x["status"] == "down"
    ]
    return problems


def cluster_status(session: Session, now: dt.datetime | None = None) -> dict:
    now = now or dt.datetime.now(dt.UTC)
    switches = {s.datapath_id: s for s in session.scalars(select(t.Switch))}
    report: dict[str, Any] = {
        "controllers": _controllers(session, now),
        "hosts": _hosts(session, switches),
        "unknown_datapaths": [
            {"datapath_id": datapath_id_text(s.datapath_id), "address": s.address,
             "connected": s.connected}
            for _, s in sorted(switches.items())
        ],
        "ports": dict.fromkeys(t.PORT_STATES, 0)
        | dict(session.execute(select(t.Port.state, func.count()).group_by(t.Port.state)).all()),
        "tunnels": _tunnels(session),
    }
    report["tunnel_counts"] = dict.fromkeys(t.TUNNEL_STATES, 0) | Counter(
        x["status"] for x in report["tunnels"]
    )
    report["problems"] = _problems(report)
    report["warnings"] = _mtu_warnings(session)
    return {"healthy": not report["problems"], **report}
