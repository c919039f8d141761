"""The pipeline compiler, checked by running its flows in the simulator (no switches).

One small cluster with two networks that reuse each other's addresses, so that any leak
between networks would show up as a delivery.
"""

from __future__ import annotations

import dataclasses

import pytest

from controller.compiler import SectionCache, compile_host
from controller.flows import (
    ETH_TYPE_ARP,
    ETH_TYPE_IPV4,
    ETH_TYPE_IPV6,
    IP_PROTO_ICMPV6,
    OFPP_CONTROLLER,
)
from controller.pipeline import Category
from models.topology import Topology
from tests.support.cluster import (
    ClusterSpec,
    GroupSpec,
    PortSpec,
    compile_all,
    fabric,
    snapshot,
)

BLUE_MAC = {n: f"02:00:00:00:0b:0{n}" for n in range(1, 5)}
RED_MAC = {n: f"02:00:00:00:0e:0{n}" for n in range(1, 3)}


def cluster(**changes) -> ClusterSpec:
    spec = ClusterSpec(
        hosts=["h1", "h2", "h3"],
        networks={"blue": 100, "red": 200},
        ports=[
            PortSpec("b1", "blue", BLUE_MAC[1], ("10.0.0.1",), "h1", 1),
            PortSpec("b2", "blue", BLUE_MAC[2], ("10.0.0.2",), "h1", 2),
            PortSpec("b3", "blue", BLUE_MAC[3], ("10.0.0.3",), "h2", 1),
            PortSpec("b4", "blue", BLUE_MAC[4], ("10.0.0.4",)),  # created, not plugged in
            # red reuses blue's addresses and even b3's MAC: isolation is by network only
            PortSpec("r1", "red", BLUE_MAC[3], ("10.0.0.1",), "h1", 3),
            PortSpec("r2", "red", RED_MAC[2], ("10.0.0.2",), "h3", 1),
        ],
        groups=[
            GroupSpec("blue", "239.1.1.1", ("b2", "b3")),
            GroupSpec("red", "239.1.1.1", ("r2",)),
        ],
    )
    return dataclasses.replace(spec, **changes)


def ip_from(spec: ClusterSpec, sender: str, dst_mac: str, dst_ip: str, **fields):
    port = spec.port(sender)
    return dict(
        eth_src=port.mac,
        eth_dst=dst_mac,
        eth_type=ETH_TYPE_IPV4,
        ipv4_src=port.ips[0],
        ipv4_dst=dst_ip,
        ip_proto=17,
        payload="x",
        **fields,
    )


def send(spec: ClusterSpec, sender: str, packet: dict):
    port = spec.port(sender)
    return fabric(spec).send(port.host, port.ofport, packet)


def where(deliveries) -> list[tuple[str, int]]:
    return sorted((host, port) for host, port, _ in deliveries)


def arp_request(spec: ClusterSpec, sender: str, target_ip: str, **fields):
    port = spec.port(sender)
    packet = dict(
        eth_src=port.mac,
        eth_dst="ff:ff:ff:ff:ff:ff",
        eth_type=ETH_TYPE_ARP,
        arp_op=1,
        arp_sha=port.mac,
        arp_spa=port.ips[0],
        arp_tha=0,
        arp_tpa=target_ip,
    )
    packet.update(fields)
    return packet


# ---------------------------------------------------------------- unicast and isolation


def test_unicast_between_ports_of_one_network_on_one_host():
    spec = cluster()
    assert where(send(spec, "b1", ip_from(spec, "b1", BLUE_MAC[2], "10.0.0.2"))) == [("h1", 2)]


def test_unicast_across_hosts_arrives_intact():
    spec = cluster()
    packet = ip_from(spec, "b1", BLUE_MAC[3], "10.0.0.3")
    [(host, port, delivered)] = send(spec, "b1", packet)
    assert (host, port) == ("h2", 1)
    assert dict(delivered) == dict(fabric(spec).send("h1", 1, packet)[0][2])
    assert delivered["payload"] == "x" and delivered["eth_src"] == int(
        BLUE_MAC[1].replace(":", ""), 16
    )


def test_other_network_uses_its_own_ports_even_with_the_same_mac_and_ip():
    spec = cluster()
    # r1 sends to "b3's" MAC: in red that MAC is r1 itself, so nothing goes anywhere
    assert send(spec, "r1", ip_from(spec, "r1", BLUE_MAC[3], "10.0.0.3")) == []
    # and red traffic to red's own port crosses hosts inside red only
    assert where(send(spec, "r1", ip_from(spec, "r1", RED_MAC[2], "10.0.0.2"))) == [("h3", 1)]


