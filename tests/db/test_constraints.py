"""The database itself rejects what breaks the schema's rules, whoever writes.

Every write is a plain SQLAlchemy Core insert straight into the tables (no admin layer, no
validation of ours), each in its own transaction, and each rejection is matched by the name
of the constraint that must have caught it. PostgreSQL only, except the datapath id range,
which both databases hold.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from models import tables as t
from models.db import make_engine
from models.types import MAX_DATAPATH_ID

pytestmark = pytest.mark.postgres  # needs the throwaway cluster


@pytest.fixture
def postgres(migrated_postgres_url) -> Engine:
    engine = make_engine(migrated_postgres_url)
    yield engine
    engine.dispose()


def add(engine: Engine, model, **values) -> int:
    """Insert one row in a transaction of its own; return its id."""
    with engine.begin() as connection:
        return connection.execute(insert(model).values(**values).returning(model.id)).scalar_one()


def add_network(engine: Engine, name: str, vni: int) -> int:
    return add(engine, t.Network, name=name, vni=vni)


def add_subnet(engine: Engine, network_id: int, cidr: str, gateway: str | None = None) -> int:
    return add(engine, t.Subnet, network_id=network_id, cidr=cidr, gateway=gateway)


def add_port(engine: Engine, network_id: int, name: str, mac: str, **binding) -> int:
    return add(engine, t.Port, network_id=network_id, name=name, mac=mac, **binding)


def add_address(engine: Engine, port_id: int, subnet_id: int, cidr: str, address: str) -> int:
    with engine.connect() as connection:
        network_id = connection.execute(
            select(t.Port.network_id).where(t.Port.id == port_id)
        ).scalar_one()
    return add(
        engine,
        t.PortAddress,
        port_id=port_id,
        network_id=network_id,
        subnet_id=subnet_id,
        cidr=cidr,
        address=address,
    )


def add_host(engine: Engine, name: str, datapath_id: int) -> int:
    """A host; tests here add at most one, so the other unique columns are fixed."""
    return add(
        engine,
        t.Host,
        name=name,
        ovsdb_target="unix:/run/weft-test/db.sock",
        tunnel_ip="203.0.113.1",
        datapath_id=datapath_id,
    )


def test_vni_is_unique(postgres):
    add_network(postgres, "blue", 100)
    with pytest.raises(IntegrityError, match="uq_networks_vni"):
        add_network(postgres, "red", 100)


@pytest.mark.parametrize("vni", [0, 2**24])
def test_vni_outside_24_bits_is_rejected(postgres, vni):
    with pytest.raises(IntegrityError, match="ck_networks_vni_range"):
        add_network(postgres, "blue", vni)


@pytest.mark.parametrize("vni", [1, 2**24 - 1])
def test_vni_at_the_limits_is_accepted(postgres, vni):
    add_network(postgres, "blue", vni)


def test_mac_is_unique_within_a_network_only(postgres):
    blue, red = add_network(postgres, "blue", 100), add_network(postgres, "red", 200)
    add_port(postgres, blue, "blue-1", "02:00:00:00:00:01")
    add_port(postgres, red, "red-1", "02:00:00:00:00:01")
    with pytest.raises(IntegrityError, match="uq_ports_network_id_mac"):
        add_port(postgres, blue, "blue-2", "02:00:00:00:00:01")


def test_ip_is_unique_within_a_network_only(postgres):
    ports = {}
    for name, vni in (("blue", 100), ("red", 200)):
        network = add_network(postgres, name, vni)
        subnet = add_subnet(postgres, network, "198.51.100.0/24")
        first = add_port(postgres, network, f"{name}-1", "02:00:00:00:00:01")
        add_address(postgres, first, subnet, "198.51.100.0/24", "198.51.100.10")
        ports[name] = (network, subnet)
    blue, blue_subnet = ports["blue"]
    second = add_port(postgres, blue, "blue-2", "02:00:00:00:00:02")
    with pytest.raises(IntegrityError, match="uq_port_addresses_network_id_address"):
        add_address(postgres, second, blue_subnet, "198.51.100.0/24", "198.51.100.10")


@pytest.fixture
def port_in_a_25(postgres) -> tuple[int, int]:
    """(port id, subnet id) of a port on a network whose one subnet is 198.51.100.0/25."""
    network = add_network(postgres, "blue", 100)
    subnet = add_subnet(postgres, network, "198.51.100.0/25")
    return add_port(postgres, network, "blue-1", "02:00:00:00:00:01"), subnet


def test_ip_outside_its_subnet_is_rejected(postgres, port_in_a_25):
    port, subnet = port_in_a_25
    with pytest.raises(IntegrityError, match="ck_port_addresses_address_in_cidr"):
        add_address(postgres, port, subnet, "198.51.100.0/25", "198.51.100.200")


def test_address_cannot_claim_another_cidr_than_its_subnets(postgres, port_in_a_25):
    """The copied cidr is pinned to the subnet's, so the containment check cannot be dodged."""
    port, subnet = port_in_a_25
    with pytest.raises(IntegrityError, match="fk_port_addresses_subnet_id_network_id_cidr_subnets"):
        add_address(postgres, port, subnet, "198.51.100.0/24", "198.51.100.200")


