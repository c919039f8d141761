"""`weft network`: virtual layer-2 networks, each one VXLAN VNI, with IPv4 and IPv6 subnets.

A network's subnets never overlap each other (separate networks may reuse a CIDR: they are
isolated). A subnet's gateway is optional; when given, it is never allocated to a port.
"""

from __future__ import annotations

import itertools
from collections import Counter
from enum import StrEnum
from typing import Annotated

import typer
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from admin.db import DatabaseUrl
from admin.errors import CommandError, reports_errors
from admin.inputs import check_name, parse_cidr, parse_ip
from admin.lookup import names_by_id, network_named
from admin.output import JsonFlag, fields, print_json, table
from admin.session import reading, writing
from models import ipam
from models import tables as t
from models.types import IPAddress, IPNetwork

app = typer.Typer(help="Create and inspect virtual networks (one VXLAN VNI each).",
                  no_args_is_help=True)


class UnregisteredMulticast(StrEnum):
    flood = "flood"
    drop = "drop"


# ---------------------------------------------------------------- operations


def _paired_subnets(cidrs: list[str], gateways: list[str]) -> list[t.Subnet]:
    """Subnets for the given CIDRs, each with the gateway that falls inside it, if any."""
    prefixes = [parse_cidr(c) for c in cidrs]
    for a, b in itertools.combinations(prefixes, 2):
        if a.version == b.version and a.overlaps(b):
            raise CommandError(
                "--cidr", f"{a} overlaps {b}: the subnets of one network must not overlap"
            )
    gateway_of: dict[IPNetwork, IPAddress] = {}
    for text in gateways:
        gateway = parse_ip(text, "--gateway")
        prefix = next((p for p in prefixes if p.version == gateway.version and gateway in p), None)
        if prefix is None:
            raise CommandError(
                "--gateway",
                f"{gateway} is outside every --cidr ({', '.join(map(str, prefixes)) or 'none'})",
            )
        if prefix in gateway_of:
            raise CommandError(
                "--gateway",
                f"{gateway_of[prefix]} and {gateway} are both in {prefix}: "
                "a subnet has one gateway",
            )
        if reason := ipam.reserved_reason(prefix, None, gateway):
            raise CommandError("--gateway", f"{gateway} is {reason}")
        gateway_of[prefix] = gateway
    return [t.Subnet(cidr=p, gateway=gateway_of.get(p)) for p in prefixes]


def _check_range(field: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise CommandError(field, f"{value} is outside {low}..{high}")
    return value


def create_network(
    session: Session,
    name: str,
    cidrs: list[str] = (),
    gateways: list[str] = (),
    vni: int | None = None,
    mtu: int = 1450,
    unregistered_multicast: str = "drop",
) -> t.Network:
    check_name(name)
    subnets = _paired_subnets(list(cidrs), list(gateways))
    _check_range("--mtu", mtu, t.MTU_MIN, t.MTU_MAX)
    if vni is not None:
        _check_range("--vni", vni, t.VNI_MIN, t.VNI_MAX)
    ipam.lock_vnis(session)
    if session.scalar(select(t.Network.id).where(t.Network.name == name)) is not None:
        raise CommandError("NAME", f'a network named "{name}" already exists')
    if vni is None:
        vni = ipam.allocate_vni(session)
    elif other := session.scalar(select(t.Network.name).where(t.Network.vni == vni)):
        raise CommandError("--vni", f'{vni} is already used by network "{other}"')
    network = t.Network(
        name=name, vni=vni, mtu=mtu, unregistered_multicast=unregistered_multicast,
        subnets=subnets,
    )
    session.add(network)
    session.flush()
    return network


def delete_network(session: Session, name: str, force: bool = False) -> int:
    """Delete network `name`; with `force` its ports too. Return how many ports went."""
    network = network_named(session, name)
    ipam.lock_network(session, network.id)  # no port may be created in it meanwhile
    ports = session.scalars(
        select(t.Port.name).where(t.Port.network_id == network.id).order_by(t.Port.name)
    ).all()
    if ports and not force:
        shown = ", ".join(ports[:3]) + (", ..." if len(ports) > 3 else "")
        raise CommandError(
            "NAME",
            f'network "{name}" still has {len(ports)} ports ({shown}): delete them first, '
            "or pass --force to delete them with it",
        )
    session.execute(delete(t.Port).where(t.Port.network_id == network.id))
    session.execute(delete(t.Network).where(t.Network.id == network.id))
    return len(ports)


def _network_record(network: t.Network, port_count: int) -> dict:
    return {
        "name": network.name,
        "vni": network.vni,
        "mtu": network.mtu,
        "unregistered_multicast": network.unregistered_multicast,
        "subnets": [
            {"cidr": str(s.cidr), "gateway": s.gateway and str(s.gateway)}
            for s in network.subnets
        ],
        "port_count": port_count,
    }


def list_networks(session: Session) -> list[dict]:
    counts = dict(
        session.execute(select(t.Port.network_id, func.count()).group_by(t.Port.network_id)).all()
    )
    networks = session.scalars(select(t.Network).order_by(t.Network.name)).all()
    return [_network_record(n, counts.get(n.id, 0)) for n in networks]


def show_network(session: Session, name: str) -> dict:
    """The network with its subnets' address usage, its ports and its groups."""
    network = network_named(session, name)
    ports = session.scalars(
        select(t.Port)
        .options(selectinload(t.Port.addresses))
        .where(t.Port.network_id == network.id)
        .order_by(t.Port.name)
    ).all()
    used = Counter(address.subnet_id for port in ports for address in port.addresses)
    hosts = names_by_id(session, t.Host)
    record = _network_record(network, len(ports))
    for subnet, entry in zip(network.subnets, record["subnets"], strict=True):
        usable = ipam.usable_count(subnet)
        entry |= {"usable": usable, "used": used[subnet.id], "free": usable - used[subnet.id]}
    groups = session.scalars(
        select(t.MulticastGroup.address).where(t.MulticastGroup.network_id == network.id)
        .order_by(t.MulticastGroup.id)
    )
    return record | {
        "ports": [
            {
                "name": p.name,
                "mac": p.mac,
                "addresses": [str(a.address) for a in p.addresses],
                "state": p.state,
                "host": hosts.get(p.host_id),
            }
            for p in ports
        ],
        "groups": [str(g) for g in groups],
    }


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
        "--vni", help=f"VXLAN network identifier {t.VNI_MIN}..{t.VNI_MAX} "
        "(default: the lowest free)", show_default=False)] = None,
    mtu: Annotated[int, typer.Option(
        "--mtu", help=f"MTU of the network's ports, {t.MTU_MIN}..{t.MTU_MAX}.")] = 1450,
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
        [[s["cidr"], s["gateway"], s["used"], s["free"]] for s in record["subnets"]],
    ))
    typer.echo("\nports:\n" + table(
        ["PORT", "MAC", "ADDRESSES", "STATE", "HOST"],
        [[p["name"], p["mac"], p["addresses"], p["state"], p["host"]] for p in record["ports"]],
    ))