def test_no_frame_crosses_networks():
    spec = cluster()
    assert send(spec, "b1", ip_from(spec, "b1", RED_MAC[2], "10.0.0.2")) == []


def test_unknown_unicast_and_unbound_ports_are_dropped():
    spec = cluster()
    assert send(spec, "b1", ip_from(spec, "b1", "02:99:99:99:99:99", "10.0.0.9")) == []
    assert send(spec, "b1", ip_from(spec, "b1", BLUE_MAC[4], "10.0.0.4")) == []


# ---------------------------------------------------------------- port security


@pytest.mark.parametrize(
    "spoof",
    [
        {"eth_src": "02:00:00:00:0b:09"},  # another MAC
        {"ipv4_src": "10.0.0.9"},  # another IP
        {"ipv4_src": "10.0.0.2"},  # a neighbour's IP
        {"eth_src": BLUE_MAC[2]},  # a neighbour's MAC
    ],
)
def test_spoofed_frames_reach_nobody(spoof):
    spec = cluster()
    packet = ip_from(spec, "b1", BLUE_MAC[3], "10.0.0.3") | spoof
    assert send(spec, "b1", packet) == []


def test_spoofed_arp_reaches_nobody():
    spec = cluster()
    assert send(spec, "b1", arp_request(spec, "b1", "10.0.0.3", arp_spa="10.0.0.2")) == []
    assert send(spec, "b1", arp_request(spec, "b1", "10.0.0.3", arp_sha=BLUE_MAC[2])) == []


def test_a_port_without_addresses_is_checked_by_mac_only():
    spec = cluster(
        ports=[
            PortSpec("l1", "blue", BLUE_MAC[1], (), "h1", 1),
            PortSpec("l2", "blue", BLUE_MAC[2], (), "h2", 1),
        ],
        groups=[],
    )
    frame = {"eth_src": BLUE_MAC[1], "eth_dst": BLUE_MAC[2], "eth_type": 0x88B5}
    assert where(fabric(spec).send("h1", 1, frame)) == [("h2", 1)]
    assert fabric(spec).send("h1", 1, frame | {"eth_src": BLUE_MAC[3]}) == []


# ---------------------------------------------------------------- IPv6 neighbour discovery

SIX_MAC = {n: f"02:00:00:00:06:0{n}" for n in range(1, 4)}
SIX_IP = {n: f"fd00:6::{n}" for n in range(1, 4)}
SIX_LINK_LOCAL = "fe80::1"


def six() -> ClusterSpec:
    """Network six, dual-stack s1 on h1, IPv6-only s2 on h2, s3 created but not plugged."""
    return ClusterSpec(
        hosts=["h1", "h2"],
        networks={"six": 600},
        ports=[
            PortSpec("s1", "six", SIX_MAC[1], ("10.6.0.1", SIX_IP[1]), "h1", 1),
            PortSpec("s2", "six", SIX_MAC[2], (SIX_IP[2],), "h2", 1),
            PortSpec("s3", "six", SIX_MAC[3], (SIX_IP[3],)),
        ],
    )


def icmpv6_from_s1(icmpv6_type: int, **fields):
    return dict(
        eth_src=SIX_MAC[1],
        eth_dst=SIX_MAC[2],
        eth_type=ETH_TYPE_IPV6,
        ipv6_src=SIX_IP[1],
        ipv6_dst=SIX_IP[2],
        ip_proto=IP_PROTO_ICMPV6,
        icmpv6_type=icmpv6_type,
        payload="nd",
    ) | fields


def solicitation(**fields):
    """s1 asks for s2's MAC (to its solicited-node group, flooded in the network)."""
    return icmpv6_from_s1(135, eth_dst="33:33:ff:00:00:02", ipv6_dst="ff02::1:ff00:2",
                          ipv6_nd_target=SIX_IP[2], ipv6_nd_sll=SIX_MAC[1]) | fields


def advertisement(**fields):
    """s1 tells s2 its own MAC for its own address."""
    return icmpv6_from_s1(136, ipv6_nd_target=SIX_IP[1], ipv6_nd_tll=SIX_MAC[1]) | fields


