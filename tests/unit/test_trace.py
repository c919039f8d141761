"""`weft trace` on paper: the verdict and the steps for the packets operators ask about.

The tables are compiled from an in-memory snapshot (tests/support/cluster.py); the lab test
tests/lab/test_trace_packets.py checks the same verdicts against real packets.
"""

from __future__ import annotations

import pytest

from controller.compiler import SectionCache, compile_host
from controller.flows import Flow
from controller.trace import TraceError, trace
from models.topology import Topology
from tests.support.cluster import ClusterSpec, GroupSpec, PortSpec, snapshot

MAC = {n: f"02:00:00:00:00:{n:02x}" for n in range(1, 10)}


def spec() -> ClusterSpec:
    return ClusterSpec(
        hosts=["h1", "h2", "h3"],
        networks={"blue": 100, "red": 200},
        ports=[
            PortSpec("b1", "blue", MAC[1], ("10.0.0.1",), "h1", 1),
            PortSpec("b2", "blue", MAC[2], ("10.0.0.2",), "h2", 1),
            PortSpec("b3", "blue", MAC[3], ("10.0.0.3",), "h3", 1),
            PortSpec("b4", "blue", MAC[4], ("10.0.0.4",)),  # not plugged in
            PortSpec("r1", "red", MAC[5], ("10.0.0.5",), "h2", 2),
        ],
        groups=[GroupSpec("blue", "239.1.1.1", ("b2", "b3")),
                GroupSpec("blue", "239.1.1.2", ())],
    )


def test_a_cross_host_packet_is_delivered_with_every_table_named():
    result = trace(snapshot(spec()), "b1", "b2")
    assert result.verdict == "delivered"
    assert result.reason == "to port b2 (ofport 1) on h2"
    first, second = result.hops
    assert (first.host, second.host) == ("h1", "h2")
    assert [s.table for s in first.steps] == ["CLASSIFY", "PORT_SECURITY", "L2_LOOKUP"]
    assert first.steps[0].owner == "port b1 (network blue)"
    assert first.steps[-1].owner == "port b2 (network blue)"
    assert first.outputs == ["tunnel to h2 (ofport 1002)"]
    assert second.entered == "tunnel from h1 (ofport 1001)"
    assert [s.owner for s in second.steps] == [
        "tunnel from h1", "network blue", "port b2 (network blue)"]


def test_a_spoofed_source_mac_is_dropped_by_port_security():
    result = trace(snapshot(spec()), "b1", "b2", src_mac="02:00:00:00:99:99")
    assert result.verdict == "dropped"
    assert result.reason == "port security: source MAC 02:00:00:00:99:99 is not port b1's"
    result = trace(snapshot(spec()), "b1", "b2", src_ip="10.0.0.9")
    assert result.reason == "port security: source IP 10.0.0.9 is not port b1's"


def test_a_packet_to_another_networks_port_is_dropped_naming_both_networks():
    result = trace(snapshot(spec()), "b1", "r1")
    assert result.verdict == "dropped"
    assert result.reason == ("destination MAC 02:00:00:00:00:05 is port r1's, in network red, "
                             "not in network blue")


def test_an_unbound_destination_is_named():
    result = trace(snapshot(spec()), "b1", "10.0.0.4", proto="udp", dport=53)
    assert result.reason == "destination port b4 is not bound to a host"


def test_a_multicast_datagram_reaches_every_member_and_only_them():
    result = trace(snapshot(spec()), "b1", "239.1.1.1", proto="udp", dport=5000)
    assert result.verdict == "delivered"
    assert result.reason == "to port b2 (ofport 1) on h2, port b3 (ofport 1) on h3"
    assert result.delivered_to == ["h2/b2", "h3/b3"]
    assert result.hops[0].steps[-1].owner == "multicast group 239.1.1.1 (network blue)"
    empty = trace(snapshot(spec()), "b1", "239.1.1.2", proto="udp")
    assert (empty.verdict, empty.reason) == (
        "dropped", "multicast group 239.1.1.2 has no members to receive it")


def test_installed_tables_that_lack_a_flow_give_another_verdict():
    snap = snapshot(spec())
    topology = Topology.from_snapshot(snap)
    cache = SectionCache()

    def without_b2_delivery(host):
        config = compile_host(topology, host.id, cache)
        flows = [f for f in config.flows if not _delivers_to(f, MAC[2]) or host.name != "h2"]
        return flows, config.groups

    result = trace(snap, "b1", "b2", tables=without_b2_delivery)
    assert result.verdict == "dropped"
    assert result.reason == "no flow in L2_LOOKUP for port b2 (bound on h2): h2 lacks it"
    assert result.hops[-1].host == "h2"
    assert result.hops[-1].steps[-1].owner == "pipeline (table miss)"


def _delivers_to(flow: Flow, mac: str) -> bool:
    return flow.table == 30 and ("eth_dst", int(mac.replace(":", ""), 16), None) in flow.match


@pytest.mark.parametrize(("source", "to", "field"), [
    ("nobody", "b2", "--from"), ("b4", "b2", "--from"), ("b1", "nobody", "--to"),
    ("b1", "10.0.0.77", "--to"),
])
def test_a_packet_that_cannot_be_built_names_the_option(source, to, field):
    with pytest.raises(TraceError) as error:
        trace(snapshot(spec()), source, to)
    assert error.value.field == field


@pytest.mark.parametrize(("source", "to", "options"), [
    ("b1", "b2", {}), ("b1", "r1", {}), ("b1", "239.1.1.1", {"proto": "udp"}),
    ("b1", "b3", {"src_ip": "10.0.0.5"}), ("r1", "10.0.0.5", {}),
])
def test_compiling_only_the_packets_network_changes_no_trace(source, to, options):
    snap = snapshot(spec())
    topology = Topology.from_snapshot(snap)

    def everything(host):
        config = compile_host(topology, host.id)
        return config.flows, config.groups

    assert trace(snap, source, to, **options) == trace(snap, source, to, tables=everything,
                                                        **options)


def test_an_ipv6_packet_crosses_the_neighbour_table_and_is_delivered():
    six = ClusterSpec(
        hosts=["h1", "h2"], networks={"six": 300},
        ports=[PortSpec("s1", "six", MAC[1], ("fd00::1",), "h1", 1),
               PortSpec("s2", "six", MAC[2], ("fd00::2",), "h2", 1)],
    )
    result = trace(snapshot(six), "s1", "fd00::2")
    assert (result.verdict, result.delivered_to) == ("delivered", ["h2/s2"])
    assert [s.table for s in result.hops[0].steps] == [
        "CLASSIFY", "PORT_SECURITY", "NEIGHBOUR", "L2_LOOKUP"]
    spoofed = trace(snapshot(six), "s1", "fd00::2", src_ip="fd00::9")
    assert spoofed.reason == "port security: source IP fd00::9 is not port s1's"
