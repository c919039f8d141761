"""Ports: container interfaces on networks, with their MAC and addresses.

A port exists before any container does: the controller binds it (host, ofport) when an
interface with `external_ids:iface-id=NAME` appears on some host's br-int. Creating a port
allocates what was not given: a MAC, and one address in each subnet of the network that no
given address falls in (models/ipam.py: lowest free, never twice).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from models import ipam
from models import tables as t
from models.types import IPAddress
from northbound.errors import Conflict, Forbidden, InvalidInput, OperationError
from northbound.inputs import check_port_name, parse_ip, parse_mac
from northbound.lookup import host_named, names_by_id, network_named, port_named
from northbound.records import timestamp
from northbound.tokens import Caller


@dataclass(frozen=True)
class PortRequest:
    """A port as a caller asks for it; what is not given is allocated.

    `host` is the host the port is meant to bind on (recorded as `requested_host`); a host's
    API token may only ask for ports on its own host.
    """

    name: str
    network: str
    mac: str | None = None
    ips: tuple[str, ...] = ()
    host: str | None = None


def _given_addresses(texts: tuple[str, ...]) -> list[IPAddress]:
    addresses = [parse_ip(text, "ip") for text in texts]
    if len(set(addresses)) != len(addresses):
        raise InvalidInput("ip", "the same address is given twice")
    return addresses


def _subnet_for(network: t.Network, address: IPAddress) -> t.Subnet:
    """The subnet of `network` that `address` may be taken from; refuse it otherwise."""
    subnet = next(
        (s for s in network.subnets if s.cidr.version == address.version and address in s.cidr),
        None,
    )
    if subnet is None:
        cidrs = ", ".join(str(s.cidr) for s in network.subnets) or "it has none"
        raise InvalidInput("ip", f'{address} is in no subnet of network "{network.name}" '
                           f"({cidrs})")
    if reason := ipam.reserved_reason(subnet.cidr, subnet.gateway, address):
        raise InvalidInput("ip", f"{address} is {reason}")
    return subnet


def _check_address_free(session: Session, network: t.Network, address: IPAddress) -> None:
    owner = session.scalar(
        select(t.Port.name)
        .join(t.PortAddress, t.PortAddress.port_id == t.Port.id)
        .where(t.PortAddress.network_id == network.id, t.PortAddress.address == address)
    )
    if owner is not None:
        raise Conflict("ip", f'{address} is already used by port "{owner}"')


class _Batch:
    """The networks, allocators and hosts of one batch of port requests, each looked up once."""

    def __init__(self, session: Session, caller: Caller | None, size: int) -> None:
        self.session, self.size = session, size
        self.caller = caller
        self.allocators: dict[str, ipam.NetworkAllocator] = {}
        self.hosts: dict[str, int] = {}

    def allocator(self, network_name: str) -> ipam.NetworkAllocator:
        if network_name not in self.allocators:
            network = network_named(self.session, network_name, "network")
            ipam.lock_network(self.session, network.id)
            self.allocators[network_name] = ipam.allocator_for(self.session, network, self.size)
        return self.allocators[network_name]

    def host_id(self, request: PortRequest) -> int | None:
        name = request.host
        if self.caller is not None and not self.caller.is_admin:
            if name not in (None, self.caller.host_name):
                raise Forbidden("host", f'a token of host "{self.caller.host_name}" '
                                     f'cannot create ports on host "{name}"')
            return self.caller.host_id
        if name is None:
            return None
        if name not in self.hosts:
            self.hosts[name] = host_named(self.session, name, "host").id
        return self.hosts[name]

    def port(self, request: PortRequest) -> t.Port:
        check_port_name(request.name)
        mac = request.mac and parse_mac(request.mac)
        given = _given_addresses(request.ips)
        allocator = self.allocator(request.network)
        network = allocator.network
        if mac is None:
            mac = allocator.new_mac()
        elif not allocator.mac_is_free(mac):
            owner = self.session.scalar(
                select(t.Port.name).where(t.Port.network_id == network.id, t.Port.mac == mac)
            )
            raise Conflict("mac", f'{mac} is already used by port "{owner or "(this batch)"}" '
                           f'in network "{network.name}"')
        else:
            allocator.take_mac(mac)
        chosen = []
        for address in given:
            subnet = _subnet_for(network, address)
            _check_address_free(self.session, network, address)
            chosen.append((subnet, allocator.take_address(subnet, address)))
        covered = {subnet.id for subnet, _ in chosen}
        chosen += [(subnet, allocator.new_address(subnet))
                   for subnet in network.subnets if subnet.id not in covered]
        port = t.Port(name=request.name, network_id=network.id, mac=mac,
                      requested_host_id=self.host_id(request))
        port.addresses = [
            t.PortAddress(network_id=network.id, subnet_id=s.id, cidr=s.cidr, address=address)
            for s, address in chosen
        ]
        return port


def create_ports(
    session: Session, requests: list[PortRequest], caller: Caller | None = None
) -> list[t.Port]:
    """Create every requested port, or none: one transaction, each network locked and read
    once (models/ipam.allocator_for). A refusal of the i-th request names its field as
    `ports[i].FIELD`; a single request's as `FIELD`."""
    names = [r.name for r in requests]
    existing = dict(session.execute(
        select(t.Port.name, t.Network.name).join(t.Network).where(t.Port.name.in_(names))
    ).all()) if names else {}
    batch, seen, ports = _Batch(session, caller, len(requests)), set(), []
    for index, request in enumerate(requests):
        try:
            if request.name in existing or request.name in seen:
                where = existing.get(request.name, request.network)
                raise Conflict("name", f'a port named "{request.name}" already exists '
                               f'(in network "{where}")')
            seen.add(request.name)
            ports.append(batch.port(request))
        except OperationError as error:
            if len(requests) == 1:
                raise
            raise type(error)(f"ports[{index}].{error.field or 'name'}", error.message) from None
    session.add_all(ports)
    session.flush()
    return ports


