"""Names and addresses of everything a lab creates, derived from the lab name alone.

Every other lab module asks this one where things are, so that a separate CLI invocation (or
the sweep after a crash) finds a lab's namespaces, directories and addresses without having to
trust a state file. Pure functions and frozen values: nothing here touches the system.

Address plan (docs/lab.md, "Layout"): underlay 203.0.113.0/24, management 198.18.0.0/24;
host k owns .k in both, the control namespace owns .254.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

RUN_ROOT = Path("/run/weft-lab")
DEFAULT_NAME = "weft"
MAX_HOSTS = 253

UNDERLAY_PREFIX = "203.0.113."
MGMT_PREFIX = "198.18.0."
PREFIX_LEN = 24
CTL_OCTET = 254
CONTROLLER_IP = f"{MGMT_PREFIX}{CTL_OCTET}"
CONTROLLER_PORT = 6653  # OpenFlow
CONTROLLER_TARGET = f"tcp:{CONTROLLER_IP}:{CONTROLLER_PORT}"  # what each br-int connects to
OVSDB_PORT = 6640

# Interface names inside the lab's namespaces (never in the caller's namespace).
UNDERLAY_BRIDGE = "br-ul"  # ctl: Linux bridge, the "physical" L2 underlay
MGMT_BRIDGE = "br-mg"  # ctl: Linux bridge, the management network
HOST_UPLINK = "eth1"  # host: underlay veth, the only port of br-phy
HOST_MGMT = "mgmt0"  # host: kernel-only management veth
PHY_BRIDGE = "br-phy"  # host: OVS bridge holding the VTEP IP on its internal port
INT_BRIDGE = "br-int"  # host: created by the OVSDB manager, never by the lab
CONTAINER_IF = "eth0"
CONTAINER_MTU = 1450  # VXLAN overhead on a 1500-byte underlay

# Netns names are "<lab>-ctl", "<lab>-host<k>", "<lab>-c<n>"; the name is short so that unix
# socket paths under RUN_ROOT stay well below the 108-byte limit.
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
HOST_NAME_PATTERN = re.compile(r"host[1-9][0-9]*")


def check_name(name: str) -> str:
    """Return `name` if it can name a lab, else raise ValueError."""
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"invalid lab name {name!r}: use 1-32 characters a-z, 0-9 and '-', "
            "starting with a letter or digit"
        )
    return name


@dataclass(frozen=True)
class Host:
    """One simulated machine: a netns with its own ovsdb-server and ovs-vswitchd."""

    lab: str
    index: int

    @property
    def name(self) -> str:
        return f"host{self.index}"

    @property
    def netns(self) -> str:
        return f"{self.lab}-{self.name}"

    @property
    def mgmt_ip(self) -> str:
        """Address of the kernel-only management veth: OVSDB and OpenFlow travel here."""
        return f"{MGMT_PREFIX}{self.index}"

    @property
    def tunnel_ip(self) -> str:
        """The VTEP address, on br-phy's internal port."""
        return f"{UNDERLAY_PREFIX}{self.index}"

    @property
    def vtep_mac(self) -> str:
        """br-phy's MAC, fixed so that every host can pre-load every other's VTEP neighbour."""
        return f"02:00:cb:00:71:{self.index:02x}"

    @property
    def ovsdb_target(self) -> str:
        """Where an OVSDB client in the ctl namespace reaches this host's database."""
        return f"tcp:{self.mgmt_ip}:{OVSDB_PORT}"

    @property
    def rundir(self) -> Path:
        """OVS_RUNDIR (also db, log and sysconf dir) of this host's daemons."""
        return RUN_ROOT / self.lab / f"h{self.index}"

    @property
    def db_socket(self) -> Path:
        return self.rundir / "db.sock"

    @property
    def db_file(self) -> Path:
        return self.rundir / "conf.db"

    def bridge_mgmt_socket(self, bridge: str = INT_BRIDGE) -> Path:
        """ovs-vswitchd's per-bridge OpenFlow socket (what ovs-ofctl talks to)."""
        return self.rundir / f"{bridge}.mgmt"

    def pidfile(self, daemon: str) -> Path:
        return self.rundir / f"{daemon}.pid"

    @property
    def ctl_uplink(self) -> str:
        """The ctl-side end of this host's underlay cable (a port of br-ul)."""
        return f"u{self.index}"

    @property
    def ctl_mgmt(self) -> str:
        """The ctl-side end of this host's management cable (a port of br-mg)."""
        return f"m{self.index}"


@dataclass(frozen=True)
class Layout:
    """Where one lab's namespaces and files live."""

    name: str

    def __post_init__(self) -> None:
        check_name(self.name)

    @property
    def dir(self) -> Path:
        return RUN_ROOT / self.name

    @property
    def ctl_netns(self) -> str:
        return f"{self.name}-ctl"

    def host(self, index: int) -> Host:
        if not 1 <= index <= MAX_HOSTS:
            raise ValueError(f"host index {index} outside 1..{MAX_HOSTS}")
        return Host(self.name, index)

    def host_named(self, host_name: str) -> Host:
        """The Host called `host_name` ("host3"), or ValueError."""
        if not is_host_name(host_name):
            raise ValueError(f"not a host name: {host_name!r} (expected host1, host2, ...)")
        return self.host(int(host_name.removeprefix("host")))

    def container_netns(self, number: int) -> str:
        return f"{self.name}-c{number}"

    def owns_netns(self, netns: str) -> bool:
        """True for exactly the netns names this lab creates (and no other lab's)."""
        return re.fullmatch(rf"{re.escape(self.name)}-(ctl|host[0-9]+|c[0-9]+)", netns) is not None


def is_host_name(name: str) -> bool:
    return HOST_NAME_PATTERN.fullmatch(name) is not None


def container_veth(number: int) -> str:
    """Host-side veth name of container n: short, unique within its host."""
    return f"c{number}"
