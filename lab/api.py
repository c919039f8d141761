"""`Lab`: the Python API of the lab (the `weft lab` CLI is a thin layer over it).

A lab is a set of real Open vSwitch hosts, each in its own network namespace, on this one
machine; see docs/lab.md for the layout. A `Lab` object holds no live resources: everything
it needs is derived from the lab name or read from the lab's state file, so any number of
processes can work on the same lab (`attach` calls may even run in parallel).

    lab = Lab("demo")
    lab.up(hosts=3)
    lab.vsctl("host1", "add-br", "br-int", "--", "set", "Bridge", "br-int", ...)
    lab.attach("web-1", host="host1", mac="02:00:00:00:01:01", ips=["198.51.100.11/24"])
    lab.ping("web-1", "198.51.100.12")
    lab.down()
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from functools import partial
from pathlib import Path

from lab import containers, netns, network, ovs, parallel, procs
from lab.errors import LabError
from lab.layout import (
    CONTAINER_MTU,
    CONTROLLER_IP,
    DEFAULT_NAME,
    INT_BRIDGE,
    MAX_HOSTS,
    Host,
    Layout,
    container_veth,
    is_host_name,
)
from lab.state import Container, LabState, Spawned, StateFile
from lab.status import LabStatus, collect_status
from lab.sweep import sweep


class Lab:
    """One lab, by name. Two labs with different names never touch each other.

    Refuses (NotIsolatedError) to be used from the machine's root network namespace.
    """

    controller_ip = CONTROLLER_IP

    def __init__(self, name: str = DEFAULT_NAME) -> None:
        netns.require_isolated()
        self.layout = Layout(name)
        self.name = name
        self._state = StateFile(self.layout.dir, name)

    def __repr__(self) -> str:
        return f"Lab({self.name!r})"

    @property
    def dir(self) -> Path:
        """The lab's state/run directory, /run/weft-lab/<name>/."""
        return self.layout.dir

    @property
    def ctl_netns(self) -> str:
        """The control namespace: run the controller and every OVSDB/OpenFlow client here."""
        return self.layout.ctl_netns

    @property
    def is_up(self) -> bool:
        return self._state.exists()

    # ---------------------------------------------------------------- topology

    @property
    def hosts(self) -> list[Host]:
        """The hosts (empty if the lab is not up)."""
        if not self.is_up:
            return []
        return [self.layout.host(k) for k in range(1, self._state.read().hosts + 1)]

    def host(self, name: str) -> Host:
        """The host called `name` ("host2"); LabError if this lab has no such host."""
        host = self.layout.host_named(name)
        if host.index > self._state.read().hosts:
            raise LabError(f"lab {self.name} has no {name}")
        return host

    @property
    def containers(self) -> list[Container]:
        if not self.is_up:
            return []
        return sorted(self._state.read().containers.values(), key=lambda c: c.number)

    def container(self, port: str) -> Container:
        try:
            return self._state.read().containers[port]
        except KeyError:
            raise LabError(f"lab {self.name} has no container with port {port!r}") from None

    # ---------------------------------------------------------------- life cycle

    def up(self, hosts: int) -> Lab:
        """Build the lab with `hosts` hosts, after sweeping any leftovers of a lab with the
        same name. On failure, everything created so far is removed again."""
        if not 1 <= hosts <= MAX_HOSTS:
            raise ValueError(f"hosts must be in 1..{MAX_HOSTS}, not {hosts}")
        self.down()
        self.dir.mkdir(parents=True)
        self._state.write(LabState(hosts=hosts))
        try:
            self._build(self.hosts)
        except BaseException:
            self.down()
            raise
        return self

    def _build(self, hosts: list[Host]) -> None:
        network.create(self.ctl_netns, hosts)
        ovs.create_empty_db(self._empty_db)
        start = partial(network.start_host, ctl_netns=self.ctl_netns, empty_db=self._empty_db)
        parallel.each(start, hosts)
        parallel.each(self._preload_tunnel_neighbours, hosts)

    @property
    def _empty_db(self) -> Path:
        return self.dir / "empty.db"

    def _preload_tunnel_neighbours(self, host: Host) -> None:
        ovs.preload_tunnel_neighbours(host, [peer for peer in self.hosts if peer != host])

    def down(self) -> None:
        """Remove everything of this lab: processes, namespaces, links, files. Works on a
        half-built or crashed lab, and on one that is not up at all."""
        spawned = self._state.read().spawned if self.is_up else []
        sweep(self.layout, spawned)

    def restart(
        self, host: str, *, vswitchd_only: bool = False, fresh_db: bool = False
    ) -> list[str]:
        """Stop and start a host's OVS daemons (ovs-vswitchd only, with `vswitchd_only`).

        With `fresh_db` the host gets a new database holding only the lab's own settings, as
        a re-imaged machine would; containers are not re-plugged. Returns the ports of the
        host's containers whose OVS port is now missing.
        """
        if vswitchd_only and fresh_db:
            raise ValueError("fresh_db restarts both daemons: drop vswitchd_only")
        target = self.host(host)
        ovs.stop(target, ovs.VSWITCHD)
        if vswitchd_only:
            ovs.start_vswitchd(target)
        else:
            ovs.stop(target, ovs.OVSDB_SERVER)
            ovs.start(target, empty_db=self._empty_db if fresh_db else None)
        self._preload_tunnel_neighbours(target)
        present = set(self.vsctl(host, "--bare", "--columns=name", "list", "Interface").split())
        return [c.port for c in self.containers if c.host == host and c.veth not in present]

    # ---------------------------------------------------------------- containers

    def attach(
        self, port: str, host: str, mac: str, ips: Sequence[str], mtu: int = CONTAINER_MTU
    ) -> Container:
        """Create a container on `host` whose eth0 has `mac` and `ips` (with prefix lengths)
        and plug it into the host's br-int with external_ids:iface-id=`port`; both ends of
        its veth get `mtu` (its network's MTU).

        IPv6 stays off in the container unless one of `ips` is IPv6. Fails with LabError if
        the host has no br-int yet (the OVSDB manager creates it, never the lab).
        """
        target = self.host(host)
        if port == "ctl" or is_host_name(port):
            raise ValueError(f"port name {port!r} would shadow a lab target (ctl, host<k>)")
        mac, ips = containers.check_mac(mac), containers.check_ips(ips)
        containers.require_br_int(target)
        with self._state.update() as state:
            if port in state.containers:
                raise LabError(f"port {port!r} is already attached")
            number = state.next_container
            state.next_container += 1
            container = Container(
                port=port, host=host, number=number, netns=self.layout.container_netns(number),
                veth=container_veth(number), mac=mac, ips=ips, mtu=mtu,
            )
            state.containers[port] = container
        try:
            containers.plug(target, container)
        except BaseException:
            self._remove(container)
            raise
        return container

    def detach(self, port: str) -> None:
        """Remove the container's OVS port, veth and namespace."""
        self._remove(self.container(port))

    def _remove(self, container: Container) -> None:
        """Undo `attach`, as far as it got."""
        try:
            containers.unplug(self.host(container.host), container)
        finally:
            netns.delete([container.netns])
            with self._state.update() as state:
                state.containers.pop(container.port, None)

    # ---------------------------------------------------------------- running things

    def exec(
        self,
        target: str,
        argv: Sequence[str],
        *,
        check: bool = True,
        capture: bool = True,
        timeout: float | None = 60,
        input: str | None = None,
    ) -> subprocess.CompletedProcess:
        """Run `argv` to completion in the namespace of `target`: "ctl", a host name or a
        container's port name. In a host, OVS_RUNDIR and friends point at its daemons, so
        plain `ovs-vsctl show` works. Without `capture`, stdio is the caller's."""
        namespace, env = self._resolve(target)
        return netns.run(
            argv, netns=namespace, env=env, check=check, capture=capture, timeout=timeout,
            input=input,
        )

    def spawn(
        self,
        target: str,
        argv: Sequence[str],
        log_path: str | Path,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.Popen:
        """Start a long-running process (e.g. the controller in "ctl") with stdout and stderr
        appended to `log_path`. `down` stops it if it is still running."""
        namespace, target_env = self._resolve(target)
        with open(log_path, "ab") as log:
            process = netns.popen(
                argv, netns=namespace, env={**(target_env or {}), **(env or {})},
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        record = Spawned(
            pid=process.pid, start_time=procs.start_time(process.pid) or 0, target=target,
            argv=tuple(argv), log=str(log_path),
        )
        with self._state.update() as state:
            state.spawned.append(record)
        return process

    def entered(self, target: str) -> AbstractContextManager[None]:
        """`with lab.entered("ctl"):` runs the block's network calls in `target`'s namespace
        (this thread only); connections opened there keep working after the block."""
        return netns.entered(self._resolve(target)[0])

    def _resolve(self, target: str) -> tuple[str, dict[str, str] | None]:
        """(netns, extra environment) of "ctl", a host name, or a container's port name."""
        if target == "ctl":
            return self.ctl_netns, None
        if is_host_name(target):
            host = self.host(target)
            return host.netns, ovs.env(host)
        return self.container(target).netns, None

    def vsctl(self, host: str, *args: str, timeout: float = ovs.CLIENT_TIMEOUT) -> str:
        """ovs-vsctl against the host's database (unix socket); returns stdout."""
        return self.exec(host, ovs.vsctl_argv(self.host(host), *args, timeout=timeout)).stdout

    def ofctl(
        self, host: str, command: str, *args: str, bridge: str = INT_BRIDGE,
        input: str | None = None,
    ) -> str:
        """ovs-ofctl -O OpenFlow13 COMMAND over the bridge's unix management socket; `input`
        feeds commands that read "-" (add-flows, replace-flows, bundle)."""
        argv = ovs.ofctl_argv(self.host(host), command, *args, bridge=bridge)
        return self.exec(host, argv, input=input).stdout

    def appctl(self, host: str, *args: str, daemon: str = ovs.VSWITCHD) -> str:
        """ovs-appctl to one of the host's daemons; returns stdout."""
        return self.exec(host, ovs.appctl_argv(self.host(host), *args, daemon=daemon)).stdout

    def ping(self, source: str, destination: str, count: int = 1, deadline: float = 5) -> bool:
        """True if `count` echo replies reach `source` (any target) within `deadline` seconds.
        Requests go out every 0.2 s, so a dropped first packet only costs 0.2 s."""
        argv = ["ping", "-n", "-q", "-i", "0.2", "-c", str(count), "-w", f"{deadline:g}"]
        return self.exec(source, [*argv, destination], check=False).returncode == 0

    # ---------------------------------------------------------------- status

    def status(self) -> LabStatus:
        """What is running now: per host its daemons, br-int and br-int's ports; per
        container whether its port is still plugged."""
        return collect_status(self)
