"""Snooped membership rows written a batch at a time (controller/snooped.py), on both
databases: joins create groups and members in one transaction, a repeated join refreshes,
leaves and expiry delete, and a snooped group goes with its last member while an admin's
group stays."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
from sqlalchemy import select

from controller import snooped
from controller.snooped import Membership
from models import tables as t
from models.db import transaction
from models.types import utcnow
from northbound.groups import create_group
from northbound.networks import create_network
from northbound.ports import create_port

G = [ipaddress.IPv4Address(f"239.5.0.{n}") for n in range(1, 6)]


@pytest.fixture
def ids(engine):
    """network id and the ids of ports a, b and c in it."""
    with transaction(engine) as session:
        create_network(session, "blue", cidrs=["198.51.100.0/24"])
        ports = [create_port(session, name, "blue") for name in "abc"]
        create_group(session, "blue", str(G[4]))  # an admin's group
        session.flush()
        return ports[0].network_id, [p.id for p in ports]


def members(engine) -> dict[tuple[str, str], dt.datetime]:
    with transaction(engine) as session:
        rows = session.execute(
            select(t.Port.name, t.MulticastGroup.address, t.GroupMember.expires_at)
            .join(t.GroupMember, t.GroupMember.port_id == t.Port.id)
            .join(t.MulticastGroup, t.MulticastGroup.id == t.GroupMember.group_id)
        )
        return {(name, str(address)): expires for name, address, expires in rows}


def groups(engine) -> dict[str, str]:
    with transaction(engine) as session:
        rows = session.execute(select(t.MulticastGroup.address, t.MulticastGroup.origin))
        return {str(address): origin for address, origin in rows}


def test_one_batch_of_joins_and_leaves(engine, ids):
    network, (a, b, c) = ids
    soon = utcnow() + dt.timedelta(seconds=60)
    joins = [Membership(network, a, G[0]), Membership(network, b, G[0]),
             Membership(network, c, G[1]), Membership(network, a, G[4])]  # fmt: skip
    with transaction(engine) as session:
        assert snooped.write(session, joins, [], soon) == 4
    assert set(members(engine)) == {("a", str(G[0])), ("b", str(G[0])), ("c", str(G[1])),
                                    ("a", str(G[4]))}  # fmt: skip
    assert groups(engine) == {str(G[0]): "snooped", str(G[1]): "snooped", str(G[4]): "static"}

    later = soon + dt.timedelta(seconds=60)
    leaves = [Membership(network, b, G[0]), Membership(network, c, G[1]),
              Membership(network, a, G[4]), Membership(network, c, G[3])]  # fmt: skip
    with transaction(engine) as session:
        created = snooped.write(session, [Membership(network, a, G[0])], leaves, later)
    assert created == 0  # a refresh
    found = members(engine)
    assert set(found) == {("a", str(G[0]))}
    assert found["a", str(G[0])] > soon
    assert groups(engine) == {str(G[0]): "snooped", str(G[4]): "static"}


def test_expiry_deletes_old_members_and_their_snooped_groups(engine, ids):
    network, (a, b, _) = ids
    now = utcnow()
    with transaction(engine) as session:
        snooped.write(session, [Membership(network, a, G[0])], [], now - dt.timedelta(seconds=1))
        snooped.write(session, [Membership(network, b, G[1])], [], now + dt.timedelta(hours=1))
    with transaction(engine) as session:
        assert snooped.expire(session, now) == 1
        loaded = list(snooped.load(session))
    assert [(n, p, g) for n, p, g, _ in loaded] == [(network, b, G[1])]
    assert groups(engine) == {str(G[1]): "snooped", str(G[4]): "static"}