def create_port(
    session: Session, name: str, network_name: str, mac: str | None = None,
    ips: list[str] | tuple[str, ...] = (), host: str | None = None,
) -> t.Port:
    """Create port `name` on network `network_name`, allocating what is not given."""
    request = PortRequest(name, network_name, mac, tuple(ips), host)
    return create_ports(session, [request])[0]


def ensure_port(
    session: Session, request: PortRequest, caller: Caller | None = None
) -> tuple[t.Port, bool]:
    """Create the port, or return it unchanged if it exists as asked (a retried request).

    "As asked" means: in the requested network, with the requested MAC and addresses where
    they were given, for the same host. Anything else is a Conflict: the name is taken by
    another port. Return the port and whether it was created.
    """
    port = session.scalar(select(t.Port).where(t.Port.name == request.name))
    if port is None:
        return create_ports(session, [request], caller)[0], True
    if caller is not None:
        caller.require_port(port)
    network = session.get_one(t.Network, port.network_id)
    host_id = _Batch(session, caller, 1).host_id(request)
    differences = [
        what for what, same in (
            (f'network "{network.name}"', network.name == request.network),
            (f"MAC {port.mac}", request.mac is None or parse_mac(request.mac) == port.mac),
            ("other addresses", set(_given_addresses(request.ips))
             <= {a.address for a in port.addresses}),
            ("another host", request.host is None and caller is None
             or host_id == port.requested_host_id),
        ) if not same
    ]
    if differences:
        raise Conflict("name", f'port "{request.name}" already exists with '
                       f"{', '.join(differences)}: delete it first, or use another name")
    return port, False


def delete_port(session: Session, name: str, caller: Caller | None = None) -> None:
    """Delete port `name`; its addresses and group memberships go with it."""
    port = port_named(session, name)
    if caller is not None:
        caller.require_port(port)
    session.execute(delete(t.Port).where(t.Port.id == port.id))


def port_records(session: Session, ports: list[t.Port]) -> list[dict]:
    """The JSON records of `ports` (docs/cli.md, `weft port list --json`)."""
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
            "requested_host": hosts.get(p.requested_host_id),
        }
        for p in ports
    ]


def list_ports(
    session: Session, network: str | None = None, host: str | None = None,
    caller: Caller | None = None,
) -> list[dict]:
    """Ports by name, of one network or bound on one host if asked; a host token sees only
    the ports on its own host."""
    query = select(t.Port).order_by(t.Port.name)
    if caller is not None and not caller.is_admin:
        query = query.where(or_(t.Port.host_id == caller.host_id,
                                t.Port.requested_host_id == caller.host_id))
    if network is not None:
        query = query.where(t.Port.network_id == network_named(session, network, "network").id)
    if host is not None:
        query = query.where(t.Port.host_id == host_named(session, host, "host").id)
    return port_records(session, list(session.scalars(query)))


def show_port(session: Session, name: str, caller: Caller | None = None) -> dict:
    """The port with its binding and the groups it is a member of."""
    port = port_named(session, name)
    if caller is not None:
        caller.require_port(port)
    groups = session.execute(
        select(t.MulticastGroup.address, t.GroupMember.origin, t.GroupMember.expires_at)
        .join(t.GroupMember, t.GroupMember.group_id == t.MulticastGroup.id)
        .where(t.GroupMember.port_id == port.id)
        .order_by(t.MulticastGroup.id, t.GroupMember.origin)
    ).all()
    (record,) = port_records(session, [port])
    return record | {
        "groups": [
            {"address": str(g.address), "origin": g.origin, "expires_at": timestamp(g.expires_at)}
            for g in groups
        ]
    }
