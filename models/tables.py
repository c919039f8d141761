"""The Weft schema: the desired state written by admins and the observed state written by the
controller.

Desired (northbound, written by `weft` admin commands): hosts, networks, subnets, ports,
port_addresses, multicast_groups and static group_members.
Credentials (written by admins): api_tokens, the bearer tokens of the HTTP API.
Observed (southbound, written by the controller): host state, port bindings (host, ofport),
tunnels, snooped group_members, switches and controllers.

Constraints live here so that every writer, not only the CLI, is held to them. Checks that
need PostgreSQL's network operators (`<<` containment, `&&` overlap) are created on PostgreSQL
only; on SQLite the admin layer performs the same checks before writing.
"""

from __future__ import annotations

import datetime as dt
import ipaddress

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from models.limits import (
    DATAPATH_TYPES,
    DEFAULT_MTU,
    HOST_STATES,
    MEMBER_ORIGINS,
    MTU_MAX,
    MTU_MIN,
    PORT_STATES,
    TOKEN_ROLES,
    TUNNEL_STATES,
    UNREGISTERED_MULTICAST,
    VNI_MAX,
    VNI_MIN,
)
from models.types import (
    MAX_DATAPATH_ID,
    CidrNetwork,
    DatapathId,
    InetAddress,
    MacAddress,
    UtcDateTime,
    utcnow,
)

# Quoted bounds: PostgreSQL reads them as numeric; SQLite compares them as text with the
# 20-digit text DatapathId stores there (unquoted, 2**64 - 1 would be a lossy float in SQLite).
DATAPATH_ID_RANGE = f"datapath_id BETWEEN '0' AND '{MAX_DATAPATH_ID}'"

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _pg_only(constraint):
    """Create `constraint` on PostgreSQL only (it uses operators SQLite lacks)."""
    return constraint.ddl_if(dialect="postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UtcDateTime}


class Host(Base):
    """A machine running Open vSwitch that Weft manages over OVSDB."""

    __tablename__ = "hosts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    ovsdb_target: Mapped[str] = mapped_column(String(255), unique=True)
    tunnel_ip: Mapped[ipaddress.IPv4Address] = mapped_column(InetAddress, unique=True)
    datapath_type: Mapped[str] = mapped_column(String(16), default="netdev")
    datapath_id: Mapped[int] = mapped_column(DatapathId, unique=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    state_reason: Mapped[str | None] = mapped_column(Text)
    last_seen: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())

    __table_args__ = (
        CheckConstraint("length(name) > 0", name="name_not_empty"),
        CheckConstraint(_one_of("datapath_type", DATAPATH_TYPES), name="datapath_type"),
        CheckConstraint(_one_of("state", HOST_STATES), name="state"),
        CheckConstraint(DATAPATH_ID_RANGE, name="datapath_id_range"),
    )


class Network(Base):
    """A virtual layer-2 network spanning hosts; one VXLAN VNI, isolated from all others."""

    __tablename__ = "networks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    vni: Mapped[int] = mapped_column(Integer, unique=True)
    mtu: Mapped[int] = mapped_column(Integer, default=DEFAULT_MTU)
    unregistered_multicast: Mapped[str] = mapped_column(String(8), default="drop")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())

    subnets: Mapped[list[Subnet]] = relationship(
        back_populates="network", cascade="all, delete-orphan", order_by="Subnet.id"
    )

    __table_args__ = (
        CheckConstraint("length(name) > 0", name="name_not_empty"),
        CheckConstraint(f"vni BETWEEN {VNI_MIN} AND {VNI_MAX}", name="vni_range"),
        CheckConstraint(f"mtu BETWEEN {MTU_MIN} AND {MTU_MAX}", name="mtu_range"),
        CheckConstraint(
            _one_of("unregistered_multicast", UNREGISTERED_MULTICAST),
            name="unregistered_multicast",
        ),
    )


