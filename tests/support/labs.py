"""Lab fixtures (real OVS hosts in network namespaces).

`make_lab(hosts=2)` gives a test a lab named uniquely for this test run (so runs and tests
never collide with each other or with a demo), and always tears it down after the test,
asserting that nothing is left. `leftovers()` is that check; it looks at the system directly
rather than through the lab's own code, so a sweep that forgets something is caught.

`create_br_int()` and `install_l2_flows()` do by hand what the OVSDB manager and the
controller will do later (br-int, a VXLAN mesh, plain L2 flows), for tests of the lab's
data path.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from lab import Container, Lab, netns

_serial = itertools.count(1)
VNI = 100
TUNNEL_OFPORT_BASE = 100  # tunnel to host r: ofport 100 + r


def unique_lab_name() -> str:
    """A lab name no other test, test run or demo uses: pid of this run plus a counter."""
    return f"t{os.getpid()}-{next(_serial)}"


def _root_links() -> set[str]:
    """Interfaces of the machine's root namespace, read from /proc/<PID 1 or 2>/net/dev (a
    file read, no connection made)."""
    process_dir = netns.root_netns_path().parent.parent
    lines = (process_dir / "net" / "dev").read_text().splitlines()[2:]
    return {line.split(":")[0].strip() for line in lines}


# Taken when pytest loads this plugin, before any lab exists: links a lab leaks into the root
# namespace are those with lab-like names that were not there then.
ROOT_LINKS_AT_START = _root_links()


def leftovers(name: str) -> list[str]:
    """Everything of lab `name` still on the machine, described; empty means clean."""
    lab_dir = f"/run/weft-lab/{name}"
    found = [f"netns {ns}" for ns in _named_netns() if ns.startswith(f"{name}-")]
    found += [f"process {pid}: {cmd}" for pid, cmd in _processes() if f"{lab_dir}/" in cmd]
    if os.path.exists(lab_dir):
        found.append(f"directory {lab_dir}")
    mounts = Path("/proc/self/mountinfo").read_text()
    found += [f"mount {m}" for m in re.findall(rf"/run/netns/{re.escape(name)}-\S+", mounts)]
    found += [f"root-namespace link {link}" for link in _root_links() - ROOT_LINKS_AT_START
              if re.fullmatch(r"(u|m|c)[0-9]+|eth[01]|mgmt0|br-(phy|int|ul|mg)|ovs-netdev", link)]
    return found


def _named_netns() -> list[str]:
    try:
        return os.listdir("/run/netns")
    except FileNotFoundError:
        return []


def _processes() -> Iterator[tuple[int, str]]:
    """(pid, command line) of every process."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            yield int(entry.name), cmdline.replace(b"\0", b" ").decode(errors="replace")


@pytest.fixture
def make_lab():
    """Factory: `make_lab(hosts=2)` -> a Lab that is up. Torn down after the test, which
    fails if anything of it is left behind."""
    labs: list[Lab] = []

    def make(hosts: int = 2) -> Lab:
        lab = Lab(unique_lab_name())
        labs.append(lab)
        return lab.up(hosts)

    yield make
    for lab in labs:
        lab.down()
    left = [item for lab in labs for item in leftovers(lab.name)]
    assert not left, f"lab teardown left: {left}"


def create_br_int(lab: Lab, hosts: Sequence[str] | None = None) -> None:
    """What the OVSDB manager will do: br-int and one VXLAN port per peer host, on `hosts`
    (names; default: every host)."""
    for host in lab.hosts:
        if hosts is not None and host.name not in hosts:
            continue
        tunnels = [
            arg
            for peer in lab.hosts
            if peer != host
            for arg in (
                "--", "add-port", "br-int", f"vx{peer.index}",
                "--", "set", "Interface", f"vx{peer.index}", "type=vxlan",
                f"options:remote_ip={peer.tunnel_ip}", "options:key=flow",
                f"ofport_request={TUNNEL_OFPORT_BASE + peer.index}",
            )
        ]
        lab.vsctl(
            host.name, "add-br", "br-int",
            "--", "set", "Bridge", "br-int", "datapath_type=netdev", "fail_mode=secure",
            "protocols=OpenFlow13", *tunnels,
        )


def install_l2_flows(lab: Lab, containers: Sequence[Container]) -> None:
    """What the controller will do: plain L2 forwarding between `containers` on every host
    (br-int must exist: see `create_br_int`)."""
    for host in lab.hosts:
        flows = _l2_flows(lab, host.name, containers)
        lab.ofctl(host.name, "replace-flows", "-", input="\n".join(flows))


def _l2_flows(lab: Lab, host: str, containers: Sequence[Container]) -> list[str]:
    """One table: unicast by destination MAC; broadcast from a local port goes to the other
    local ports (OVS skips the in_port) and every tunnel, from a tunnel to the local ports
    only (split horizon: no loops in the full mesh)."""
    local_ports = [_ofport(lab, c) for c in containers if c.host == host]
    to_locals = [f"output:{port}" for port in local_ports]
    tunnels = [f"output:{TUNNEL_OFPORT_BASE + h.index}" for h in lab.hosts if h.name != host]
    to_tunnels = [f"set_field:{VNI}->tun_id", *tunnels] if tunnels else []
    broadcast = "dl_dst=01:00:00:00:00:00/01:00:00:00:00:00"
    flows = ["priority=0,actions=drop"]
    for c in containers:
        if c.host == host:
            flows.append(f"priority=100,dl_dst={c.mac},actions=output:{_ofport(lab, c)}")
        else:
            tunnel = TUNNEL_OFPORT_BASE + lab.host(c.host).index
            flows.append(f"priority=100,dl_dst={c.mac},"
                         f"actions=set_field:{VNI}->tun_id,output:{tunnel}")
    for port in local_ports:
        actions = ",".join([*to_locals, *to_tunnels])
        flows.append(f"priority=50,in_port={port},{broadcast},actions={actions}")
    if to_locals:
        flows.append(f"priority=40,{broadcast},actions={','.join(to_locals)}")
    return flows


def _ofport(lab: Lab, container: Container) -> int:
    return int(lab.vsctl(container.host, "get", "Interface", container.veth, "ofport"))
