"""`weft trace`: follow one packet through the pipelines of the hosts it crosses, on paper.

Pure: a Snapshot (names, bindings, tunnels) and each host's tables in, a `Trace` out; no
packet is ever sent. The tables are the desired ones (compiled here, host by host, only for
the hosts the packet reaches) or, for `weft trace --installed`, those read back from the
switches (controller/decode.py). controller/simulator.py runs them with OVS's semantics and
reports every table lookup; this module names what it saw: the table, the flow that matched,
its owner (controller/owners.py) and, at the end, the verdict with its reason.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import cast

from controller.compiler import SectionCache, compile_host
from controller.flows import OFPP_CONTROLLER, Flow, Group, WriteMetadata
from controller.flowtext import actions_text, match_text, table_name, value_text
from controller.owners import Owners
from controller.pipeline import Category, Table
from controller.simulator import Fabric, Host, Packet, SimSwitch
from models.snapshot import HostView, PortView, Snapshot
from models.topology import Topology

Tables = tuple[Iterable[Flow], Mapping[int, Group]]
PROTOCOLS = {"icmp": (1, 58), "tcp": (6, 6), "udp": (17, 17)}  # name -> (IPv4, IPv6) number
ICMPV6_ECHO_REQUEST = 128


class TraceError(ValueError):
    """The packet to trace cannot be built; `field` names the option at fault."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


@dataclass
class Step:
    table: str
    priority: int | None
    match: str
    actions: str
    owner: str


@dataclass
class Hop:
    """One switch crossed: where the packet came in, each table, where it went out."""

    host: str
    entered: str
    steps: list[Step] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    dropped: str | None = None  # the reason, when nothing went out


@dataclass
class Trace:
    packet: dict[str, str]
    hops: list[Hop]
    verdict: str  # delivered, dropped, to controller
    reason: str
    delivered_to: list[str]  # "host/port" (or "host/ofport N"), in delivery order

    def as_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------- the packet


def _find_port(snapshot: Snapshot, name: str) -> PortView | None:
    for network in snapshot.networks.values():
        for port in network.ports:
            if port.name == name:
                return port
    return None


