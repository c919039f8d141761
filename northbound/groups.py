"""Groups: IP multicast groups of a network and their static members.

A group is a policy of its network: traffic to a registered group reaches its members only,
while unregistered multicast is flooded or dropped as the network says. So joining
requires the group to exist instead of creating it: a join that silently created a group
would stop that group's flooding to every other port of a `flood` network, and a mistyped
address would make a group nobody meant. Members are static (from `join`) or snooped (from
IGMP reports seen by the controller, expiring unless renewed).

Group addresses are routable multicast only: 224.0.0.0/24 (and IPv6 link-local scope) carries
IGMP, OSPF, mDNS and neighbour discovery, which Weft always floods to the whole network.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import tables as t
from models.types import IPAddress
from northbound.errors import Conflict, NotFound
from northbound.inputs import parse_group_address, parse_ip
from northbound.lookup import names_by_id, network_named, port_named
from northbound.records import timestamp


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
        raise NotFound(
            "group",
            f'no group {address} in network "{network.name}": create it first',
        )
    return group


def create_group(session: Session, network_name: str, group_ip: str) -> bool:
    """Create a static group; a group learned by IGMP snooping becomes static (kept).
    Return whether the group is new."""
    address = parse_group_address(group_ip)
    network = network_named(session, network_name, "network")
    group = _find_group(session, network, address)
    if group is not None and group.origin == "static":
        raise Conflict(
            "group", f'group {address} already exists in network "{network_name}"'
        )
    if group is None:
        session.add(t.MulticastGroup(network_id=network.id, address=address, origin="static"))
    else:
        group.origin = "static"
    session.flush()
    return group is None


def delete_group(session: Session, network_name: str, group_ip: str) -> None:
    """Delete a group with all its members, static and snooped."""
    network = network_named(session, network_name, "network")
    group = _group_in(session, network, parse_ip(group_ip, "group"))
    session.execute(delete(t.MulticastGroup).where(t.MulticastGroup.id == group.id))


def join_group(session: Session, group_ip: str, port_name: str) -> str:
    """Make port `port_name` a static member of the group in its network; return the network."""
    address = parse_group_address(group_ip)
    port = port_named(session, port_name, "port")
    network = session.get_one(t.Network, port.network_id)
    group = _group_in(session, network, address)
    if session.get(t.GroupMember, (group.id, port.id, "static")) is not None:
        raise Conflict("port", f'port "{port_name}" is already a static member of {address}')
    session.add(
        t.GroupMember(group_id=group.id, port_id=port.id, origin="static", network_id=network.id)
    )
    session.flush()
    return network.name


def leave_group(session: Session, group_ip: str, port_name: str) -> None:
    """End port `port_name`'s static membership (a snooped one expires on its own)."""
    address = parse_ip(group_ip, "group")
    port = port_named(session, port_name, "port")
    group = _group_in(session, session.get_one(t.Network, port.network_id), address)
    member = session.get(t.GroupMember, (group.id, port.id, "static"))
    if member is None:
        snooped = session.get(t.GroupMember, (group.id, port.id, "snooped")) is not None
        raise NotFound(
            "port",
            f'port "{port_name}" is not a static member of {address}'
            + (" (its snooped membership expires on its own)" if snooped else ""),
        )
    session.delete(member)


def list_groups(session: Session, network: str | None = None) -> list[dict]:
    query = select(t.MulticastGroup).order_by(t.MulticastGroup.network_id, t.MulticastGroup.id)
    members = select(t.GroupMember.group_id, t.Port.name, t.GroupMember.origin,
                     t.GroupMember.expires_at).join(t.Port, t.Port.id == t.GroupMember.port_id)
    if network is not None:
        network_id = network_named(session, network, "network").id
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
