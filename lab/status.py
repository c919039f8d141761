"""What a lab is running right now, for `weft lab status` and for tests: asked of the live
daemons and databases, not taken from the lab's own records."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import partial
from typing import TYPE_CHECKING

from lab import ovs, parallel
from lab.layout import INT_BRIDGE, Host
from lab.state import Container

if TYPE_CHECKING:
    from lab.api import Lab

TIMEOUT = 3  # per OVSDB query: a hung ovsdb-server must not hang `status`


@dataclass(frozen=True)
class HostStatus:
    name: str
    netns: str
    mgmt_ip: str
    tunnel_ip: str
    ovsdb_target: str
    rundir: str
    daemons: dict[str, bool]  # daemon name -> running
    br_int: bool
    ports: list[str]  # br-int's ports


@dataclass(frozen=True)
class ContainerStatus:
    container: Container
    plugged: bool  # its veth is a port of its host's br-int right now


@dataclass(frozen=True)
class LabStatus:
    name: str
    up: bool
    dir: str
    ctl_netns: str
    controller_ip: str
    hosts: list[HostStatus]
    containers: list[ContainerStatus]

    def to_dict(self) -> dict:
        """JSON-ready; each container is flattened to its fields plus "plugged"."""
        data = asdict(self)
        data["containers"] = [
            {**c["container"], "plugged": c["plugged"]} for c in data["containers"]
        ]
        return data


def collect_status(lab: Lab) -> LabStatus:
    hosts = lab.hosts
    host_status = parallel.each(partial(_host_status, lab), hosts)
    plugged = {(h.name, port) for h in host_status for port in h.ports}
    return LabStatus(
        name=lab.name, up=lab.is_up, dir=str(lab.dir), ctl_netns=lab.ctl_netns,
        controller_ip=lab.controller_ip, hosts=host_status,
        containers=[ContainerStatus(c, (c.host, c.veth) in plugged) for c in lab.containers],
    )


def _host_status(lab: Lab, host: Host) -> HostStatus:
    daemons = {d: ovs.daemon_pid(host, d) is not None for d in (ovs.OVSDB_SERVER, ovs.VSWITCHD)}
    bridges, ports = [], []
    if daemons[ovs.OVSDB_SERVER]:
        bridges = lab.vsctl(host.name, "list-br", timeout=TIMEOUT).split()
    if INT_BRIDGE in bridges:
        ports = lab.vsctl(host.name, "list-ports", INT_BRIDGE, timeout=TIMEOUT).split()
    return HostStatus(
        name=host.name, netns=host.netns, mgmt_ip=host.mgmt_ip, tunnel_ip=host.tunnel_ip,
        ovsdb_target=host.ovsdb_target, rundir=str(host.rundir), daemons=daemons,
        br_int=INT_BRIDGE in bridges, ports=ports,
    )
