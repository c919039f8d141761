"""models/ipam.py: which addresses a port may have, and lowest-free allocation in a database."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from models import ipam
from models import tables as t
from northbound.networks import create_network
from northbound.ports import create_port
from northbound.session import writing

pytestmark = pytest.mark.postgres


@given(
    st.one_of(
        st.builds(lambda n, p: ipaddress.ip_network((n, p), strict=False),
                  st.integers(0, 2**32 - 1), st.integers(22, 32)),
        st.builds(lambda n, p: ipaddress.ip_network((n, p), strict=False),
                  st.integers(0, 2**128 - 1), st.integers(118, 128)),
    )
)
def test_usable_addresses_are_exactly_pythons_hosts(cidr):
    usable = {a for a in cidr if ipam.reserved_reason(cidr, None, a) is None}
    assert usable == set(cidr.hosts())
    first, last = ipam.usable_bounds(cidr)
    assert last - first + 1 == len(usable)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("198.51.100.0", "the network address of 198.51.100.0/24"),
        ("198.51.100.255", "the broadcast address of 198.51.100.0/24"),
        ("198.51.100.1", "the gateway of 198.51.100.0/24"),
        ("198.51.100.2", None),
    ],
)
def test_reserved_reasons(address, reason):
    cidr = ipaddress.ip_network("198.51.100.0/24")
    gateway = ipaddress.ip_address("198.51.100.1")
    assert ipam.reserved_reason(cidr, gateway, ipaddress.ip_address(address)) == reason


def test_ipv6_has_no_broadcast_but_skips_the_subnet_router_anycast():
    cidr = ipaddress.ip_network("2001:db8::/126")
    assert ipam.usable_bounds(cidr) == (int(cidr[1]), int(cidr[3]))


def test_allocation_fills_gaps_lowest_first(migrated_database_url):
    with writing(migrated_database_url) as session:
        create_network(session, "blue", ["198.51.100.0/28"], ["198.51.100.3"])
        for name in ("a", "b", "c", "d"):
            create_port(session, name, "blue")
        for name in ("b", "d"):
            session.delete(session.scalar(select(t.Port).where(t.Port.name == name)))
    with writing(migrated_database_url) as session:
        ports = [create_port(session, name, "blue") for name in "xyz"]
    # a=.1 b=.2 (gateway .3) c=.4 d=.5; b and d gone: .2, .5, then .6
    assert [str(p.addresses[0].address) for p in ports] == [
        "198.51.100.2", "198.51.100.5", "198.51.100.6"]
    # MACs likewise: numbers 2 and 4 are free again, then 5
    assert [p.mac[-5:] for p in ports] == ["00:02", "00:04", "00:05"]


def test_a_full_subnet_raises_subnet_full_naming_it(migrated_database_url):
    with writing(migrated_database_url) as session:
        create_network(session, "tiny", ["198.51.100.0/30"])
        create_port(session, "a", "tiny")
        create_port(session, "b", "tiny")
        with pytest.raises(ipam.SubnetFull, match=r"subnet 198.51.100.0/30 of network \"tiny\""):
            create_port(session, "c", "tiny")
