"""Allocation of VNIs to networks and of addresses and MACs to ports, done in the database so
that nothing is ever given out twice.

VNIs: the lowest free one from 1, unless the admin chose one.

Which addresses a port may have: those of Python's `ip_network(...).hosts()`, i.e. every
address of the subnet but the network address and, for IPv4, the broadcast address (a /31 or
/32, /127 or /128 has no such reserved address), and never the subnet's gateway. Allocation
takes the lowest free one, so a network's addresses read like a list.

Which MACs: locally administered unicast `02:VV:VV:VV:NN:NN`, VV the network's VNI and NN the
lowest free number from 1; a MAC thus tells the network it belongs to, and differs between
networks even though the schema only asks for uniqueness within one.

Concurrency. The unique constraints on networks.vni, (network_id, address) and
(network_id, mac) are what guarantees "never twice"; the locks below keep concurrent
allocators from all choosing the same lowest free value and then failing on those constraints:

- PostgreSQL: `lock_network` takes the network's row `FOR NO KEY UPDATE` before anything is
  read. Allocators of one network queue on it; as each statement in READ COMMITTED sees what
  the previous holder committed, "lowest free" is computed on the current state. Other
  networks' allocators, readers (the controller) and foreign-key checks (which take
  `FOR KEY SHARE`) never wait. A lock rather than retrying on a unique violation: with eight
  writers aiming at the same lowest address, retries collide again and again, and each retry
  must redo the whole transaction. Networks have no parent row to lock, so creating one takes
  a transaction-level advisory lock (`lock_vnis`) instead.
Cost. `allocator_for` picks how "lowest free" is found. For one port on PostgreSQL,
`QueryingAllocator` asks the database (one query per value, an anti-join over the network's
used values in C); for a batch, or on SQLite, `ScanningAllocator` reads the used values once
and allocates in memory. Reading a large network's values into Python costs ~30 us each,
which made one port in a 1,000-port network take ~60 ms before the query did it in ~1 ms.

- SQLite: one writer at a time by design. Write transactions begin with `BEGIN IMMEDIATE`
  (northbound/session.py), so reading the used addresses and inserting happen under the one write
  lock, and a second writer waits (busy_timeout) instead of failing on a stale read.
"""

from __future__ import annotations

import ipaddress

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from models import tables as t
from models.types import IPAddress, IPNetwork, normalize_mac

VNI_LOCK = 0x5746_564E_49  # advisory lock key, "WFVNI": held while a network is created

MAC_PREFIX = 0x02  # first octet: locally administered (bit 1), unicast (bit 0 clear)
MAC_NUMBERS = 2**16 - 1  # NN of 02:VV:VV:VV:NN:NN runs from 1 to this


class IpamError(Exception):
    """A network has no address or MAC left to give."""


class VnisExhausted(IpamError):
    def __init__(self) -> None:
        super().__init__(f"every VNI from {t.VNI_MIN} to {t.VNI_MAX} is in use")


class SubnetFull(IpamError):
    def __init__(self, network: str, subnet: t.Subnet) -> None:
        super().__init__(
            f'subnet {subnet.cidr} of network "{network}" is full: all '
            f"{usable_count(subnet)} usable addresses are taken"
        )
        self.cidr = subnet.cidr


class MacSpaceFull(IpamError):
    def __init__(self, network: str, vni: int) -> None:
        super().__init__(
            f'network "{network}" has used all {MAC_NUMBERS} MACs {_mac(vni, 0)[:-5]}xx:xx; '
            "give the port a MAC of its own"
        )


def lock_vnis(session: Session) -> None:
    """Serialise network creation until this transaction ends (see module doc)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(VNI_LOCK)))


def allocate_vni(session: Session) -> int:
    """The lowest VNI no network has. Call within `lock_vnis`."""
    candidate = t.VNI_MIN
    for used in session.scalars(select(t.Network.vni).order_by(t.Network.vni)):
        if used != candidate:
            break
        candidate += 1
    if candidate > t.VNI_MAX:
        raise VnisExhausted()
    return candidate


def lock_network(session: Session, network_id: int) -> None:
    """Serialise allocations in one network until this transaction ends (see module doc)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(t.Network.id).where(t.Network.id == network_id).with_for_update(key_share=True)
        )


# ---------------------------------------------------------------- addresses


def usable_bounds(cidr: IPNetwork) -> tuple[int, int]:
    """First and last address (as ints) a port may have in `cidr`, gateway aside."""
    first, last = int(cidr.network_address), int(cidr.broadcast_address)
    if cidr.num_addresses <= 2:  # /31, /32, /127, /128: point-to-point or single address
        return first, last
    return first + 1, last if cidr.version == 6 else last - 1


def usable_count(subnet: t.Subnet) -> int:
    """How many addresses of the subnet ports may have (its gateway excluded)."""
    first, last = usable_bounds(subnet.cidr)
    return last - first + 1 - (subnet.gateway is not None)


def reserved_reason(cidr: IPNetwork, gateway: IPAddress | None, address: IPAddress) -> str | None:
    """Why `address` (inside `cidr`) cannot be a port's, or None if it can."""
    first, last = usable_bounds(cidr)
    if int(address) < first:
        return f"the network address of {cidr}"
    if int(address) > last:
        return f"the broadcast address of {cidr}"
    if address == gateway:
        return f"the gateway of {cidr}"
    return None


def _mac(vni: int, number: int) -> str:
    return normalize_mac(f"{MAC_PREFIX:02x}{vni:06x}{number:04x}")


def allocator_for(session: Session, network: t.Network, ports: int) -> NetworkAllocator:
    """The allocator for `ports` new ports of `network`; call within `lock_network`."""
    if ports == 1 and session.get_bind().dialect.name == "postgresql":
        return QueryingAllocator(session, network)
    return ScanningAllocator(session, network)


