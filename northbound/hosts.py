"""Hosts: the machines running Open vSwitch that Weft manages.

The OVSDB manager reaches a host at its OVSDB target and builds br-int and the VXLAN mesh
from its tunnel IP; br-int gets the datapath id `models.identity.datapath_id_for(name)`,
which is how the controller recognises the switch when it connects. Datapaths that connect
but match no host are listed too, with state "unknown" (from the controller's `switches`).
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.orm import Session, aliased

from models import tables as t
from models.identity import datapath_id_for, datapath_id_text
from northbound.errors import Conflict, InvalidInput
from northbound.inputs import check_name, parse_ovsdb_target, parse_tunnel_ip
from northbound.lookup import host_named, names_by_id
from northbound.records import timestamp


def add_host(
    session: Session, name: str, ovsdb: str, tunnel_ip: str, datapath_type: str = "netdev"
) -> t.Host:
    if datapath_type not in t.DATAPATH_TYPES:
        raise InvalidInput("datapath_type", f"{datapath_type!r} is not one of "
                           f"{', '.join(t.DATAPATH_TYPES)}")
    host = t.Host(
        name=check_name(name),
        ovsdb_target=parse_ovsdb_target(ovsdb),
        tunnel_ip=parse_tunnel_ip(tunnel_ip),
        datapath_type=datapath_type,
        datapath_id=datapath_id_for(name),
    )
    _check_unique(session, host)
    session.add(host)
    session.flush()
    return host


def _check_unique(session: Session, host: t.Host) -> None:
    if session.scalar(select(t.Host.id).where(t.Host.name == host.name)) is not None:
        raise Conflict("name", f'a host named "{host.name}" already exists')
    dpid = datapath_id_text(host.datapath_id)
    others = (
        ("ovsdb", t.Host.ovsdb_target, host.ovsdb_target, "is already the OVSDB target of"),
        ("tunnel_ip", t.Host.tunnel_ip, host.tunnel_ip, "is already the tunnel IP of"),
        ("name", t.Host.datapath_id, host.datapath_id, f"hashes to datapath id {dpid}, that of"),
    )
    for field, column, value, problem in others:
        other = session.scalar(select(t.Host.name).where(column == value))
        if other is not None:
            shown = host.name if column is t.Host.datapath_id else value
            raise Conflict(field, f'{shown} {problem} host "{other}"')


def delete_host(session: Session, name: str) -> int:
    """Delete host `name` and its tunnels; unbind its ports. Return how many were unbound."""
    host = host_named(session, name)
    unbound = cast(CursorResult, session.execute(
        update(t.Port)
        .where(t.Port.host_id == host.id)
        .values(host_id=None, ofport=None, state="unbound", bound_at=None)
    )).rowcount
    session.execute(delete(t.Host).where(t.Host.id == host.id))
    return unbound


def _switch_record(switch: t.Switch | None) -> dict | None:
    if switch is None:
        return None
    return {
        "connected": switch.connected,
        "address": switch.address,
        "flows": switch.flows,
        "last_seen": timestamp(switch.last_seen),
    }


def _host_record(host: t.Host, switch: t.Switch | None, bound_ports: int) -> dict:
    return {
        "name": host.name,
        "datapath_id": datapath_id_text(host.datapath_id),
        "datapath_type": host.datapath_type,
        "ovsdb_target": host.ovsdb_target,
        "tunnel_ip": str(host.tunnel_ip),
        "state": host.state,
        "state_reason": host.state_reason,
        "last_seen": timestamp(host.last_seen),
        "switch": _switch_record(switch),
        "bound_ports": bound_ports,
    }


def _unknown_datapath_record(switch: t.Switch) -> dict:
    """A datapath that connected to the controller but is no host's."""
    return {
        "name": None,
        "datapath_id": datapath_id_text(switch.datapath_id),
        "datapath_type": None,
        "ovsdb_target": None,
        "tunnel_ip": None,
        "state": "unknown",
        "state_reason": "connected to the controller but matches no host",
        "last_seen": timestamp(switch.last_seen),
        "switch": _switch_record(switch),
        "bound_ports": 0,
    }


def list_hosts(session: Session) -> list[dict]:
    """Every host by name, then the datapaths that match no host."""
    switches = {s.datapath_id: s for s in session.scalars(select(t.Switch))}
    bound = dict(
        session.execute(
            select(t.Port.host_id, func.count()).where(t.Port.host_id.is_not(None))
            .group_by(t.Port.host_id)
        ).all()
    )
    hosts = session.scalars(select(t.Host).order_by(t.Host.name)).all()
    records = [
        _host_record(h, switches.pop(h.datapath_id, None), bound.get(h.id, 0)) for h in hosts
    ]
    return records + [_unknown_datapath_record(s) for _, s in sorted(switches.items())]


def show_host(session: Session, name: str) -> dict:
    host = host_named(session, name)
    switch = session.get(t.Switch, host.datapath_id)
    networks = names_by_id(session, t.Network)
    ports = session.execute(
        select(t.Port.name, t.Port.network_id, t.Port.ofport)
        .where(t.Port.host_id == host.id)
        .order_by(t.Port.name)
    ).all()
    peer = aliased(t.Host)
    tunnels = session.execute(
        select(peer.name, t.Tunnel.ofport, t.Tunnel.status)
        .join(peer, peer.id == t.Tunnel.peer_id)
        .where(t.Tunnel.host_id == host.id)
        .order_by(peer.name)
    ).all()
    return _host_record(host, switch, len(ports)) | {
        "ports": [
            {"name": p.name, "network": networks[p.network_id], "ofport": p.ofport} for p in ports
        ],
        "tunnels": [{"peer": p.name, "ofport": p.ofport, "status": p.status} for p in tunnels],
    }