def _multicast_mac(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
    if address.version == 4:
        return 0x01005E000000 | int(address) & 0x7FFFFF
    return 0x333300000000 | int(address) & 0xFFFFFFFF


def build_packet(
    snapshot: Snapshot,
    source: str,
    to: str,
    proto: str = "icmp",
    dport: int | None = None,
    src_mac: str | None = None,
    src_ip: str | None = None,
) -> tuple[PortView, Packet]:
    """The source port and the packet it sends to `to` (a port name or an IP address),
    from its own MAC and first address unless `src_mac`/`src_ip` say otherwise."""
    port = _find_port(snapshot, source)
    if port is None:
        raise TraceError("--from", f"no port named {source!r}")
    if not port.bound:
        raise TraceError("--from", f"port {source} is not bound to a host (no container)")
    if proto not in PROTOCOLS:
        raise TraceError("--proto", f"{proto!r} is not one of {', '.join(PROTOCOLS)}")
    target = _find_port(snapshot, to)
    if target is not None:
        if not target.addresses:
            raise TraceError("--to", f"port {to} has no IP address")
        dst_ip, dst_mac = target.addresses[0], int(target.mac.replace(":", ""), 16)
    else:
        try:
            dst_ip = ipaddress.ip_address(to)
        except ValueError:
            raise TraceError("--to", f"{to!r} is neither a port nor an IP address") from None
        dst_mac = _mac_for(snapshot, port, dst_ip)
    try:
        source_ip = ipaddress.ip_address(src_ip) if src_ip else next(
            a for a in port.addresses if a.version == dst_ip.version
        )
    except (ValueError, StopIteration):
        raise TraceError("--src-ip", f"no IPv{dst_ip.version} source address") from None
    fields: dict[str, object] = {"eth_src": src_mac or port.mac, "eth_dst": dst_mac}
    v4 = dst_ip.version == 4
    fields["eth_type"] = 0x0800 if v4 else 0x86DD
    fields["ipv4_src" if v4 else "ipv6_src"] = source_ip
    fields["ipv4_dst" if v4 else "ipv6_dst"] = dst_ip
    fields["ip_proto"] = PROTOCOLS[proto][0 if v4 else 1]
    if proto == "icmp" and not v4:
        fields["icmpv6_type"] = ICMPV6_ECHO_REQUEST
    if dport is not None:
        fields[f"{proto}_dst"] = dport
    try:
        return port, Packet(fields)
    except ValueError as error:
        raise TraceError("--src-mac", str(error)) from None


def _mac_for(snapshot: Snapshot, port: PortView, address) -> int:
    """The destination MAC a container would use for `address`: a multicast MAC, or the MAC
    of the port of the same network that has the address (what ARP would answer)."""
    if address.is_multicast:
        return _multicast_mac(address)
    network = snapshot.networks[port.network_id]
    for other in network.ports:
        if address in other.addresses:
            return int(other.mac.replace(":", ""), 16)
    raise TraceError("--to", f"no port of network {network.name} has the address {address}: "
                     "ARP would go unanswered")


# ---------------------------------------------------------------- the tables


def desired_tables(snapshot: Snapshot, network_id: int) -> Callable[[HostView], Tables]:
    """Each host's desired tables for a packet of network `network_id`, compiled when first
    asked for: the fixed pipeline, the tunnels and that network's section (no flow of
    another network can match such a packet; controller/compiler.py, `only`)."""
    topology = Topology.from_snapshot(snapshot)
    cache = SectionCache()

    def tables(host: HostView) -> Tables:
        config = compile_host(topology, host.id, cache, only=[network_id])
        return config.flows, config.groups

    return tables


class _LazySwitch:
    """A SimSwitch built the first time a packet reaches its host."""

    def __init__(self, build: Callable[[], SimSwitch]) -> None:
        self._build = build
        self._switch: SimSwitch | None = None

    def process(
        self,
        in_port: int,
        packet: Mapping[str, object],
        visit: Callable[[int, Flow | None], None] | None = None,
    ) -> list[tuple[int, Packet]]:
        if self._switch is None:
            self._switch = self._build()
        return self._switch.process(in_port, packet, visit)


def _switch(tables: Callable[[HostView], Tables], host: HostView) -> SimSwitch:
    return SimSwitch(*tables(host), strict=False)


def _fabric(snapshot: Snapshot, tables: Callable[[HostView], Tables]) -> Fabric:
    numbered = {
        (host_id, peer_id): tunnel.ofport
        for host_id, peers in snapshot.tunnels.items()
        for peer_id, tunnel in peers.items()
        if tunnel.ofport is not None
    }
    hosts = {}
    for host in snapshot.hosts.values():
        tunnels = {
            ofport: snapshot.hosts[peer].name
            for (host_id, peer), ofport in numbered.items()
            if host_id == host.id and (peer, host_id) in numbered and peer in snapshot.hosts
        }
        switch = _LazySwitch(partial(_switch, tables, host))
        hosts[host.name] = Host(switch, tunnels)
    return Fabric(hosts)


# ---------------------------------------------------------------- following the packet


class _Recorder:
    """The Watcher of one trace: turns lookups and hops into Steps and Hops."""

    def __init__(self, snapshot: Snapshot, owners: Owners) -> None:
        self.owners = owners
        self.host_ids = {h.name: h.id for h in snapshot.hosts.values()}
        self.hops: list[Hop] = []
        self._steps: list[tuple[int, Flow | None]] = []

    def step(self, host: str, table: int, flow: Flow | None) -> None:
        self._steps.append((table, flow))

    def hop(self, host: str, in_port: int, packet: Packet, outputs: list) -> None:
        host_id = self.host_ids[host]
        hop = Hop(host, self.port_text(host_id, in_port, incoming=True))
        for table, flow in self._steps:
            if flow is None:
                hop.steps.append(Step(table_name(table), None, "(no flow)", "drop (miss)", "-"))
            else:
                hop.steps.append(Step(table_name(table), flow.priority, match_text(flow.match),
                                      actions_text(flow), self.owners.of(flow, host_id)))
        hop.outputs = [self.port_text(host_id, port) for port, _ in outputs]
        if not outputs:
            hop.dropped = _drop_reason(self, host_id, in_port, packet, self._steps)
        self._steps = []
        self.hops.append(hop)

    def port_text(self, host_id: int, ofport: int, incoming: bool = False) -> str:
        if ofport == OFPP_CONTROLLER:
            return "the controller"
        port = self.owners.by_ofport.get((host_id, ofport))
        if port is not None:
            return f"port {port.name} (ofport {ofport})"
        peer = self.owners.tunnel_peer.get((host_id, ofport))
        if peer is not None:
            direction = "from" if incoming else "to"
            return f"tunnel {direction} {self.owners.hosts[peer]} (ofport {ofport})"
        return f"ofport {ofport} (not a Weft port)"


def _drop_reason(rec: _Recorder, host_id: int, in_port: int, packet: Packet, steps) -> str:
    """Why the pipeline ended without an output, from the last table it reached."""
    table, flow = steps[-1] if steps else (0, None)
    miss = flow is None or (flow.category == Category.PIPELINE and not flow.match)
    if flow is not None and flow.category == 0:
        return f"by a flow that is not Weft's in {table_name(table)} ({match_text(flow.match)})"
    owners = rec.owners
    port = owners.by_ofport.get((host_id, in_port))
    metadata = _metadata(steps)
    network = owners.by_vni.get(metadata) if metadata is not None else None
    if table == Table.CLASSIFY:
        return f"ofport {in_port} is neither a bound port nor a tunnel from a known host"
    if table == Table.TUNNEL_IN:
        return (f"VNI {packet.get('tunnel_id', 0)} is not a network present on "
                f"{owners.hosts[host_id]}")
    if table == Table.PORT_SECURITY and port is not None:
        if packet.get("eth_src") != int(port.mac.replace(":", ""), 16):
            return (f"port security: source MAC {value_text('eth_src', packet['eth_src'])} "
                    f"is not port {port.name}'s")
        source = packet.get("ipv4_src", packet.get("ipv6_src"))
        return f"port security: source IP {_ip_text(packet, source)} is not port {port.name}'s"
    if table == Table.NEIGHBOUR:
        return "neighbour discovery guard: not this port's address or MAC, or a router message"
    if table == Table.L2_LOOKUP and network is not None:
        from_tunnel = (host_id, in_port) in owners.tunnel_peer
        return _unknown_destination(owners, network, packet, host_id, from_tunnel)
    if table == Table.FLOOD and network is not None:
        return _unreplicated(network, packet)
    if miss or flow is None:  # miss covers flow is None
        return f"in {table_name(table)}"
    return f"in {table_name(table)} by {match_text(flow.match)}"


def _metadata(steps) -> int | None:
    """The VNI the pipeline recorded (from the WriteMetadata of CLASSIFY or TUNNEL_IN)."""
    for _table, flow in steps:
        for instruction in flow.instructions if flow else ():
            if isinstance(instruction, WriteMetadata):
                return instruction.value
    return None


def _ip_text(packet: Packet, value: int | None) -> str:
    if value is None:
        return "(none)"
    return value_text("ipv4_src" if "ipv4_src" in packet else "ipv6_src", value)


def _unknown_destination(owners: Owners, network, packet: Packet, host_id: int,
                         from_tunnel: bool) -> str:
    mac = packet.get("eth_dst", 0)
    text = value_text("eth_dst", mac)
    port = owners.by_mac.get((network.vni, mac))
    if port is not None:
        if not port.bound:
            return f"destination port {port.name} is not bound to a host"
        where = owners.hosts[cast(int, port.host_id)]  # bound: host_id is set
        if port.host_id != host_id and from_tunnel:
            return (f"destination port {port.name} is on {where}, and what came from a tunnel "
                    "never goes into another (split horizon)")
        return (f"no flow in L2_LOOKUP for port {port.name} (bound on {where}): "
                f"{owners.hosts[host_id]} lacks it")
    for (vni, other_mac), port in owners.by_mac.items():
        if other_mac == mac and vni != network.vni:
            return (f"destination MAC {text} is port {port.name}'s, in network "
                    f"{owners.by_vni[vni].name}, not in network {network.name}")
    return f"destination MAC {text} is no port of network {network.name}"


def _unreplicated(network, packet: Packet) -> str:
    address = packet.get("ipv4_dst", packet.get("ipv6_dst"))
    for group in network.groups:
        if int(group.address) == address:
            return f"multicast group {group.address} has no members to receive it"
    return (f"unregistered multicast is dropped in network {network.name} "
            f"(unregistered_multicast={network.unregistered_multicast})")


def trace(
    snapshot: Snapshot,
    source: str,
    to: str,
    proto: str = "icmp",
    dport: int | None = None,
    src_mac: str | None = None,
    src_ip: str | None = None,
    tables: Callable[[HostView], Tables] | None = None,
) -> Trace:
    """Follow the packet port `source` sends to `to` through `tables` (default: the desired
    tables of `snapshot`)."""
    port, packet = build_packet(snapshot, source, to, proto, dport, src_mac, src_ip)
    recorder = _Recorder(snapshot, Owners(snapshot))
    fabric = _fabric(snapshot, tables or desired_tables(snapshot, port.network_id))
    # build_packet refuses an unbound source port: host_id and ofport are set
    host = snapshot.hosts[cast(int, port.host_id)].name
    deliveries = fabric.send(host, cast(int, port.ofport), packet, recorder)
    owners = recorder.owners
    return Trace(
        {name: value_text(name, value) if isinstance(value, int) else str(value)
         for name, value in packet.items()},
        recorder.hops,
        *_verdict(recorder, port, deliveries),
        [
            f"{h}/" + (p.name if (p := owners.by_ofport.get((recorder.host_ids[h], o)))
                       else f"ofport {o}")
            for h, o, _packet in deliveries
        ],
    )


def _verdict(rec: _Recorder, source: PortView, deliveries) -> tuple[str, str]:
    if not deliveries:
        reasons = list(dict.fromkeys(h.dropped for h in rec.hops if h.dropped))
        return "dropped", "; ".join(reasons) or "no flow sent it anywhere"
    places = []
    for host, ofport, _packet in deliveries:
        host_id = rec.host_ids[host]
        if ofport == OFPP_CONTROLLER:
            places.append("the controller")
        elif host_id == source.host_id and ofport == source.ofport:
            places.append(f"back to {source.name} (answered by the switch)")
        else:
            places.append(f"{rec.port_text(host_id, ofport)} on {host}")
    if places == ["the controller"]:
        return "to controller", "sent to the controller only (IGMP snooping)"
    return "delivered", "to " + ", ".join(places)
