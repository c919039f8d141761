"""What owns a flow: its cookie's category (controller/pipeline.py) made concrete.

The cookie says which kind of object a flow belongs to (a port, a network, a tunnel, a
multicast group, the fixed pipeline); which object of that kind is read from the fields its
owner put into the match, looked up in the snapshot the flow was compiled from: a port by
its ofport, MAC or address in its network, a network by its VNI, a tunnel by its ofport, a
group by its address. A flow of an object that no longer exists (an extra flow found by an
audit) is named by what its match says.
"""

from __future__ import annotations

from controller.flows import Flow
from controller.flowtext import value_text
from controller.pipeline import Category
from models.snapshot import NetworkView, PortView, Snapshot


class Owners:
    """Indexes of one snapshot for naming flow owners; build once per snapshot."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.hosts = {h.id: h.name for h in snapshot.hosts.values()}
        self.by_vni: dict[int, NetworkView] = {n.vni: n for n in snapshot.networks.values()}
        self.by_mac: dict[tuple[int, int], PortView] = {}
        self.by_address: dict[tuple[int, int], PortView] = {}
        self.by_ofport: dict[tuple[int, int], PortView] = {}
        for network in snapshot.networks.values():
            for port in network.ports:
                self.by_mac[network.vni, int(port.mac.replace(":", ""), 16)] = port
                for address in port.addresses:
                    self.by_address[network.vni, int(address)] = port
                if port.host_id is not None and port.ofport is not None:  # bound
                    self.by_ofport[port.host_id, port.ofport] = port
        self.tunnel_peer = {
            (host_id, tunnel.ofport): peer_id
            for host_id, peers in snapshot.tunnels.items()
            for peer_id, tunnel in peers.items()
            if tunnel.ofport is not None
        }

    def port_text(self, port: PortView) -> str:
        return f"port {port.name} (network {self.snapshot.networks[port.network_id].name})"

    def of(self, flow: Flow, host_id: int | None) -> str:
        """The owner of `flow` on host `host_id`, in words."""
        fields = {name: value for name, value, _mask in flow.match}
        vni = fields.get("metadata", fields.get("tunnel_id"))
        network = self.by_vni.get(vni) if vni is not None else None
        try:
            category = Category(flow.category)
        except ValueError:
            return "not Weft's (no Weft cookie)"
        if category is Category.PIPELINE:
            return "pipeline (table miss)" if not flow.match else "pipeline (IGMP snooping)"
        if category is Category.TUNNEL:
            in_port = fields.get("in_port")
            peer = None
            if host_id is not None and in_port is not None:
                peer = self.tunnel_peer.get((host_id, in_port))
            return f"tunnel from {self.hosts[peer]}" if peer else self._unknown("tunnel", fields)
        if category is Category.NETWORK:
            return f"network {network.name}" if network else self._unknown("network", fields)
        if category is Category.MULTICAST:
            address = fields.get("ipv4_dst", fields.get("ipv6_dst"))
            group = network and next(
                (g for g in network.groups if int(g.address) == address), None
            )
            if network and group:
                return f"multicast group {group.address} (network {network.name})"
            return self._unknown("multicast group", fields)
        port = self._port(fields, host_id, vni)
        return self.port_text(port) if port else self._unknown("port", fields)

    def _port(self, fields: dict, host_id: int | None, vni: int | None) -> PortView | None:
        if "in_port" in fields:
            return self.by_ofport.get((host_id, fields["in_port"])) if host_id is not None else None
        if vni is None:  # no network: no port of one
            return None
        if "eth_dst" in fields:
            return self.by_mac.get((vni, fields["eth_dst"]))
        if "arp_tpa" in fields:
            return self.by_address.get((vni, fields["arp_tpa"]))
        return None

    @staticmethod
    def _unknown(kind: str, fields: dict) -> str:
        said = ",".join(f"{k}={value_text(k, v)}" for k, v in fields.items())
        return f"{kind} not in the desired state ({said})"