class Subnet(Base):
    """An IPv4 or IPv6 prefix of a network. Prefixes of one network never overlap."""

    __tablename__ = "subnets"

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"))
    cidr: Mapped[ipaddress.IPv4Network | ipaddress.IPv6Network] = mapped_column(CidrNetwork)
    gateway: Mapped[ipaddress.IPv4Address | ipaddress.IPv6Address | None] = mapped_column(
        InetAddress
    )

    network: Mapped[Network] = relationship(back_populates="subnets")

    __table_args__ = (
        # Target of the composite keys that make port_addresses copy (and so check) the cidr.
        UniqueConstraint("id", "network_id", "cidr"),
        _pg_only(CheckConstraint("gateway IS NULL OR gateway << cidr", name="gateway_in_cidr")),
        _pg_only(
            ExcludeConstraint(
                ("network_id", "="),
                ("cidr", "&&"),
                name="ex_subnets_no_overlap",
                using="gist",
                ops={"cidr": "inet_ops"},
            )
        ),
    )


class Port(Base):
    """A container's interface on a network. `name` is the OVS `external_ids:iface-id`."""

    __tablename__ = "ports"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="RESTRICT"))
    mac: Mapped[str] = mapped_column(MacAddress)
    # Observed by the controller: where the interface is plugged in.
    # Deleting a host unbinds its ports first (same transaction): see the state check below.
    host_id: Mapped[int | None] = mapped_column(ForeignKey("hosts.id"))
    # Desired, for ports created by a host's API token: the host it is meant to bind on.
    requested_host_id: Mapped[int | None] = mapped_column(
        ForeignKey("hosts.id", ondelete="SET NULL")
    )
    ofport: Mapped[int | None] = mapped_column(Integer)
    mtu: Mapped[int | None] = mapped_column(Integer)  # its interface's, as OVSDB reports it
    state: Mapped[str] = mapped_column(String(16), default="unbound")
    bound_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())

    addresses: Mapped[list[PortAddress]] = relationship(
        back_populates="port", cascade="all, delete-orphan", order_by="PortAddress.id"
    )

    __table_args__ = (
        UniqueConstraint("network_id", "mac"),
        UniqueConstraint("id", "network_id"),
        CheckConstraint("length(name) > 0", name="name_not_empty"),
        CheckConstraint(_one_of("state", PORT_STATES), name="state"),
        CheckConstraint("ofport IS NULL OR ofport BETWEEN 1 AND 65279", name="ofport_range"),
        CheckConstraint(
            "(state = 'bound') = (host_id IS NOT NULL AND ofport IS NOT NULL)",
            name="bound_has_host_and_ofport",
        ),
    )


class PortAddress(Base):
    """An IP address of a port, unique within its network and inside one of its subnets.

    `network_id` and `cidr` are copies pinned by composite foreign keys, so the database can
    check uniqueness per network and containment without a trigger.
    """

    __tablename__ = "port_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    port_id: Mapped[int] = mapped_column()
    network_id: Mapped[int] = mapped_column()
    subnet_id: Mapped[int] = mapped_column()
    cidr: Mapped[ipaddress.IPv4Network | ipaddress.IPv6Network] = mapped_column(CidrNetwork)
    address: Mapped[ipaddress.IPv4Address | ipaddress.IPv6Address] = mapped_column(InetAddress)

    port: Mapped[Port] = relationship(back_populates="addresses")

    __table_args__ = (
        UniqueConstraint("network_id", "address"),
        ForeignKeyConstraint(
            ["port_id", "network_id"], ["ports.id", "ports.network_id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["subnet_id", "network_id", "cidr"],
            ["subnets.id", "subnets.network_id", "subnets.cidr"],
            ondelete="RESTRICT",
        ),
        _pg_only(CheckConstraint("address << cidr", name="address_in_cidr")),
        _pg_only(
            CheckConstraint(
                "masklen(address) = CASE family(address) WHEN 4 THEN 32 ELSE 128 END",
                name="address_is_host",
            )
        ),
    )


class MulticastGroup(Base):
    """An IP multicast group address within one network."""

    __tablename__ = "multicast_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"))
    address: Mapped[ipaddress.IPv4Address | ipaddress.IPv6Address] = mapped_column(InetAddress)
    origin: Mapped[str] = mapped_column(String(8), default="static")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())

    __table_args__ = (
        UniqueConstraint("network_id", "address"),
        UniqueConstraint("id", "network_id"),
        CheckConstraint(_one_of("origin", MEMBER_ORIGINS), name="origin"),
        _pg_only(
            CheckConstraint(
                "(address << inet '224.0.0.0/4' AND NOT address << inet '224.0.0.0/24')"
                " OR address << inet 'ff00::/8'",
                name="routable_multicast",
            )
        ),
    )


