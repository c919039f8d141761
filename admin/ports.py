"""`weft port`: container interfaces on networks, with their MAC and addresses.

A port exists before any container does: the controller binds it (host, ofport) when an
interface with `external_ids:iface-id=NAME` appears on some host's br-int. Creating a port
allocates what was not given: a MAC, and one address in each subnet of the network that no
--ip falls in (models/ipam.py: lowest free, never twice). The operations are
northbound/ports.py.
"""

from __future__ import annotations

from typing import Annotated

import typer

from admin.errors import reports_errors
from admin.options import DatabaseUrl, JsonFlag
from admin.output import fields, print_json, table

app = typer.Typer(help="Create and inspect ports (container interfaces on networks).",
                  no_args_is_help=True)


# ---------------------------------------------------------------- commands

PortName = Annotated[str, typer.Argument(
    metavar="NAME", help="Port name: the OVS interface's external_ids:iface-id.")]


@app.command("create")
@reports_errors
def create_command(
    name: PortName,
    network: Annotated[str, typer.Option("--network", help="The network of the port.")],
    mac: Annotated[str | None, typer.Option(
        "--mac", help="Unicast MAC (default: 02:VV:VV:VV:NN:NN, VV the VNI, NN the lowest free)",
        show_default=False)] = None,
    ip: Annotated[list[str] | None, typer.Option(
        "--ip", help="An address inside a subnet of the network; repeatable. Subnets with no "
        "--ip get their lowest free address.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a port on a network, ready to be plugged in on any host.

    Each subnet of the network without an --ip gives the port its lowest free address.
    Plug a container in by naming its OVS interface after the port:
      ovs-vsctl add-port br-int veth1 -- set Interface veth1 external_ids:iface-id=web-1

    Examples:
      weft port create web-1 --network blue
      weft port create web-2 --network blue --ip 198.51.100.10 --mac 02:00:00:00:aa:01
    """
    from northbound.ports import create_port
    from northbound.session import writing

    with writing(database_url) as session:
        port = create_port(session, name, network, mac, ip or [])
        addresses = ", ".join(str(a.address) for a in port.addresses) or "no addresses"
    typer.echo(f'created port "{port.name}" on network "{network}" ({port.mac}, {addresses})')


@app.command("del")
@reports_errors
def del_command(name: PortName, database_url: DatabaseUrl = None) -> None:
    """Delete a port; its addresses and MAC are free again at once.

    Example:
      weft port del web-1
    """
    from northbound.ports import delete_port
    from northbound.session import writing

    with writing(database_url) as session:
        delete_port(session, name)
    typer.echo(f'deleted port "{name}"')


@app.command("list")
@reports_errors
def list_command(
    network: Annotated[str | None, typer.Option(
        "--network", help="Only the ports of this network.")] = None,
    host: Annotated[str | None, typer.Option(
        "--host", help="Only the ports bound on this host.")] = None,
    as_json: JsonFlag = False,
    database_url: DatabaseUrl = None,
) -> None:
    """List ports with their addresses and binding.

    Examples:
      weft port list --network blue
      weft port list --host host-a --json
    """
    from northbound.ports import list_ports
    from northbound.session import reading

    with reading(database_url) as session:
        records = list_ports(session, network, host)
    if as_json:
        print_json(records)
        return
    typer.echo(table(
        ["NAME", "NETWORK", "MAC", "ADDRESSES", "STATE", "HOST", "OFPORT"],
        [[r["name"], r["network"], r["mac"], r["addresses"], r["state"], r["host"], r["ofport"]]
         for r in records],
    ))


@app.command("show")
@reports_errors
def show_command(name: PortName, as_json: JsonFlag = False,
                 database_url: DatabaseUrl = None) -> None:
    """Show a port: addresses, binding state, host and ofport, multicast groups.

    Example:
      weft port show web-1
    """
    from northbound.ports import show_port
    from northbound.session import reading

    with reading(database_url) as session:
        record = show_port(session, name)
    if as_json:
        print_json(record)
        return
    typer.echo(fields([
        ("name", record["name"]),
        ("network", record["network"]),
        ("mac", record["mac"]),
        ("addresses", record["addresses"]),
        ("state", record["state"]),
        ("host", record["host"]),
        ("ofport", record["ofport"]),
        ("bound at", record["bound_at"]),
        ("groups", [f"{g['address']} ({g['origin']})" for g in record["groups"]]),
    ]))
