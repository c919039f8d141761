"""`weft port`: create (MAC and addresses allocated or given), del, list with filters, show
with binding; refused inputs change nothing; a full subnet is an error naming it."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from test_cli_common import Weft

from models import tables as t
from models.db import make_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def weft(weft: Weft) -> Weft:
    """With network blue: VNI 258, a /29 with a gateway and an IPv6 /64."""
    weft.ok("network", "create", "blue", "--vni", "258", "--cidr", "198.51.100.0/29",
            "--gateway", "198.51.100.1", "--cidr", "2001:db8:1::/64")
    return weft


def create(weft: Weft, name: str, *args: str) -> dict:
    weft.ok("port", "create", name, "--network", "blue", *args)
    return weft.json("port", "show", name)


def test_allocates_a_local_mac_and_the_lowest_free_address_of_each_subnet(weft):
    first = create(weft, "web-1")
    assert first == {
        "name": "web-1",
        "network": "blue",
        "mac": "02:00:01:02:00:01",  # 02, the VNI 258 = 0x000102, then 1
        "addresses": ["198.51.100.2", "2001:db8:1::1"],  # .0 network, .1 gateway
        "state": "unbound",
        "host": None,
        "ofport": None,
        "bound_at": None,
        "requested_host": None,
        "groups": [],
    }
    assert create(weft, "web-2")["addresses"] == ["198.51.100.3", "2001:db8:1::2"]
    weft.ok("port", "del", "web-1")
    again = create(weft, "web-3")
    assert again["mac"] == "02:00:01:02:00:01"  # lowest free again, with its address
    assert again["addresses"] == ["198.51.100.2", "2001:db8:1::1"]


def test_given_addresses_and_mac_are_used_and_other_subnets_still_allocated(weft):
    port = create(weft, "web-1", "--ip", "198.51.100.6", "--mac", "0A-00-27-00-00-01")
    assert port["mac"] == "0a:00:27:00:00:01"
    assert port["addresses"] == ["198.51.100.6", "2001:db8:1::1"]
    port = create(weft, "web-2", "--ip", "2001:db8:1::abc", "--ip", "198.51.100.5")
    assert port["addresses"] == ["2001:db8:1::abc", "198.51.100.5"]


def test_a_full_subnet_is_an_error_naming_it(weft):
    for n in range(5):  # a /29 without network, broadcast and gateway: 5 addresses
        create(weft, f"web-{n}")
    assert weft.refused("port", "create", "web-5", "--network", "blue") == (
        'error: subnet 198.51.100.0/29 of network "blue" is full: all 5 usable addresses are taken'
    )


def test_a_network_without_subnets_gives_a_mac_only(weft):
    weft.ok("network", "create", "l2")
    out = weft.ok("port", "create", "raw", "--network", "l2")
    assert out == 'created port "raw" on network "l2" (02:00:00:01:00:01, no addresses)\n'


def test_list_filters_by_network_and_host_and_show_tells_the_binding(weft):
    weft.ok("network", "create", "red")
    weft.ok("host", "add", "host-a", "--ovsdb", "tcp:198.18.0.1:6640", "--tunnel-ip",
            "203.0.113.1")
    create(weft, "web-1")
    create(weft, "web-2")
    weft.ok("port", "create", "red-1", "--network", "red")
    engine = make_engine(weft.url)
    with engine.begin() as db:  # as the controller binds a port it found on host-a
        host = db.execute(select(t.Host.id)).scalar_one()
        db.execute(update(t.Port).where(t.Port.name == "web-2")
                   .values(host_id=host, ofport=7, state="bound"))
    engine.dispose()
    assert [p["name"] for p in weft.json("port", "list")] == ["red-1", "web-1", "web-2"]
    assert [p["name"] for p in weft.json("port", "list", "--network", "blue")] == [
        "web-1", "web-2",
    ]
    assert [p["name"] for p in weft.json("port", "list", "--host", "host-a")] == ["web-2"]
    shown = weft.json("port", "show", "web-2")
    assert (shown["state"], shown["host"], shown["ofport"]) == ("bound", "host-a", 7)
    assert "bound" in weft.ok("port", "show", "web-2")
    assert "host-a" in weft.ok("port", "list", "--host", "host-a")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["web-1"], 'NAME: a port named "web-1" already exists (in network "blue")'),
        (["web 2"], "NAME: 'web 2' is not a valid port name"),
        (["web-2", "--mac", "02:00:00:00:00"], "--mac: '02:00:00:00:00' is not a MAC address"),
        (["web-2", "--mac", "01:00:5e:00:00:01"],
         "--mac: 01:00:5e:00:00:01 is a multicast MAC; a port needs a unicast MAC"),
        (["web-2", "--mac", "ff:ff:ff:ff:ff:ff"],
         "--mac: ff:ff:ff:ff:ff:ff is the broadcast MAC; a port needs a unicast MAC"),
        (["web-2", "--mac", "02:00:01:02:00:01"],
         '--mac: 02:00:01:02:00:01 is already used by port "web-1" in network "blue"'),
        (["web-2", "--ip", "198.51.100.2"],
         '--ip: 198.51.100.2 is already used by port "web-1"'),
        (["web-2", "--ip", "198.51.100.1"], "--ip: 198.51.100.1 is the gateway of 198.51.100.0/29"),
        (["web-2", "--ip", "198.51.100.0"],
         "--ip: 198.51.100.0 is the network address of 198.51.100.0/29"),
        (["web-2", "--ip", "198.51.100.7"],
         "--ip: 198.51.100.7 is the broadcast address of 198.51.100.0/29"),
        (["web-2", "--ip", "198.51.100.9"],
         '--ip: 198.51.100.9 is in no subnet of network "blue" (198.51.100.0/29, 2001:db8:1::/64)'),
        (["web-2", "--ip", "198.51.100.5", "--ip", "198.51.100.5"],
         "--ip: the same address is given twice"),
        (["web-2", "--ip", "fe80::1"], "--ip: fe80::1 is in no subnet"),
        (["web-2", "--ip", "nope"], "--ip: 'nope' is not an IP address"),
    ],
)
def test_bad_create_is_refused_and_changes_nothing(weft, args, message):
    create(weft, "web-1")
    assert weft.refused("port", "create", *args, "--network", "blue").startswith(
        f"error: {message}"
    )


def test_an_unknown_network_or_port_or_host_is_refused(weft):
    assert weft.refused("port", "create", "x", "--network", "nope") == (
        'error: --network: no network named "nope"'
    )
    assert weft.refused("port", "del", "nope") == 'error: NAME: no port named "nope"'
    assert weft.refused("port", "show", "nope") == 'error: NAME: no port named "nope"'
    assert weft.refused("port", "list", "--host", "nope") == 'error: --host: no host named "nope"'
