"""What the OVSDB manager wants on one host: br-int, its controller and a VXLAN mesh.

Pure: computed from the database's host views alone, so that deciding *what* a host should
look like is separate from *how* it gets there (ovsdb/plan.py) and can be tested without OVS.
Everything Weft creates carries `external_ids:weft-owner=weft`; ports without that marker
belong to someone else and are never touched.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from models.identity import datapath_id_text
from models.snapshot import HostView

INT_BRIDGE = "br-int"
OWNER_KEY, OWNER = "weft-owner", "weft"
PEER_KEY = "weft-peer"
# OpenFlow 1.3 for flows and groups, 1.4 for the bundles the controller commits atomically.
PROTOCOLS = frozenset({"OpenFlow13", "OpenFlow14"})
FAIL_MODE = "secure"  # standalone (NORMAL) on a full tunnel mesh is a broadcast storm
TUNNEL_PORT_PREFIX = "wvx"
OWNED = {OWNER_KEY: OWNER}


@dataclass(frozen=True)
class ControllerSpec:
    """The OpenFlow controller of every br-int. max_backoff keeps OVS from waiting up to 8 s
    before reconnecting after a controller restart; out-of-band because OpenFlow travels on
    a management network, never through br-int itself. Also what a read of a Controller
    row gives (ovsdb/observed.py), where a setting OVS holds no value for is None."""

    target: str
    max_backoff: int | None = 1000
    inactivity_probe: int | None = 5000
    connection_mode: str | None = "out-of-band"

    @property
    def settings(self) -> dict[str, object]:
        """The Controller columns besides `target` (they can be fixed without re-setting it)."""
        return {
            "max_backoff": self.max_backoff,
            "inactivity_probe": self.inactivity_probe,
            "connection_mode": self.connection_mode,
        }


@dataclass(frozen=True)
class TunnelSpec:
    """One VXLAN port on br-int towards a peer host. The VNI comes from each flow
    (`key=flow`); BFD tells whether the peer answers, once the peer has a tunnel back
    (`bfd_enabled`, see desired_switches)."""

    port: str
    peer_id: int
    peer_name: str
    remote_ip: str
    bfd_enabled: bool

    @property
    def options(self) -> dict[str, str]:
        return {"remote_ip": self.remote_ip, "key": "flow"}

    @property
    def bfd(self) -> dict[str, str]:
        return {"enable": "true"} if self.bfd_enabled else {}

    @property
    def external_ids(self) -> dict[str, str]:
        return {**OWNED, PEER_KEY: self.peer_name}


@dataclass(frozen=True)
class DesiredSwitch:
    """br-int of one host as Weft wants it. Compares by value: an unchanged host gives an
    equal object, so a HostAgent can tell that its host needs no new reconcile."""

    host_name: str
    datapath_type: str
    datapath_id: int
    controller: ControllerSpec
    tunnels: tuple[TunnelSpec, ...]

    @property
    def other_config(self) -> dict[str, str]:
        return {
            # Fixed, so that the controller recognises the switch when it connects.
            "datapath-id": datapath_id_text(self.datapath_id),
            "disable-in-band": "true",
        }

    @property
    def external_ids(self) -> dict[str, str]:
        return dict(OWNED)


def tunnel_port_name(peer_id: int) -> str:
    """Short (kernel interface names have at most 15 characters) and stable: the peer's
    database id never changes, while its name or tunnel IP may."""
    return f"{TUNNEL_PORT_PREFIX}{peer_id}"


def desired_switches(
    hosts: Mapping[int, HostView],
    numbered: Collection[tuple[int, int]],
    controller: ControllerSpec,
) -> dict[int, DesiredSwitch]:
    """{host id: DesiredSwitch} for every host: each one tunnels to every other.

    `numbered` holds the (host id, peer id) pairs whose tunnel OVS has numbered, as the
    tunnels table records them. BFD runs on a tunnel once its peer has numbered the tunnel
    back: before that, a session can only report "down", and its packets reach the peer's
    kernel, which answers each with ICMP and resolves a neighbour for it. With 50 hosts
    coming up at once, that overflowed the machine-wide ARP table, and the sessions kept
    ovs-vswitchd busy for seconds while the tunnels themselves were still being created.
    """
    peers = sorted(hosts.values(), key=lambda h: h.id)
    return {
        host.id: DesiredSwitch(
            host_name=host.name,
            datapath_type=host.datapath_type,
            datapath_id=host.datapath_id,
            controller=controller,
            tunnels=tuple(
                TunnelSpec(
                    port=tunnel_port_name(peer.id),
                    peer_id=peer.id,
                    peer_name=peer.name,
                    remote_ip=str(peer.tunnel_ip),
                    bfd_enabled=(peer.id, host.id) in numbered,
                )
                for peer in peers
                if peer.id != host.id
            ),
        )
        for host in hosts.values()
    }
