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

from typing import Annotated

import typer

from admin.errors import reports_errors
from admin.options import DatabaseUrl, JsonFlag
from admin.output import print_json, table

app = typer.Typer(help="Multicast groups of a network and their members.", no_args_is_help=True)

POSITIONAL = {"network": "NET", "group": "GROUP_IP", "port": "PORT"}


# ---------------------------------------------------------------- commands

NetworkArg = Annotated[str, typer.Argument(metavar="NET", help="The network of the group.")]
GroupArg = Annotated[str, typer.Argument(
    metavar="GROUP_IP", help="Multicast group address, e.g. 239.1.1.1 or ff05::1:3.")]
PortArg = Annotated[str, typer.Argument(metavar="PORT", help="A port of the group's network.")]


@app.command("create")
@reports_errors(**POSITIONAL)
def create_command(network: NetworkArg, group_ip: GroupArg,
                   database_url: DatabaseUrl = None) -> None:
    """Create a multicast group: its traffic then reaches its members only.

    Routable multicast only: 224.0.0.0/24 and IPv6 link-local scope are always flooded.

    Examples:
      weft group create blue 239.1.1.1
      weft group create blue ff05::1:3
    """
    from northbound.groups import create_group
    from northbound.session import writing

    with writing(database_url) as session:
        created = create_group(session, network, group_ip)
    done = "created" if created else "made the snooped group"
    typer.echo(f'{done} {group_ip} in network "{network}"' + ("" if created else " static"))


@app.command("del")
@reports_errors(**POSITIONAL)
def del_command(network: NetworkArg, group_ip: GroupArg,
                database_url: DatabaseUrl = None) -> None:
    """Delete a group and all its members (static and snooped).

    Example:
      weft group del blue 239.1.1.1
    """
    from northbound.groups import delete_group
    from northbound.session import writing

    with writing(database_url) as session:
        delete_group(session, network, group_ip)
    typer.echo(f'deleted group {group_ip} of network "{network}"')


@app.command("join")
@reports_errors(**POSITIONAL)
def join_command(group_ip: GroupArg, port: PortArg, database_url: DatabaseUrl = None) -> None:
    """Make a port a static member of a group of its network.

    The group must exist: joining never creates one (a new group stops flooding that
    address to the network's other ports, so creating it is a decision of its own).

    Example:
      weft group create blue 239.1.1.1 && weft group join 239.1.1.1 web-1
    """
    from northbound.groups import join_group
    from northbound.session import writing

    with writing(database_url) as session:
        network = join_group(session, group_ip, port)
    typer.echo(f'port "{port}" joined {group_ip} in network "{network}"')


@app.command("leave")
@reports_errors(**POSITIONAL)
def leave_command(group_ip: GroupArg, port: PortArg, database_url: DatabaseUrl = None) -> None:
    """End a port's static membership of a group (the group stays).

    Example:
      weft group leave 239.1.1.1 web-1
    """
    from northbound.groups import leave_group
    from northbound.session import writing

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
    from northbound.groups import list_groups
    from northbound.session import reading

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
