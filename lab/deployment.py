"""A whole Weft deployment in a lab: database, registered hosts, the controller, containers.

`Deployment` is what the demo, the end-to-end tests and the benchmarks drive: it registers
the lab's hosts with the northbound operations, runs the real `weft controller` process in
the lab's control namespace (so it can be killed and restarted like the service it is),
creates networks and ports and plugs containers in with the lab. Its admin writes go through
the operations' own session (northbound/session.py: BEGIN IMMEDIATE on SQLite, where the demo runs,
so they wait for the controller's concurrent writes instead of failing). Waits poll the
database or the switch, never sleep blindly.
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from lab import Lab
from lab.layout import CONTROLLER_PORT, CONTROLLER_TARGET
from models import tables as t
from models.db import make_engine, transaction
from northbound.hosts import add_host
from northbound.networks import create_network
from northbound.ports import create_port
from northbound.session import writing

WEFT = str(Path(sys.executable).with_name("weft"))
FETCH = (
    "import sys, urllib.request; "
    "print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())"
)
# Every Weft flow, as an ovs-ofctl filter: controller.pipeline's WEFT_COOKIE under its
# COOKIE_MARK_MASK, written out because the lab does not import the controller
# (tests/unit/test_codec.py checks that the two agree).
WEFT_FLOWS = "cookie=0x5700000000000000/0xff00000000000000"


def wait_for(
    condition: Callable[[], object],
    timeout: float = 20.0,
    what: str = "condition",
    poll: float = 0.05,
):
    """Poll `condition` every `poll` seconds until it returns something truthy; return that,
    or fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(poll)


@dataclass
class PlacedPort:
    name: str
    network: str
    host: str
    mac: str
    ip: str  # without prefix
    prefix: int
    mtu: int  # the network's


@dataclass
class Deployment:
    lab: Lab
    database_url: str
    log_dir: Path
    controller_args: tuple[str, ...] = ()
    controller: subprocess.Popen | None = None
    ports: dict[str, PlacedPort] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.engine = make_engine(self.database_url)

    # ------------------------------------------------------------ the controller process

    @property
    def controller_log(self) -> Path:
        return self.log_dir / "controller.log"

    def start_controller(self) -> None:
        assert self.controller is None or self.controller.poll() is not None
        argv = [
            WEFT, "controller",
            "--database-url", self.database_url,
            "--listen", f"{self.lab.controller_ip}:{CONTROLLER_PORT}",
            "--controller-target", CONTROLLER_TARGET,
            *self.controller_args,
        ]  # fmt: skip
        self.controller = self.lab.spawn("ctl", argv, self.controller_log)

    def stop_controller(self, sig: int = signal.SIGTERM) -> int:
        process, self.controller = self.controller, None
        process.send_signal(sig)
        return process.wait(timeout=30)

    def restart_controller(self) -> None:
        self.stop_controller()
        self.start_controller()

    # ------------------------------------------------------------ desired state

    def register_hosts(self, names: list[str] | None = None) -> None:
        with writing(self.database_url) as session:
            for host in self.lab.hosts:
                if names is None or host.name in names:
                    add_host(session, host.name, host.ovsdb_target, host.tunnel_ip)

    def network(self, name: str, cidr: str, **options) -> None:
        with writing(self.database_url) as session:
            create_network(session, name, cidrs=[cidr], **options)

    def port(
        self, name: str, network: str, host: str, ip: str | None = None, plug: bool = True
    ) -> PlacedPort:
        """Create port `name` in the database (its address allocated unless given) and,
        unless plug=False, plug a container in."""
        with writing(self.database_url) as session:
            row = create_port(session, name, network, ips=[ip] if ip else [])
            address = row.addresses[0]
            placed = PlacedPort(
                name, network, host, row.mac, str(address.address), address.cidr.prefixlen,
                session.get(t.Network, row.network_id).mtu,
            )
        self.ports[name] = placed
        if plug:
            self.plug(name)
        return placed

    def plug(self, name: str) -> None:
        placed = self.ports[name]
        self.lab.attach(
            name, placed.host, placed.mac, [f"{placed.ip}/{placed.prefix}"], placed.mtu
        )

    # ------------------------------------------------------------ observed state

    def bound(self, name: str) -> bool:
        with transaction(self.engine) as session:
            return session.scalar(select(t.Port.state).where(t.Port.name == name)) == "bound"

    def wait_bound(self, *names: str, timeout: float = 20.0) -> None:
        for name in names:
            wait_for(lambda n=name: self.bound(n), timeout, f"port {name} to be bound")

    def switch_flows(self, host: str) -> list[str]:
        """Weft's flows on `host`'s br-int as ovs-ofctl prints them, without counters."""
        out = self.lab.ofctl(host, "dump-flows", "--no-stats", WEFT_FLOWS)
        return [line for line in out.splitlines() if "cookie=" in line]

    def wait_programmed(self, timeout: float = 30.0) -> None:
        """Every host connected to the controller with its flows installed."""

        def ready():
            with transaction(self.engine) as session:
                hosts = session.scalars(select(t.Host)).all()
                switches = {s.datapath_id: s for s in session.scalars(select(t.Switch))}
            return hosts and all(
                h.datapath_id in switches
                and switches[h.datapath_id].connected
                and (switches[h.datapath_id].flows or 0) > 0
                for h in hosts
            )

        wait_for(ready, timeout, "every host's switch to be connected and programmed")

    def metrics(self, port: int) -> dict[str, float]:
        """The controller's Prometheus metrics, fetched from the control namespace (never
        from the machine's root namespace): {'name{labels}': value}."""
        url = f"http://{self.lab.controller_ip}:{port}/metrics"
        text = self.lab.exec("ctl", [sys.executable, "-c", FETCH, url]).stdout
        return {
            name: float(value)
            for name, value in re.findall(r"^(weft_\S+) (\S+)$", text, re.MULTILINE)
        }

    # ------------------------------------------------------------ traffic

    def ping(self, source: str, destination: str, count: int = 1, deadline: float = 3) -> bool:
        return self.lab.ping(source, self.ports[destination].ip, count=count, deadline=deadline)

    def spawn_ping(self, source: str, destination: str, count: int, name: str):
        """Ping every 10 ms in the background; read the outcome with `ping_outcome(name)`."""
        argv = ["ping", "-n", "-q", "-i", "0.01", "-c", str(count), self.ports[destination].ip]
        return self.lab.spawn(source, argv, self.log_dir / f"{name}.log")

    def ping_outcome(self, name: str) -> tuple[int, int]:
        """(sent, received) of a finished `spawn_ping`."""
        summary = (self.log_dir / f"{name}.log").read_text()
        found = re.search(r"(\d+) packets transmitted, (\d+) received", summary)
        if found is None:
            raise AssertionError(f"no ping summary in: {summary!r}")
        return int(found[1]), int(found[2])

    def close(self) -> None:
        if self.controller is not None and self.controller.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.stop_controller()
        self.engine.dispose()