@pytest.mark.parametrize(
    "packet",
    [
        icmpv6_from_s1(128),  # echo request
        dict(icmpv6_from_s1(128), ipv6_src=SIX_LINK_LOCAL),
        solicitation(),
        solicitation(ipv6_nd_sll=0),
        solicitation(ipv6_src="::", ipv6_nd_sll=0),  # duplicate address detection
        advertisement(),
        advertisement(ipv6_nd_tll=0),
        advertisement(ipv6_src=SIX_LINK_LOCAL, ipv6_nd_target=SIX_LINK_LOCAL),
    ],
    ids=["echo", "echo from link-local", "NS", "NS without SLL", "DAD NS", "NA",
         "NA without TLL", "NA for link-local"],
)
def test_ipv6_and_honest_neighbour_discovery_cross_hosts(packet):
    spec = six()
    assert where(fabric(spec).send("h1", 1, packet)) == [("h2", 1)]


@pytest.mark.parametrize(
    "packet",
    [
        advertisement(ipv6_nd_target=SIX_IP[2]),  # claims the receiver's address
        advertisement(ipv6_nd_target=SIX_IP[3]),  # claims a port not plugged in yet
        advertisement(ipv6_nd_target="fd00:6::99"),
        advertisement(ipv6_nd_tll=SIX_MAC[2]),  # own address, someone else's MAC
        solicitation(ipv6_nd_sll=SIX_MAC[2]),
        icmpv6_from_s1(134, eth_dst="33:33:00:00:00:01", ipv6_dst="ff02::1"),  # RA
        icmpv6_from_s1(137),  # redirect
        dict(icmpv6_from_s1(128), ipv6_src=SIX_IP[2]),
    ],
    ids=["NA for the receiver", "NA for an unplugged port", "NA for anyone", "NA other MAC",
         "NS other MAC", "router advertisement", "redirect", "echo from another address"],
)
def test_spoofed_neighbour_discovery_and_router_messages_reach_nobody(packet):
    spec = six()
    assert fabric(spec).send("h1", 1, packet) == []


def test_a_dual_stack_port_costs_the_documented_flows():
    """4 for a port with one IPv4 address, 3 per IPv6 address and 10 per port with IPv6."""
    spec = six()
    ipv4_only = dataclasses.replace(
        spec, ports=[dataclasses.replace(spec.ports[0], ips=("10.6.0.1",)), *spec.ports[1:]]
    )
    extra = len(compile_all(spec)["h1"].flows) - len(compile_all(ipv4_only)["h1"].flows)
    assert extra == 3 + 10


# ---------------------------------------------------------------- ARP


def test_arp_for_a_known_address_is_answered_by_the_switch():
    spec = cluster()
    [(host, port, reply)] = send(spec, "b1", arp_request(spec, "b1", "10.0.0.3"))
    assert (host, port) == ("h1", 1)  # straight back to the asker, never flooded
    expected = {
        "eth_src": BLUE_MAC[3],
        "eth_dst": BLUE_MAC[1],
        "arp_op": 2,
        "arp_sha": BLUE_MAC[3],
        "arp_spa": "10.0.0.3",
        "arp_tha": BLUE_MAC[1],
        "arp_tpa": "10.0.0.1",
    }
    assert {k: reply[k] for k in expected} == {k: v for k, v in type(reply)(expected).items()}


def test_arp_answers_come_from_the_askers_network():
    spec = cluster()
    [(_, _, reply)] = send(spec, "r1", arp_request(spec, "r1", "10.0.0.2"))
    assert reply["arp_sha"] == int(RED_MAC[2].replace(":", ""), 16)


def test_arp_for_a_port_not_yet_plugged_in_is_answered():
    spec = cluster()
    [(_, _, reply)] = send(spec, "b1", arp_request(spec, "b1", "10.0.0.4"))
    assert reply["arp_sha"] == int(BLUE_MAC[4].replace(":", ""), 16)


def test_arp_for_an_unknown_address_is_flooded_in_the_network_only():
    spec = cluster()
    assert where(send(spec, "b1", arp_request(spec, "b1", "10.0.0.99"))) == [("h1", 2), ("h2", 1)]


# ---------------------------------------------------------------- broadcast and multicast


def test_broadcast_reaches_the_network_once_per_port_and_nothing_else():
    spec = cluster()
    packet = ip_from(spec, "b1", "ff:ff:ff:ff:ff:ff", "10.0.0.255")
    assert where(send(spec, "b1", packet)) == [("h1", 2), ("h2", 1)]