def test_overlapping_cidrs_within_a_network_only_are_rejected(postgres):
    blue, red = add_network(postgres, "blue", 100), add_network(postgres, "red", 200)
    add_subnet(postgres, blue, "198.51.100.0/24")
    add_subnet(postgres, red, "198.51.100.128/25")
    add_subnet(postgres, blue, "198.18.0.0/24")
    with pytest.raises(IntegrityError, match="ex_subnets_no_overlap"):
        add_subnet(postgres, blue, "198.51.100.128/25")


def test_gateway_outside_its_cidr_is_rejected(postgres):
    network = add_network(postgres, "blue", 100)
    add_subnet(postgres, network, "198.51.100.0/25", gateway="198.51.100.1")
    with pytest.raises(IntegrityError, match="ck_subnets_gateway_in_cidr"):
        add_subnet(postgres, network, "198.51.100.128/25", gateway="198.51.100.1")


def test_bound_port_needs_an_ofport(postgres):
    network = add_network(postgres, "blue", 100)
    host = add_host(postgres, "host-a", 1)
    add_port(
        postgres, network, "blue-1", "02:00:00:00:00:01", host_id=host, ofport=5, state="bound"
    )
    with pytest.raises(IntegrityError, match="ck_ports_bound_has_host_and_ofport"):
        add_port(postgres, network, "blue-2", "02:00:00:00:00:02", host_id=host, state="bound")


# 2**53 + 1 is the first integer a float cannot hold: it catches storage that goes through one.
@pytest.mark.parametrize("datapath_id", [0, 2**53 + 1, 2**63, MAX_DATAPATH_ID])
def test_datapath_ids_are_stored_exactly(engine, datapath_id):
    host = add_host(engine, "host-a", datapath_id)
    with engine.begin() as connection:
        connection.execute(insert(t.Switch).values(datapath_id=datapath_id))
        stored_host = connection.execute(select(t.Host.datapath_id).where(t.Host.id == host))
        assert stored_host.scalar_one() == datapath_id
        assert connection.execute(select(t.Switch.datapath_id)).scalar_one() == datapath_id


@pytest.mark.parametrize("datapath_id", [-1, MAX_DATAPATH_ID + 1])
def test_datapath_ids_beyond_64_bits_are_rejected(engine, datapath_id):
    with pytest.raises(IntegrityError, match="ck_hosts_datapath_id_range"):
        add_host(engine, "host-a", datapath_id)
    with (
        pytest.raises(IntegrityError, match="ck_switches_datapath_id_range"),
        engine.begin() as c,
    ):
        c.execute(insert(t.Switch).values(datapath_id=datapath_id))
