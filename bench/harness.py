"""What the controller benchmarks share: a lab with its own database and the real `weft
controller` process, the controller's JSON log read back as timed events, and the summary
line they print.

    log_option(parser)                                # --logs, --log-level
    with deploy("conv", hosts=10, options=parser.parse_args()) as d:
        d.start_controller()      # throwaway PostgreSQL, lab, its hosts registered
        d.wait_ready()            # br-int, tunnels numbered, switches connected
        ...                       # everything is removed on exit

Times are wall-clock (`time.time()`), because they are compared with the controller's log,
written by another process; the log has millisecond resolution.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import re
import statistics
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from lab import Lab
from lab.deployment import WEFT_FLOWS, wait_for
from lab.deployment import Deployment as LabDeployment
from lab.postgres import throwaway_cluster
from models import tables as t
from models.db import transaction
from northbound import schema
from northbound.ports import create_port, delete_port

PIPELINE_FLOWS = 7  # table misses and IGMP to the controller


def log_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--logs", type=Path, metavar="DIR",
                        help="keep the controller's logs there (default: removed with the lab)")
    parser.add_argument("--log-level", default="INFO", help="the controller's (DEBUG: passes)")


def summary(values: Iterable[float], fmt: str = "7.1f") -> str:
    """min, median, p95 (nearest rank) and max of `values`."""
    ordered = sorted(values)
    p95 = ordered[math.ceil(0.95 * len(ordered)) - 1]
    return (f"min {ordered[0]:{fmt}}  median {statistics.median(ordered):{fmt}}  "
            f"p95 {p95:{fmt}}  max {ordered[-1]:{fmt}}")


def expected_flows(
    place: dict[str, list[int]], hosts: int, unbound: dict[str, int] | None = None
) -> dict[str, int]:
    """Weft's flows per host by the compiler's formula, 7 + T + sum over the networks N on
    the host of (8 + 4L + R + A), for `place` ({network: the host index of each of its
    bound ports}) and `unbound` ({network: its ports bound nowhere}): one IPv4 address per
    port, no multicast group, a full tunnel mesh."""
    unbound = unbound or {}
    counts = {}
    for h in range(1, hosts + 1):
        total = PIPELINE_FLOWS + (hosts - 1)
        for network, on in place.items():
            local = on.count(h)
            if local:
                total += 8 + 4 * local + (len(on) - local) + len(on) + unbound.get(network, 0)
        counts[f"host{h}"] = total
    return counts


class Stages:
    """Milliseconds per named stage over runs: each run printed as it ends, then summarised."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}

    def add(self, label: str, stages: dict[str, float], counted: bool = True) -> None:
        print(f"{label}: " + ", ".join(f"{k} {v:.1f} ms" for k, v in stages.items()),
              flush=True)
        if counted:
            for name, value in stages.items():
                self.samples.setdefault(name, []).append(value)

    def print_summary(self, title: str) -> None:
        print(f"\n{title}")
        width = max(map(len, self.samples))
        for name, values in self.samples.items():
            print(f"  {name:{width}}  {summary(values)}  ({len(values)} runs)")


# ---------------------------------------------------------------- the controller's log


@dataclass(frozen=True)
class LogEvent:
    time: float  # wall clock, from the log's timestamp
    kind: str  # "connected", "read" (the switch's table, after connecting) or "applied"
    host: str
    flows_added: int = 0
    flows_deleted: int = 0


_CONNECTED = re.compile(r"switch (\S+) \(0x[0-9a-f]+\) connected from")
_READ = re.compile(r"switch (\S+) holds \d+ Weft flows")
_APPLIED = re.compile(r"switch (\S+): \+(\d+)/-(\d+) flows")


def read_log(path: Path) -> list[LogEvent]:
    """The switch connections and applies in a JSON log of `weft controller`."""
    events = []
    for line in path.read_text().splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        when = dt.datetime.fromisoformat(entry["time"]).timestamp()
        if match := _CONNECTED.match(entry["message"]):
            events.append(LogEvent(when, "connected", match[1]))
        elif match := _READ.match(entry["message"]):
            events.append(LogEvent(when, "read", match[1]))
        elif match := _APPLIED.match(entry["message"]):
            events.append(LogEvent(when, "applied", match[1], int(match[2]), int(match[3])))
    return events


# ---------------------------------------------------------------- ping


@dataclass(frozen=True)
class PingLog:
    """What `ping -D -n` printed: the arrival time of each reply, and the totals."""

    replies: list[tuple[float, int]]  # (wall-clock time, icmp_seq)
    transmitted: int
    received: int

    @classmethod
    def read(cls, path: Path) -> PingLog:
        text = path.read_text()
        replies = [(float(when), int(seq)) for when, seq in
                   re.findall(r"^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)", text, re.M)]
        totals = re.search(r"(\d+) packets transmitted, (\d+) received", text)
        transmitted, received = map(int, totals.groups()) if totals else (0, len(replies))
        return cls(replies, transmitted, received)

    def first_reply_after(self, since: float) -> float | None:
        return next((when for when, _ in self.replies if when >= since), None)


def ping_argv(destination: str, interval: float, count: int, deadline: float) -> list[str]:
    """Stops after `count` replies, or at `deadline` seconds; -D stamps every reply."""
    return ["ping", "-D", "-n", "-i", f"{interval:g}", "-c", str(count), "-w", f"{deadline:g}",
            destination]


# ---------------------------------------------------------------- the deployment


