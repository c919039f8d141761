"""`weft network`: virtual layer-2 networks, each one VXLAN VNI, with IPv4 and IPv6 subnets.

A network's subnets never overlap each other (separate networks may reuse a CIDR: they are
isolated). A subnet's gateway is optional; when given, it is never allocated to a port.
The operations are northbound/networks.py.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from admin.errors import reports_errors
from admin.options import DatabaseUrl, JsonFlag
from admin.output import count, fields, print_json, table
from models import limits

app = typer.Typer(help="Create and inspect virtual networks (one VXLAN VNI each).",
                  no_args_is_help=True)

class UnregisteredMulticast(StrEnum):  # limits.UNREGISTERED_MULTICAST, as a choice
    drop = "drop"
    flood = "flood"


# ---------------------------------------------------------------- commands

NetworkName = Annotated[str, typer.Argument(
    metavar="NAME", help="Network name (letters, digits, '-', '_', '.').")]


@app.command("create")
@reports_errors
def create_command(
    name: NetworkName,
    cidr: Annotated[list[str] | None, typer.Option(
        "--cidr", help="A subnet, IPv4 or IPv6; repeat for several (never overlapping).")] = None,
    gateway: Annotated[list[str] | None, typer.Option(
        "--gateway", help="The gateway of the --cidr it falls in (never given to a port); "
        "repeatable.")] = None,
    vni: Annotated[int | None, typer.Option(
        "--vni", help=f"VXLAN network identifier {limits.VNI_MIN}..{limits.VNI_MAX} "
        "(default: the lowest free)", show_default=False)] = None,
    mtu: Annotated[int, typer.Option(
        "--mtu", help=f"MTU of the network's ports, {limits.MTU_MIN}..{limits.MTU_MAX}.")] = 1450,
    unregistered_multicast: Annotated[UnregisteredMulticast, typer.Option(
        "--unregistered-multicast", help="What happens to IPv4 multicast sent to a group "
        "nobody registered.")] = UnregisteredMulticast.drop,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a network, with any number of IPv4 and IPv6 subnets.

    The VNI is the lowest free one unless --vni is given. A --gateway belongs to the --cidr
    it falls in; subnets without one have no gateway.

    Examples:
      weft network create blue --cidr 198.51.100.0/24 --gateway 198.51.100.1
      weft network create red --cidr 198.51.100.0/24 --cidr 2001:db8:1::/64 --vni 5000
      weft network create lan --unregistered-multicast flood
    """
    from northbound.networks import create_network
    from northbound.session import writing

    with writing(database_url) as session:
        network = create_network(
            session, name, cidr or [], gateway or [], vni, mtu, unregistered_multicast.value
        )
    subnets = ", ".join(str(s.cidr) for s in network.subnets) or "no subnets"
    typer.echo(f'created network "{network.name}" (vni {network.vni}, {subnets})')


@app.command("del")
@reports_errors
def del_command(
    name: NetworkName,
    force: Annotated[bool, typer.Option(
        "--force", help="Also delete the network's ports (otherwise refused while it has any)."
    )] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Delete a network, its subnets and its multicast groups.

    Refused while the network has ports, unless --force (which deletes them too).

    Examples:
      weft network del blue
      weft network del blue --force
    """
    from northbound.networks import delete_network
    from northbound.session import writing

    with writing(database_url) as session:
        deleted = delete_network(session, name, force)
    typer.echo(f'deleted network "{name}"' + (f" and its {deleted} ports" if deleted else ""))


@app.command("list")
@reports_errors
def list_command(as_json: JsonFlag = False, database_url: DatabaseUrl = None) -> None:
    """List networks with their subnets.

    Examples:
      weft network list
      weft network list --json | jq '.[] | {name, vni}'
    """
    from northbound.networks import list_networks
    from northbound.session import reading

    with reading(database_url) as session:
        records = list_networks(session)
    if as_json:
        print_json(records)
        return
    typer.echo(table(
        ["NAME", "VNI", "MTU", "MULTICAST", "SUBNETS", "PORTS"],
        [[r["name"], r["vni"], r["mtu"], r["unregistered_multicast"],
          [s["cidr"] for s in r["subnets"]], r["port_count"]] for r in records],
    ))


@app.command("show")
@reports_errors
def show_command(name: NetworkName, as_json: JsonFlag = False,
                 database_url: DatabaseUrl = None) -> None:
    """Show a network: subnets with address usage, ports, multicast groups.

    Example:
      weft network show blue
    """
    from northbound.networks import show_network
    from northbound.session import reading

    with reading(database_url) as session:
        record = show_network(session, name)
    if as_json:
        print_json(record)
        return
    typer.echo(fields([
        ("name", record["name"]),
        ("vni", record["vni"]),
        ("mtu", record["mtu"]),
        ("unregistered multicast", record["unregistered_multicast"]),
        ("groups", record["groups"]),
    ]))
    typer.echo("\nsubnets:\n" + table(
        ["CIDR", "GATEWAY", "USED", "FREE"],
        [[s["cidr"], s["gateway"], s["used"], count(s["free"])] for s in record["subnets"]],
    ))
    typer.echo("\nports:\n" + table(
        ["PORT", "MAC", "ADDRESSES", "STATE", "HOST"],
        [[p["name"], p["mac"], p["addresses"], p["state"], p["host"]] for p in record["ports"]],
    ))