def test_broadcast_from_a_tunnel_is_not_sent_on_to_other_tunnels():
    spec = cluster(
        ports=[
            *cluster().ports,
            PortSpec("b5", "blue", "02:00:00:00:0b:05", ("10.0.0.5",), "h3", 2),
        ]
    )
    packet = ip_from(spec, "b3", "ff:ff:ff:ff:ff:ff", "10.0.0.255")
    # b3 on h2 floods to h1 and h3 directly; neither relays (the fabric raises on loops)
    assert where(send(spec, "b3", packet)) == [("h1", 1), ("h1", 2), ("h3", 2)]


def test_registered_multicast_reaches_members_only():
    spec = cluster()
    blue = ip_from(spec, "b1", "01:00:5e:01:01:01", "239.1.1.1")
    assert where(send(spec, "b1", blue)) == [("h1", 2), ("h2", 1)]
    red = ip_from(spec, "r1", "01:00:5e:01:01:01", "239.1.1.1")
    assert where(send(spec, "r1", red)) == [("h3", 1)]


def test_a_member_sending_to_its_group_does_not_get_its_own_packet_back():
    spec = cluster()
    packet = ip_from(spec, "b2", "01:00:5e:01:01:01", "239.1.1.1")
    assert where(send(spec, "b2", packet)) == [("h2", 1)]


def test_unregistered_multicast_is_dropped_by_default_and_flooded_when_asked():
    spec = cluster()
    packet = ip_from(spec, "b1", "01:00:5e:02:02:02", "239.2.2.2")
    assert send(spec, "b1", packet) == []
    flooding = cluster(flood_unregistered=frozenset({"blue"}))
    assert where(send(flooding, "b1", packet)) == [("h1", 2), ("h2", 1)]


def test_link_local_multicast_is_flooded_within_the_network():
    spec = cluster()
    packet = ip_from(spec, "b1", "01:00:5e:00:00:01", "224.0.0.1")
    assert where(send(spec, "b1", packet)) == [("h1", 2), ("h2", 1)]


def test_igmp_goes_to_the_controller_only():
    spec = cluster()
    report = ip_from(spec, "b1", "01:00:5e:01:01:01", "239.1.1.1") | {"ip_proto": 2}
    assert where(send(spec, "b1", report)) == [("h1", OFPP_CONTROLLER)]


# ---------------------------------------------------------------- what each host gets


def test_a_host_gets_flows_only_for_networks_present_on_it():
    configs = compile_all(cluster())
    vnis_on_h3 = {
        value
        for flow in configs["h3"].flows
        for name, value, _ in flow.match
        if name in ("metadata", "tunnel_id")
    }
    assert vnis_on_h3 == {200}


def test_flow_count_follows_the_documented_formula():
    spec = cluster()
    configs = compile_all(spec)

    def formula(tunnels, networks):
        return (
            7
            + tunnels
            + sum(
                8 + 4 * local + remote + addresses + 2 * groups
                for local, remote, addresses, groups in networks
            )
        )

    # h1: blue (b1, b2 local; b3 remote; 4 addresses; 1 group), red (r1; r2; 2; 1)
    assert len(configs["h1"].flows) == formula(2, [(2, 1, 4, 1), (1, 1, 2, 1)])
    # h2: blue (b3; b1, b2; 4; 1)
    assert len(configs["h2"].flows) == formula(2, [(1, 2, 4, 1)])
    # h3: red (r2; r1; 2; 1)
    assert len(configs["h3"].flows) == formula(2, [(1, 1, 2, 1)])


def test_cookie_categories_say_what_owns_each_flow():
    config = compile_all(cluster())["h1"]
    categories = {Category(flow.category) for flow in config.flows}
    assert categories == set(Category)


def test_unchanged_networks_are_not_recompiled():
    before = snapshot(cluster())
    topology = Topology.from_snapshot(before)
    cache = SectionCache()
    first = compile_host(topology, 1, cache)
    sections = dict(cache._networks)

    changed = cluster()
    changed.port("r1").ips = ("10.0.0.7",)
    red_id = changed.network_id("red")
    topology.update(before.with_networks({red_id: snapshot(changed).networks[red_id]}))
    second = compile_host(topology, 1, cache)

    blue_key = (1, changed.network_id("blue"))
    assert cache._networks[blue_key] is sections[blue_key]
    assert cache._networks[(1, red_id)] is not sections[(1, red_id)]
    assert first.flows != second.flows


def test_compiling_twice_gives_the_same_configuration():
    spec = cluster()
    assert compile_all(spec) == compile_all(spec)
