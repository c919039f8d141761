"""`weft host`: register the machines running Open vSwitch that Weft manages.

The OVSDB manager reaches a host at its --ovsdb target and builds br-int and the VXLAN mesh
from its --tunnel-ip; br-int gets the datapath id `models.identity.datapath_id_for(name)`,
which is how the controller recognises the switch when it connects. Datapaths that connect
but match no host are listed too, with state "unknown" (from the controller's `switches`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, aliased

from admin.db import DatabaseUrl
from admin.errors import CommandError, reports_errors
from admin.inputs import check_name, parse_ovsdb_target, parse_tunnel_ip
from admin.lookup import host_named, names_by_id
from admin.output import JsonFlag, connection, fields, print_json, table, timestamp
from admin.session import reading, writing
from models import tables as t
from models.identity import datapath_id_for, datapath_id_text

app = typer.Typer(help="Register and inspect hosts (machines running Open vSwitch).",
                  no_args_is_help=True)


class DatapathType(StrEnum):
    netdev = "netdev"
    system = "system"


# ---------------------------------------------------------------- operations


def add_host(
    session: Session, name: str, ovsdb: str, tunnel_ip: str, datapath_type: str = "netdev"
) -> t.Host:
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
        raise CommandError("NAME", f'a host named "{host.name}" already exists')
    dpid = datapath_id_text(host.datapath_id)
    others = (
        ("--ovsdb", t.Host.ovsdb_target, host.ovsdb_target, "is already the OVSDB target of"),
        ("--tunnel-ip", t.Host.tunnel_ip, host.tunnel_ip, "is already the tunnel IP of"),
        ("NAME", t.Host.datapath_id, host.datapath_id, f"hashes to datapath id {dpid}, that of"),
    )
    for field, column, value, problem in others:
        other = session.scalar(select(t.Host.name).where(column == value))
        if other is not None:
            shown = host.name if column is t.Host.datapath_id else value
            raise CommandError(field, f'{shown} {problem} host "{other}"')


def delete_host(session: Session, name: str) -> int:
    """Delete host `name` and its tunnels; unbind its ports. Return how many were unbound."""
    host = host_named(session, name)
    unbound = session.execute(
        update(t.Port)
        .where(t.Port.host_id == host.id)
        .values(host_id=None, ofport=None, state="unbound", bound_at=None)
    ).rowcount
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


# ---------------------------------------------------------------- commands

HostName = Annotated[str, typer.Argument(
    metavar="NAME", help="Host name (letters, digits, '-', '_', '.').")]


@app.command("add")
@reports_errors
def add_command(
    name: HostName,
    ovsdb: Annotated[str, typer.Option(
        "--ovsdb", help="Where the host's ovsdb-server listens: tcp:IP:PORT, ssl:IP:PORT or "
        "unix:PATH.")],
    tunnel_ip: Annotated[str, typer.Option(
        "--tunnel-ip", help="The host's VTEP address: VXLAN tunnels start and end there.")],
    datapath: Annotated[DatapathType, typer.Option(
        "--datapath", help="OVS datapath type of br-int: netdev (userspace) or system (kernel)."
    )] = DatapathType.netdev,
    database_url: DatabaseUrl = None,
) -> None:
    """Register a host. Its br-int gets a datapath id derived from NAME.

    Tunnel IPs, OVSDB targets and names are unique among hosts.

    Examples:
      weft host add host-a --ovsdb tcp:198.18.0.1:6640 --tunnel-ip 203.0.113.1
      weft host add host-b --ovsdb unix:/run/openvswitch/db.sock --tunnel-ip 203.0.113.2
    """
    with writing(database_url) as session:
        host = add_host(session, name, ovsdb, tunnel_ip, datapath.value)
        typer.echo(f'added host "{host.name}" (datapath id {datapath_id_text(host.datapath_id)})')


@app.command("del")
@reports_errors
def del_command(name: HostName, database_url: DatabaseUrl = None) -> None:
    """Delete a host and its tunnels. Its ports stay, unbound, until plugged in elsewhere.

    Example:
      weft host del host-a
    """
    with writing(database_url) as session:
        unbound = delete_host(session, name)
    typer.echo(f'deleted host "{name}"' + (f" ({unbound} ports unbound)" if unbound else ""))


@app.command("list")
@reports_errors
def list_command(as_json: JsonFlag = False, database_url: DatabaseUrl = None) -> None:
    """List hosts, and datapaths that connected to the controller but match no host.

    Such datapaths have no name and the state "unknown".

    Examples:
      weft host list
      weft host list --json | jq -r '.[] | select(.state != "connected") | .name'
    """
    with reading(database_url) as session:
        records = list_hosts(session)
    if as_json:
        print_json(records)
        return
    typer.echo(table(
        ["NAME", "STATE", "DATAPATH_ID", "TUNNEL_IP", "OVSDB", "SWITCH", "FLOWS", "PORTS"],
        [
            [r["name"], r["state"], r["datapath_id"], r["tunnel_ip"], r["ovsdb_target"],
             _switch_state(r["switch"]), r["switch"] and r["switch"]["flows"], r["bound_ports"]]
            for r in records
        ],
    ))


def _switch_state(switch: dict | None) -> str | None:
    return connection(None if switch is None else switch["connected"])


@app.command("show")
@reports_errors
def show_command(name: HostName, as_json: JsonFlag = False,
                 database_url: DatabaseUrl = None) -> None:
    """Show a host: its state, its switch, the ports bound there and its tunnels.

    Example:
      weft host show host-a
    """
    with reading(database_url) as session:
        record = show_host(session, name)
    if as_json:
        print_json(record)
        return
    switch = record["switch"]
    typer.echo(fields([
        ("name", record["name"]),
        ("state", record["state"] + (f" ({record['state_reason']})"
                                     if record["state_reason"] else "")),
        ("last seen", record["last_seen"]),
        ("datapath id", f"{record['datapath_id']} ({record['datapath_type']})"),
        ("ovsdb", record["ovsdb_target"]),
        ("tunnel ip", record["tunnel_ip"]),
        ("switch", _switch_state(switch) and
         f"{_switch_state(switch)} from {switch['address'] or '-'}, {switch['flows']} flows"),
    ]))
    typer.echo("\nports:\n" + table(
        ["PORT", "NETWORK", "OFPORT"],
        [[p["name"], p["network"], p["ofport"]] for p in record["ports"]],
    ))
    typer.echo("\ntunnels:\n" + table(
        ["PEER", "OFPORT", "STATUS"],
        [[p["peer"], p["ofport"], p["status"]] for p in record["tunnels"]],
    ))
