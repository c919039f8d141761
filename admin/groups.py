"""`weft group`: IP multicast groups of a network and their static members.

A group is a policy of its network: traffic to a registered group reaches its members only,
while unregistered multicast is flooded or dropped as the network says. So `group join`
requires the group to exist instead of creating it: a join that silently created a group
would stop that group's flooding to every other port of a `flood` network, and a mistyped
address would make a group nobody meant. Members are static (from `join`) or snooped (from
IGMP reports seen by the controller, expiring unless renewed).

Group addresses are routable multicast only: 224.0.0.0/24 (and IPv6 link-local scope) carries
IGMP, OSPF, mDNS and neighbour discovery, which Weft always floods to the whole network.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

import typer
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from admin.db import DatabaseUrl
from admin.errors import CommandError, reports_errors
from admin.inputs import parse_group_address, parse_ip
from admin.lookup import names_by_id, network_named, port_named
from admin.output import JsonFlag, print_json, table, timestamp
from admin.session import reading, writing
from models import tables as t
from models.types import IPAddress

app = typer.Typer(help="Multicast groups of a network and their members.", no_args_is_help=True)


# ---------------------------------------------------------------- operations


def _find_group(
    session: Session, network: t.Network, address: IPAddress
) -> t.MulticastGroup | None:
    return session.scalar(
        select(t.MulticastGroup).where(
            t.MulticastGroup.network_id == network.id, t.MulticastGroup.address == address
        )
    )


def _group_in(session: Session, network: t.Network, address: IPAddress) -> t.MulticastGroup:
    group = _find_group(session, network, address)
    if group is None:
        raise CommandError(
            "GROUP_IP",
            f'no group {address} in network "{network.name}": create it with '
            f"`weft group create {network.name} {address}`",
        )
    return group


def create_group(session: Session, network_name: str, group_ip: str) -> bool:
    """Create a static group; a group learned by IGMP snooping becomes static (kept).
    Return whether the group is new."""
    address = parse_group_address(group_ip)
    network = network_named(session, network_name, "NET")
    group = _find_group(session, network, address)
    if group is not None and group.origin == "static":
        raise CommandError(
            "GROUP_IP", f'group {address} already exists in network "{network_name}"'
        )
    if group is None:
        session.add(t.MulticastGroup(network_id=network.id, address=address, origin="static"))
    else:
        group.origin = "static"
    session.flush()
    return group is None


def delete_group(session: Session, network_name: str, group_ip: str) -> None:
    """Delete a group with all its members, static and snooped."""
    network = network_named(session, network_name, "NET")
    group = _group_in(session, network, parse_ip(group_ip, "GROUP_IP"))
    session.execute(delete(t.MulticastGroup).where(t.MulticastGroup.id == group.id))


def join_group(session: Session, group_ip: str, port_name: str) -> str:
    """Make port `port_name` a static member of the group in its network; return the network."""
    address = parse_group_address(group_ip)
    port = port_named(session, port_name, "PORT")
    network = session.get(t.Network, port.network_id)
    group = _group_in(session, network, address)
    if session.get(t.GroupMember, (group.id, port.id, "static")) is not None:
        raise CommandError("PORT", f'port "{port_name}" is already a static member of {address}')
    session.add(
        t.GroupMember(group_id=group.id, port_id=port.id, origin="static", network_id=network.id)
    )
    session.flush()
    return network.name


def leave_group(session: Session, group_ip: str, port_name: str) -> None:
    """End port `port_name`'s static membership (a snooped one expires on its own)."""
    address = parse_ip(group_ip, "GROUP_IP")
    port = port_named(session, port_name, "PORT")
    group = _group_in(session, session.get(t.Network, port.network_id), address)
    member = session.get(t.GroupMember, (group.id, port.id, "static"))
    if member is None:
        snooped = session.get(t.GroupMember, (group.id, port.id, "snooped")) is not None
        raise CommandError(
            "PORT",
            f'port "{port_name}" is not a static member of {address}'
            + (" (its snooped membership expires on its own)" if snooped else ""),
        )
    session.delete(member)


