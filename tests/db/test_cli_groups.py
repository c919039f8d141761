"""`weft group`: create, del, join, leave, list with static and snooped members; join needs an
existing group; link-local multicast is refused with the reason."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert, select
from test_cli_common import Weft

from models import tables as t
from models.db import make_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def weft(weft: Weft) -> Weft:
    """With networks blue and red over the same CIDR, and ports web-1, web-2 and red-1."""
    weft.ok("network", "create", "blue", "--cidr", "198.51.100.0/24")
    weft.ok("network", "create", "red", "--cidr", "198.51.100.0/24")
    for port, network in (("web-1", "blue"), ("web-2", "blue"), ("red-1", "red")):
        weft.ok("port", "create", port, "--network", network)
    return weft


def snoop(weft: Weft, address: str, port: str) -> str:
    """Record a snooped membership as the controller does; return its expiry as listed."""
    expires = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    engine = make_engine(weft.url)
    with engine.begin() as db:
        port_id, network_id = db.execute(
            select(t.Port.id, t.Port.network_id).where(t.Port.name == port)
        ).one()
        group_id = db.execute(select(t.MulticastGroup.id).where(
            t.MulticastGroup.network_id == network_id, t.MulticastGroup.address == address
        )).scalar() or db.execute(insert(t.MulticastGroup).values(
            network_id=network_id, address=address, origin="snooped"
        ).returning(t.MulticastGroup.id)).scalar_one()
        db.execute(insert(t.GroupMember).values(
            group_id=group_id, port_id=port_id, origin="snooped", network_id=network_id,
            expires_at=expires,
        ))
    engine.dispose()
    return expires.isoformat()


def test_create_join_list_leave_del(weft):
    assert weft.ok("group", "create", "blue", "239.1.1.1") == (
        'created 239.1.1.1 in network "blue"\n'
    )
    weft.ok("group", "create", "red", "239.1.1.1")  # another network: another group
    weft.ok("group", "create", "blue", "ff05::1:3")
    assert weft.ok("group", "join", "239.1.1.1", "web-1") == (
        'port "web-1" joined 239.1.1.1 in network "blue"\n'
    )
    weft.ok("group", "join", "239.1.1.1", "web-2")
    weft.ok("group", "join", "239.1.1.1", "red-1")
    expires = snoop(weft, "239.1.1.1", "web-2")
    assert weft.json("group", "list", "--network", "blue") == [
        {"network": "blue", "address": "239.1.1.1", "origin": "static", "members": [
            {"port": "web-1", "origin": "static", "expires_at": None},
            {"port": "web-2", "origin": "snooped", "expires_at": expires},
            {"port": "web-2", "origin": "static", "expires_at": None},
        ]},
        {"network": "blue", "address": "ff05::1:3", "origin": "static", "members": []},
    ]
    assert f"web-2 (snooped, expires {expires})" in weft.ok("group", "list")
    assert weft.json("port", "show", "web-2")["groups"] == [
        {"address": "239.1.1.1", "origin": "snooped", "expires_at": expires},
        {"address": "239.1.1.1", "origin": "static", "expires_at": None},
    ]
    weft.ok("group", "leave", "239.1.1.1", "web-2")
    members = weft.json("group", "list", "--network", "blue")[0]["members"]
    assert [(m["port"], m["origin"]) for m in members] == [
        ("web-1", "static"), ("web-2", "snooped"),
    ]
    weft.ok("group", "del", "blue", "239.1.1.1")
    assert [(g["network"], g["address"]) for g in weft.json("group", "list")] == [
        ("blue", "ff05::1:3"), ("red", "239.1.1.1"),
    ]


def test_creating_a_snooped_group_makes_it_static(weft):
    snoop(weft, "239.2.2.2", "web-1")
    assert weft.ok("group", "create", "blue", "239.2.2.2") == (
        'made the snooped group 239.2.2.2 in network "blue" static\n'
    )
    assert weft.json("group", "list")[0]["origin"] == "static"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "blue", "239.1.1.1"],
         'GROUP_IP: group 239.1.1.1 already exists in network "blue"'),
        (["create", "blue", "224.0.0.251"],
         "GROUP_IP: 224.0.0.251 is in 224.0.0.0/24, the link-local control block"),
        (["create", "blue", "ff02::1:ff00:1"],
         "GROUP_IP: ff02::1:ff00:1 has link-local or narrower scope"),
        (["create", "blue", "198.51.100.7"], "GROUP_IP: 198.51.100.7 is not a multicast address"),
        (["create", "nope", "239.1.1.1"], 'NET: no network named "nope"'),
        (["join", "239.9.9.9", "web-1"],
         'GROUP_IP: no group 239.9.9.9 in network "blue": create it first'),
        (["join", "239.1.1.1", "red-1"], 'GROUP_IP: no group 239.1.1.1 in network "red"'),
        (["join", "239.1.1.1", "web-1"],
         'PORT: port "web-1" is already a static member of 239.1.1.1'),
        (["join", "239.1.1.1", "nope"], 'PORT: no port named "nope"'),
        (["leave", "239.1.1.1", "web-2"], 'PORT: port "web-2" is not a static member of 239.1.1.1'),
        (["del", "blue", "239.9.9.9"], "GROUP_IP: no group 239.9.9.9 in network \"blue\""),
        (["list", "--network", "nope"], '--network: no network named "nope"'),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(weft, args, message):
    weft.ok("group", "create", "blue", "239.1.1.1")
    weft.ok("group", "join", "239.1.1.1", "web-1")
    assert weft.refused("group", *args).startswith(f"error: {message}")


def test_leaving_a_snooped_only_membership_says_it_expires_on_its_own(weft):
    weft.ok("group", "create", "blue", "239.1.1.1")
    snoop(weft, "239.1.1.1", "web-1")
    assert weft.refused("group", "leave", "239.1.1.1", "web-1") == (
        'error: PORT: port "web-1" is not a static member of 239.1.1.1 '
        "(its snooped membership expires on its own)"
    )
