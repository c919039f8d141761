"""`weft port`: container interfaces on networks, with their MAC and addresses.

A port exists before any container does: the controller binds it (host, ofport) when an
interface with `external_ids:iface-id=NAME` appears on some host's br-int. Creating a port
allocates what was not given: a MAC, and one address in each subnet of the network that no
--ip falls in (models/ipam.py: lowest free, never twice).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

import typer
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from admin.db import DatabaseUrl
from admin.errors import CommandError, reports_errors
from admin.inputs import check_port_name, parse_ip, parse_mac
from admin.lookup import host_named, names_by_id, network_named, port_named
from admin.output import JsonFlag, fields, print_json, table, timestamp
from admin.session import reading, writing
from models import ipam
from models import tables as t
from models.types import IPAddress

app = typer.Typer(help="Create and inspect ports (container interfaces on networks).",
                  no_args_is_help=True)


# ---------------------------------------------------------------- operations


def _given_addresses(texts: list[str]) -> list[IPAddress]:
    addresses = [parse_ip(text, "--ip") for text in texts]
    if len(set(addresses)) != len(addresses):
        raise CommandError("--ip", "the same address is given twice")
    return addresses


def _subnet_for(session: Session, network: t.Network, address: IPAddress) -> t.Subnet:
    """The subnet of `network` that `address` may be taken from; refuse it otherwise."""
    subnet = next(
        (s for s in network.subnets if s.cidr.version == address.version and address in s.cidr),
        None,
    )
    if subnet is None:
        cidrs = ", ".join(str(s.cidr) for s in network.subnets) or "it has none"
        raise CommandError("--ip", f'{address} is in no subnet of network "{network.name}" '
                           f"({cidrs})")
    if reason := ipam.reserved_reason(subnet.cidr, subnet.gateway, address):
        raise CommandError("--ip", f"{address} is {reason}")
    owner = session.scalar(
        select(t.Port.name)
        .join(t.PortAddress, t.PortAddress.port_id == t.Port.id)
        .where(t.PortAddress.network_id == network.id, t.PortAddress.address == address)
    )
    if owner is not None:
        raise CommandError("--ip", f'{address} is already used by port "{owner}"')
    return subnet


def create_port(
    session: Session, name: str, network_name: str, mac: str | None = None, ips: list[str] = ()
) -> t.Port:
    """Create port `name` on network `network_name`, allocating what is not given."""
    check_port_name(name)
    mac = mac and parse_mac(mac)
    given = _given_addresses(list(ips))
    network = network_named(session, network_name, "--network")
    ipam.lock_network(session, network.id)
    if other := session.scalar(
        select(t.Network.name).join(t.Port).where(t.Port.name == name)
    ):
        raise CommandError("NAME", f'a port named "{name}" already exists (in network "{other}")')
    if mac is None:
        mac = ipam.allocate_mac(session, network)
    elif owner := session.scalar(
        select(t.Port.name).where(t.Port.network_id == network.id, t.Port.mac == mac)
    ):
        raise CommandError("--mac", f'{mac} is already used by port "{owner}" in network '
                           f'"{network.name}"')
    chosen = [(_subnet_for(session, network, address), address) for address in given]
    covered = {subnet.id for subnet, _ in chosen}
    chosen += [
        (subnet, ipam.allocate_address(session, network, subnet))
        for subnet in network.subnets
        if subnet.id not in covered
    ]
    port = t.Port(name=name, network_id=network.id, mac=mac)
    port.addresses = [
        t.PortAddress(network_id=network.id, subnet_id=s.id, cidr=s.cidr, address=address)
        for s, address in chosen
    ]
    session.add(port)
    session.flush()
    return port


def delete_port(session: Session, name: str) -> None:
    """Delete port `name`; its addresses and group memberships go with it."""
    port = port_named(session, name)
    session.execute(delete(t.Port).where(t.Port.id == port.id))


def _port_records(session: Session, ports: list[t.Port]) -> list[dict]:
    networks = names_by_id(session, t.Network)
    hosts = names_by_id(session, t.Host)
    addresses: dict[int, list[str]] = defaultdict(list)
    for port_id, address in session.execute(
        select(t.PortAddress.port_id, t.PortAddress.address)
        .where(t.PortAddress.port_id.in_([p.id for p in ports]))
        .order_by(t.PortAddress.id)
    ):
        addresses[port_id].append(str(address))
    return [
        {
            "name": p.name,
            "network": networks[p.network_id],
            "mac": p.mac,
            "addresses": addresses[p.id],
            "state": p.state,
            "host": hosts.get(p.host_id),
            "ofport": p.ofport,
            "bound_at": timestamp(p.bound_at),
        }
        for p in ports
    ]


def list_ports(session: Session, network: str | None = None, host: str | None = None) -> list:
    query = select(t.Port).order_by(t.Port.name)
    if network is not None:
        query = query.where(t.Port.network_id == network_named(session, network, "--network").id)
    if host is not None:
        query = query.where(t.Port.host_id == host_named(session, host, "--host").id)
    return _port_records(session, session.scalars(query).all())


def show_port(session: Session, name: str) -> dict:
    """The port with its binding and the groups it is a member of."""
    port = port_named(session, name)
    groups = session.execute(
        select(t.MulticastGroup.address, t.GroupMember.origin, t.GroupMember.expires_at)
        .join(t.GroupMember, t.GroupMember.group_id == t.MulticastGroup.id)
        .where(t.GroupMember.port_id == port.id)
        .order_by(t.MulticastGroup.id, t.GroupMember.origin)
    ).all()
    (record,) = _port_records(session, [port])
    return record | {
        "groups": [
            {"address": str(g.address), "origin": g.origin, "expires_at": timestamp(g.expires_at)}
            for g in groups
        ]
    }


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