@contextlib.contextmanager
def deploy(
    name: str, hosts: int, options: argparse.Namespace, controller_args: Sequence[str] = ()
) -> Iterator[Deployment]:
    """Lab `name` of `hosts` hosts, registered in a fresh database of a throwaway PostgreSQL;
    the controller, once started, logs JSON at `options.log_level`, with `controller_args`
    added. Everything is removed on exit, the controller's logs unless `options.logs`."""
    lab = Lab(name)
    with throwaway_cluster() as cluster, contextlib.ExitStack() as cleanup:
        url = cluster.create_database("weft_bench")
        schema.upgrade(url)
        cleanup.callback(lab.down)
        lab.up(hosts)
        log_dir = options.logs or lab.dir / "bench"
        log_dir.mkdir(parents=True, exist_ok=True)
        json_logs = ("--log-format", "json", "--log-level", options.log_level)
        d = Deployment(lab, url, log_dir, controller_args=(*json_logs, *controller_args))
        cleanup.callback(d.close)
        d.register_hosts()
        yield d


@dataclass
class Deployment(LabDeployment):
    """lab.deployment's Deployment with what the benchmarks add: a log file per controller
    start, read back as timed events, and ports created, plugged and counted in bulk."""

    starts: int = 0

    # ------------------------------------------------------------ the controller process

    def start_controller(self) -> float:
        """Spawn `weft controller` in the lab's ctl namespace; returns when it was spawned."""
        self.starts += 1
        spawned = time.time()
        super().start_controller()
        return spawned

    @property
    def controller_log(self) -> Path:
        """This start's log (each start gets its own file)."""
        return self.log_dir / f"{self.lab.name}-controller-{self.starts}.log"

    def log(self) -> list[LogEvent]:
        return read_log(self.controller_log)

    # ------------------------------------------------------------ desired state

    def create_ports(self, names: Iterable[tuple[str, str]]) -> dict[str, tuple[str, str]]:
        """Create ports (name, network) in one transaction; {name: (mac, ip)}."""
        created = {}
        with transaction(self.engine) as session:
            for name, network in names:
                port = create_port(session, name, network)
                created[name] = (port.mac, str(port.addresses[0].address))
        return created

    def delete_ports(self, names: Iterable[str]) -> None:
        with transaction(self.engine) as session:
            for name in names:
                delete_port(session, name)

    def two_containers(self, on_host1: str, on_host2: str) -> dict[str, str]:
        """Start the controller; network blue with a container on host1 and one on host2,
        their flows installed. {container: its IP}."""
        self.start_controller()
        self.wait_ready()
        self.network("blue", "10.20.0.0/24")
        ips = {name: self.port(name, "blue", host).ip
               for name, host in ((on_host1, "host1"), (on_host2, "host2"))}
        self.wait_flows(expected_flows({"blue": [1, 2]}, 2), timeout=20)
        return ips

    def bound_at_range(self) -> tuple[float, float]:
        """When the first and the last port were bound (the OVSDB manager's stamps)."""
        with transaction(self.engine) as session:
            first, last = session.execute(
                select(func.min(t.Port.bound_at), func.max(t.Port.bound_at))
            ).one()
        return first.timestamp(), last.timestamp()

    def bound_ports(self) -> int:
        with transaction(self.engine) as session:
            return session.scalar(select(func.count()).where(t.Port.state == "bound"))

    # ------------------------------------------------------------ hosts and switches

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Every host has br-int with all its tunnels numbered, and its switch connected."""
        dpids = {h.datapath_id for h in self._hosts()}
        n = len(dpids)

        def ready() -> bool:
            with transaction(self.engine) as session:
                numbered = session.scalar(
                    select(func.count()).where(t.Tunnel.ofport.is_not(None))
                )
                connected = set(session.scalars(
                    select(t.Switch.datapath_id).where(t.Switch.connected.is_(True))
                ))
            return numbered == n * (n - 1) and dpids <= connected

        wait_for(ready, timeout, "tunnels and switch connections")

    def _hosts(self) -> list[t.Host]:
        with transaction(self.engine) as session:
            return list(session.scalars(select(t.Host).order_by(t.Host.id)))

    def plug_internal(self, host: str, ports: Iterable[tuple[str, str]]) -> None:
        """Plug OVS internal ports (interface name, port name) into `host`'s br-int in one
        transaction: enough for binding and flows, no container needed."""
        args = []
        for iface, port in ports:
            args += ["--", "add-port", "br-int", iface, "--", "set", "Interface", iface,
                     "type=internal", f"external_ids:iface-id={port}"]
        self.lab.vsctl(host, *args[1:], timeout=60)

    def unplug(self, host: str, ports: Iterable[tuple[str, str]]) -> None:
        """Remove the interfaces `plug_internal` plugged, in one transaction."""
        args = []
        for iface, _ in ports:
            args += ["--", "del-port", "br-int", iface]
        self.lab.vsctl(host, *args[1:], timeout=60)

    def flow_count(self, host: str) -> int:
        """Weft's flows on `host`'s br-int, counted by the switch."""
        out = self.lab.ofctl(host, "dump-aggregate", WEFT_FLOWS)
        return int(out.split("flow_count=")[1].split()[0])

    def wait_flows(self, expected: dict[str, int], timeout: float = 60.0) -> None:
        """Until every host in `expected` holds exactly that many Weft flows."""
        wait_for(
            lambda: all(self.flow_count(h) == n for h, n in expected.items()),
            timeout, f"flow counts {expected}", poll=0.2,
        )