def list_groups(session: Session, network: str | None = None) -> list[dict]:
    query = select(t.MulticastGroup).order_by(t.MulticastGroup.network_id, t.MulticastGroup.id)
    members = select(t.GroupMember.group_id, t.Port.name, t.GroupMember.origin,
                     t.GroupMember.expires_at).join(t.Port, t.Port.id == t.GroupMember.port_id)
    if network is not None:
        network_id = network_named(session, network, "--network").id
        query = query.where(t.MulticastGroup.network_id == network_id)
        members = members.where(t.GroupMember.network_id == network_id)
    by_group: dict[int, list[dict]] = defaultdict(list)
    for group_id, port, origin, expires_at in session.execute(
        members.order_by(t.Port.name, t.GroupMember.origin)
    ):
        by_group[group_id].append(
            {"port": port, "origin": origin, "expires_at": timestamp(expires_at)}
        )
    networks = names_by_id(session, t.Network)
    return [
        {
            "network": networks[g.network_id],
            "address": str(g.address),
            "origin": g.origin,
            "members": by_group[g.id],
        }
        for g in session.scalars(query)
    ]


# ---------------------------------------------------------------- commands

NetworkArg = Annotated[str, typer.Argument(metavar="NET", help="The network of the group.")]
GroupArg = Annotated[str, typer.Argument(
    metavar="GROUP_IP", help="Multicast group address, e.g. 239.1.1.1 or ff05::1:3.")]
PortArg = Annotated[str, typer.Argument(metavar="PORT", help="A port of the group's network.")]


@app.command("create")
@reports_errors
def create_command(network: NetworkArg, group_ip: GroupArg,
                   database_url: DatabaseUrl = None) -> None:
    """Create a multicast group: its traffic then reaches its members only.

    Routable multicast only: 224.0.0.0/24 and IPv6 link-local scope are always flooded.

    Examples:
      weft group create blue 239.1.1.1
      weft group create blue ff05::1:3
    """
    with writing(database_url) as session:
        created = create_group(session, network, group_ip)
    done = "created" if created else "made the snooped group"
    typer.echo(f'{done} {group_ip} in network "{network}"' + ("" if created else " static"))


@app.command("del")
@reports_errors
def del_command(network: NetworkArg, group_ip: GroupArg,
                database_url: DatabaseUrl = None) -> None:
    """Delete a group and all its members (static and snooped).

    Example:
      weft group del blue 239.1.1.1
    """
    with writing(database_url) as session:
        delete_group(session, network, group_ip)
    typer.echo(f'deleted group {group_ip} of network "{network}"')


@app.command("join")
@reports_errors
def join_command(group_ip: GroupArg, port: PortArg, database_url: DatabaseUrl = None) -> None:
    """Make a port a static member of a group of its network.

    The group must exist: joining never creates one (a new group stops flooding that
    address to the network's other ports, so creating it is a decision of its own).

    Example:
      weft group create blue 239.1.1.1 && weft group join 239.1.1.1 web-1
    """
    with writing(database_url) as session:
        network = join_group(session, group_ip, port)
    typer.echo(f'port "{port}" joined {group_ip} in network "{network}"')


@app.command("leave")
@reports_errors
def leave_command(group_ip: GroupArg, port: PortArg, database_url: DatabaseUrl = None) -> None:
    """End a port's static membership of a group (the group stays).

    Example:
      weft group leave 239.1.1.1 web-1
    """
    with writing(database_url) as session:
        leave_group(session, group_ip, port)
    typer.echo(f'port "{port}" left {group_ip}')


@app.command("list")
@reports_errors
def list_command(
    network: Annotated[str | None, typer.Option(
        "--network", help="Only the groups of this network.")] = None,
    as_json: JsonFlag = False,
    database_url: DatabaseUrl = None,
) -> None:
    """List groups with their members, static and snooped (with expiry).

    Examples:
      weft group list
      weft group list --network blue --json
    """
    with reading(database_url) as session:
        records = list_groups(session, network)
    if as_json:
        print_json(records)
        return
    typer.echo(table(
        ["NETWORK", "GROUP", "ORIGIN", "MEMBERS"],
        [[r["network"], r["address"], r["origin"], [_member(m) for m in r["members"]]]
         for r in records],
    ))


def _member(member: dict) -> str:
    if member["origin"] == "static":
        return member["port"]
    return f"{member['port']} (snooped, expires {member['expires_at']})"
