"""Networks: virtual layer-2 networks, each one VXLAN VNI, with IPv4 and IPv6 subnets.

A network's subnets never overlap each other (separate networks may reuse a CIDR: they are
isolated). A subnet's gateway is optional; when given, it is never allocated to a port.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from models import ipam
from models import tables as t
from models.types import IPAddress, IPNetwork
from northbound.errors import Conflict, InvalidInput
from northbound.inputs import check_name, parse_cidr, parse_ip
from northbound.lookup import names_by_id, network_named


def _paired_subnets(cidrs: list[str], gateways: list[str]) -> list[t.Subnet]:
    """Subnets for the given CIDRs, each with the gateway that falls inside it, if any."""
    prefixes = [parse_cidr(c) for c in cidrs]
    for a, b in itertools.combinations(prefixes, 2):
        if a.version == b.version and a.overlaps(b):
            raise InvalidInput(
                "cidr", f"{a} overlaps {b}: the subnets of one network must not overlap"
            )
    gateway_of: dict[IPNetwork, IPAddress] = {}
    for text in gateways:
        gateway = parse_ip(text, "gateway")
        prefix = next((p for p in prefixes if p.version == gateway.version and gateway in p), None)
        if prefix is None:
            raise InvalidInput(
                "gateway",
                f"{gateway} is outside every --cidr ({', '.join(map(str, prefixes)) or 'none'})",
            )
        if prefix in gateway_of:
            raise InvalidInput(
                "gateway",
                f"{gateway_of[prefix]} and {gateway} are both in {prefix}: "
                "a subnet has one gateway",
            )
        if reason := ipam.reserved_reason(prefix, None, gateway):
            raise InvalidInput("gateway", f"{gateway} is {reason}")
        gateway_of[prefix] = gateway
    return [t.Subnet(cidr=p, gateway=gateway_of.get(p)) for p in prefixes]


def _check_range(field: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise InvalidInput(field, f"{value} is outside {low}..{high}")
    return value


def create_network(
    session: Session,
    name: str,
    cidrs: Sequence[str] = (),
    gateways: Sequence[str] = (),
    vni: int | None = None,
    mtu: int = t.DEFAULT_MTU,
    unregistered_multicast: str = "drop",
) -> t.Network:
    check_name(name)
    if unregistered_multicast not in t.UNREGISTERED_MULTICAST:
        raise InvalidInput("unregistered_multicast", f"{unregistered_multicast!r} is not one "
                           f"of {', '.join(t.UNREGISTERED_MULTICAST)}")
    subnets = _paired_subnets(list(cidrs), list(gateways))
    _check_range("mtu", mtu, t.MTU_MIN, t.MTU_MAX)
    if vni is not None:
        _check_range("vni", vni, t.VNI_MIN, t.VNI_MAX)
    ipam.lock_vnis(session)
    if session.scalar(select(t.Network.id).where(t.Network.name == name)) is not None:
        raise Conflict("name", f'a network named "{name}" already exists')
    if vni is None:
        vni = ipam.allocate_vni(session)
    elif other := session.scalar(select(t.Network.name).where(t.Network.vni == vni)):
        raise Conflict("vni", f'{vni} is already used by network "{other}"')
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
        raise Conflict(
            "name",
            f'network "{name}" still has {len(ports)} ports ({shown}): delete them first, '
            "or delete the network with its ports (force)",
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