class GroupMember(Base):
    """A port's membership of a multicast group: static (admin) or snooped (IGMP, ages out)."""

    __tablename__ = "group_members"

    group_id: Mapped[int] = mapped_column(primary_key=True)
    port_id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(String(8), primary_key=True)
    network_id: Mapped[int] = mapped_column()
    expires_at: Mapped[dt.datetime | None]

    __table_args__ = (
        ForeignKeyConstraint(
            ["group_id", "network_id"],
            ["multicast_groups.id", "multicast_groups.network_id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["port_id", "network_id"], ["ports.id", "ports.network_id"], ondelete="CASCADE"
        ),
        CheckConstraint(_one_of("origin", MEMBER_ORIGINS), name="origin"),
        CheckConstraint("(origin = 'snooped') = (expires_at IS NOT NULL)", name="snooped_expires"),
    )


class Tunnel(Base):
    """Observed VXLAN port on `host` towards `peer`: its ofport and BFD state."""

    __tablename__ = "tunnels"

    id: Mapped[int] = mapped_column(primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"))
    peer_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"))
    ofport: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(8), default="unknown")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())

    __table_args__ = (
        UniqueConstraint("host_id", "peer_id"),
        CheckConstraint("host_id <> peer_id", name="not_to_self"),
        CheckConstraint(_one_of("status", TUNNEL_STATES), name="status"),
        CheckConstraint("ofport IS NULL OR ofport BETWEEN 1 AND 65279", name="ofport_range"),
    )


class StrayInterface(Base):
    """An interface on br-int whose iface-id names no port: reported, never bound."""

    __tablename__ = "stray_interfaces"

    host_id: Mapped[int] = mapped_column(
        ForeignKey("hosts.id", ondelete="CASCADE"), primary_key=True
    )
    iface_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    ofport: Mapped[int | None] = mapped_column(Integer)
    seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())


class Switch(Base):
    """An OpenFlow datapath that connected to a controller, registered as a host or not."""

    __tablename__ = "switches"

    datapath_id: Mapped[int] = mapped_column(DatapathId, primary_key=True)
    address: Mapped[str | None] = mapped_column(String(255))
    connected: Mapped[bool] = mapped_column(Boolean, default=False)
    flows: Mapped[int | None] = mapped_column(Integer)
    last_seen: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())

    __table_args__ = (
        CheckConstraint(DATAPATH_ID_RANGE, name="datapath_id_range"),
    )


class Controller(Base):
    """A running controller instance; `last_seen` is its heartbeat."""

    __tablename__ = "controllers"

    id: Mapped[int] = mapped_column(primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    last_seen: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())


class ApiToken(Base):
    """A bearer token of the HTTP API, stored as the SHA-256 of its secret (shown once).

    role "admin" may do everything; role "host" is bound to one host and may only handle the
    ports that bind there (northbound/tokens.py). A host token goes with its host.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    host_id: Mapped[int | None] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"))
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    revoked_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint(_one_of("role", TOKEN_ROLES), name="role"),
        CheckConstraint("(role = 'host') = (host_id IS NOT NULL)", name="host_role_has_host"),
    )
