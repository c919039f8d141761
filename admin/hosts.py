"""`weft host`: register the machines running Open vSwitch that Weft manages.

The OVSDB manager reaches a host at its --ovsdb target and builds br-int and the VXLAN mesh
from its --tunnel-ip; br-int gets a datapath id derived from the host's name, which is how
the controller recognises the switch when it connects. Datapaths that connect but match no
host are listed too, with state "unknown". The operations are northbound/hosts.py.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from admin.errors import reports_errors
from admin.options import DatabaseUrl, JsonFlag
from admin.output import connection, fields, print_json, table

app = typer.Typer(help="Register and inspect hosts (machines running Open vSwitch).",
                  no_args_is_help=True)


class DatapathType(StrEnum):
    netdev = "netdev"
    system = "system"


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
    from models.identity import datapath_id_text
    from northbound.hosts import add_host
    from northbound.session import writing

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
    from northbound.hosts import delete_host
    from northbound.session import writing

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
    from northbound.hosts import list_hosts
    from northbound.session import reading

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
    from northbound.hosts import show_host
    from northbound.session import reading

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