class NetworkAllocator:
    """Hands out a network's lowest free MACs and addresses (module doc: "Cost")."""

    network: t.Network

    def mac_is_free(self, mac: str) -> bool:
        raise NotImplementedError

    def take_mac(self, mac: str) -> str:
        """Record that `mac` is now used (by a port of this batch)."""
        raise NotImplementedError

    def new_mac(self) -> str:
        """The lowest free `02:VV:VV:VV:NN:NN` (module doc); raise MacSpaceFull if none is left."""
        raise NotImplementedError

    def take_address(self, subnet: t.Subnet, address: IPAddress) -> IPAddress:
        raise NotImplementedError

    def new_address(self, subnet: t.Subnet) -> IPAddress:
        """The lowest address of `subnet` no port has; raise SubnetFull if there is none."""
        raise NotImplementedError


class QueryingAllocator(NetworkAllocator):
    """PostgreSQL finds each lowest free value for one port: the candidates are the first
    value and every used value plus one, less the used ones."""

    MAC_NUMBERS_USED = text(
        "SELECT get_byte(macaddr_send(mac), 4) * 256 + get_byte(macaddr_send(mac), 5) AS n "
        "FROM ports WHERE network_id = :network AND mac::text LIKE :prefix"
    )
    LOWEST_FREE_MAC = text(
        "WITH used AS ({used}) SELECT min(c) FROM "
        "(SELECT 1 AS c UNION ALL SELECT n + 1 FROM used) AS candidates "
        "WHERE c <= :last AND c NOT IN (SELECT n FROM used)"
    )
    LOWEST_FREE_ADDRESS = text(
        "WITH used AS (SELECT address FROM port_addresses WHERE subnet_id = :subnet "
        "UNION ALL SELECT CAST(:gateway AS inet) WHERE :gateway IS NOT NULL) "
        "SELECT host(min(c)) FROM (SELECT CAST(:first AS inet) AS c "
        "UNION ALL SELECT address + 1 FROM used) AS candidates "
        "WHERE c <= CAST(:last AS inet) AND c NOT IN (SELECT address FROM used)"
    )

    def __init__(self, session: Session, network: t.Network) -> None:
        self.session, self.network = session, network

    def mac_is_free(self, mac: str) -> bool:
        return self.session.scalar(
            select(t.Port.id).where(t.Port.network_id == self.network.id, t.Port.mac == mac)
        ) is None

    def take_mac(self, mac: str) -> str:
        return mac  # one port: nothing else will ask

    def new_mac(self) -> str:
        query = text(self.LOWEST_FREE_MAC.text.format(used=self.MAC_NUMBERS_USED.text))
        number = self.session.scalar(query, {
            "network": self.network.id, "prefix": _mac(self.network.vni, 0)[:-5] + "%",
            "last": MAC_NUMBERS,
        })
        if number is None:
            raise MacSpaceFull(self.network.name, self.network.vni)
        return _mac(self.network.vni, number)

    def take_address(self, subnet: t.Subnet, address: IPAddress) -> IPAddress:
        return address

    def new_address(self, subnet: t.Subnet) -> IPAddress:
        first, last = usable_bounds(subnet.cidr)
        kind = type(subnet.cidr.network_address)
        found = self.session.scalar(self.LOWEST_FREE_ADDRESS, {
            "subnet": subnet.id, "first": str(kind(first)), "last": str(kind(last)),
            "gateway": None if subnet.gateway is None else str(subnet.gateway),
        })
        if found is None:
            raise SubnetFull(self.network.name, subnet)
        return ipaddress.ip_address(found)


class ScanningAllocator(NetworkAllocator):
    """What is free in one network, read once: the MACs and the addresses of each subnet.
    Each allocation takes the lowest free value and remembers it, so a batch never hands the
    same value out twice."""

    def __init__(self, session: Session, network: t.Network) -> None:
        self.network = network
        self._macs = set(
            session.scalars(select(t.Port.mac).where(t.Port.network_id == network.id))
        )
        self._next_mac = 1
        self._taken: dict[int, set[int]] = {}
        self._next_address: dict[int, int] = {}
        for subnet in network.subnets:
            taken = {
                int(a) for a in session.scalars(
                    select(t.PortAddress.address).where(t.PortAddress.subnet_id == subnet.id)
                )
            }
            if subnet.gateway is not None:
                taken.add(int(subnet.gateway))
            self._taken[subnet.id] = taken
            self._next_address[subnet.id] = usable_bounds(subnet.cidr)[0]

    def mac_is_free(self, mac: str) -> bool:
        return mac not in self._macs

    def take_mac(self, mac: str) -> str:
        self._macs.add(mac)
        return mac

    def new_mac(self) -> str:
        for number in range(self._next_mac, MAC_NUMBERS + 1):
            mac = _mac(self.network.vni, number)
            if mac not in self._macs:
                self._next_mac = number + 1
                return self.take_mac(mac)
        raise MacSpaceFull(self.network.name, self.network.vni)

    def take_address(self, subnet: t.Subnet, address: IPAddress) -> IPAddress:
        self._taken[subnet.id].add(int(address))
        return address

    def new_address(self, subnet: t.Subnet) -> IPAddress:
        taken = self._taken[subnet.id]
        candidate, last = self._next_address[subnet.id], usable_bounds(subnet.cidr)[1]
        while candidate in taken:
            candidate += 1
        if candidate > last:
            raise SubnetFull(self.network.name, subnet)
        self._next_address[subnet.id] = candidate + 1
        return self.take_address(subnet, type(subnet.cidr.network_address)(candidate))

