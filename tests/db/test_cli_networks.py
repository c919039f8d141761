"""`weft network`: create (subnets, gateways, VNI given or allocated), del (refused while ports
exist unless --force), list, show with address usage; refused inputs change nothing."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.postgres


def test_create_dual_stack_with_a_gateway_then_list_and_show(weft):
    out = weft.ok("network", "create", "blue", "--cidr", "198.51.100.0/24", "--cidr",
                  "2001:db8:1::/64", "--gateway", "198.51.100.1", "--mtu", "1400",
                  "--unregistered-multicast", "flood")
    assert out == 'created network "blue" (vni 1, 198.51.100.0/24, 2001:db8:1::/64)\n'
    assert weft.json("network", "list") == [{
        "name": "blue",
        "vni": 1,
        "mtu": 1400,
        "unregistered_multicast": "flood",
        "subnets": [
            {"cidr": "198.51.100.0/24", "gateway": "198.51.100.1"},
            {"cidr": "2001:db8:1::/64", "gateway": None},
        ],
        "port_count": 0,
    }]
    weft.ok("port", "create", "web-1", "--network", "blue")
    weft.ok("group", "create", "blue", "239.1.1.1")
    shown = weft.json("network", "show", "blue")
    assert shown["subnets"] == [
        {"cidr": "198.51.100.0/24", "gateway": "198.51.100.1", "usable": 253, "used": 1,
         "free": 252},
        {"cidr": "2001:db8:1::/64", "gateway": None, "usable": 2**64 - 1, "used": 1,
         "free": 2**64 - 2},
    ]
    assert shown["ports"] == [{"name": "web-1", "mac": "02:00:00:01:00:01",
                               "addresses": ["198.51.100.2", "2001:db8:1::1"],
                               "state": "unbound", "host": None}]
    assert shown["groups"] == ["239.1.1.1"] and shown["port_count"] == 1
    text = weft.ok("network", "show", "blue")
    assert "198.51.100.0/24" in text and "252" in text and "web-1" in text
    assert "1.8e19" in text and str(2**64 - 2) not in text  # a /64's free count, readable


def test_vnis_are_the_lowest_free_unless_given(weft):
    weft.ok("network", "create", "a")
    weft.ok("network", "create", "b", "--vni", "3")
    weft.ok("network", "create", "c")
    weft.ok("network", "create", "d")
    weft.ok("network", "del", "a")
    weft.ok("network", "create", "e")
    assert {n["name"]: n["vni"] for n in weft.json("network", "list")} == {
        "b": 3, "c": 2, "d": 4, "e": 1,
    }


def test_separate_networks_may_reuse_a_cidr(weft):
    weft.ok("network", "create", "blue", "--cidr", "198.51.100.0/24")
    weft.ok("network", "create", "red", "--cidr", "198.51.100.0/24")
    weft.ok("port", "create", "b1", "--network", "blue")
    weft.ok("port", "create", "r1", "--network", "red")
    assert weft.json("port", "show", "b1")["addresses"] == ["198.51.100.1"]
    assert weft.json("port", "show", "r1")["addresses"] == ["198.51.100.1"]


def test_del_refuses_a_network_with_ports_and_force_deletes_them(weft):
    weft.ok("network", "create", "blue", "--cidr", "198.51.100.0/24")
    for name in ("web-1", "web-2", "web-3", "web-4"):
        weft.ok("port", "create", name, "--network", "blue")
    weft.ok("group", "create", "blue", "239.1.1.1")
    weft.ok("group", "join", "239.1.1.1", "web-1")
    assert weft.refused("network", "del", "blue") == (
        'error: NAME: network "blue" still has 4 ports (web-1, web-2, web-3, ...): delete them '
        "first, or delete the network with its ports (force)"
    )
    assert weft.ok("network", "del", "blue", "--force") == (
        'deleted network "blue" and its 4 ports\n'
    )
    assert weft.json("network", "list") == []
    assert weft.json("port", "list") == [] and weft.json("group", "list") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["blue"], 'NAME: a network named "blue" already exists'),
        (["blue/2"], "NAME: 'blue/2' is not a valid name"),
        (["red", "--cidr", "198.51.100.0/33"], "--cidr: '198.51.100.0/33' is not a CIDR"),
        (["red", "--cidr", "banana"], "--cidr: 'banana' has no prefix length"),
        (["red", "--cidr", "198.51.100.7/24"],
         "--cidr: 198.51.100.7/24 has host bits set (the network is 198.51.100.0/24)"),
        (["red", "--cidr", "2001:db8::1/64"],
         "--cidr: 2001:db8::1/64 has host bits set (the network is 2001:db8::/64)"),
        (["red", "--cidr", "198.51.100.0/24", "--cidr", "198.51.100.128/25"],
         "--cidr: 198.51.100.0/24 overlaps 198.51.100.128/25"),
        (["red", "--cidr", "198.51.100.0/25", "--gateway", "198.51.100.200"],
         "--gateway: 198.51.100.200 is outside every --cidr (198.51.100.0/25)"),
        (["red", "--cidr", "198.51.100.0/25", "--gateway", "198.51.100.0"],
         "--gateway: 198.51.100.0 is the network address of 198.51.100.0/25"),
        (["red", "--cidr", "198.51.100.0/24", "--gateway", "198.51.100.1", "--gateway",
          "198.51.100.2"], "--gateway: 198.51.100.1 and 198.51.100.2 are both in"),
        (["red", "--gateway", "198.51.100.1"], "--gateway: 198.51.100.1 is outside every --cidr"),
        (["red", "--vni", "0"], "--vni: 0 is outside 1..16777215"),
        (["red", "--vni", "16777216"], "--vni: 16777216 is outside 1..16777215"),
        (["red", "--vni", "5000"], '--vni: 5000 is already used by network "blue"'),
        (["red", "--mtu", "9001"], "--mtu: 9001 is outside 576..9000"),
    ],
)
def test_bad_create_is_refused_and_changes_nothing(weft, args, message):
    weft.ok("network", "create", "blue", "--vni", "5000", "--cidr", "198.51.100.0/24")
    assert weft.refused("network", "create", *args).startswith(f"error: {message}")


@pytest.mark.parametrize("command", ["del", "show"])
def test_an_unknown_network_is_refused(weft, command):
    assert weft.refused("network", command, "nope") == 'error: NAME: no network named "nope"'
