"""The Weft demo: a whole overlay on one machine, checked end to end, then taken down.

Three OVS hosts (a lab), the embedded SQLite database, the real controller in the lab's
control namespace, two networks sharing one CIDR with containers on every host, and a
multicast group. It checks, with real packets, what an operator cares about and prints a
short report: reachability inside a network across hosts, isolation between networks,
multicast only to members, and a controller restart that loses nothing. Everything it starts
is removed at the end, whatever happens; only the topology picture stays.
"""

from __future__ import annotations

import contextlib
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import permutations
from pathlib import Path

from admin.picture import dot_graph
from lab import Lab, frames, mcast
from lab.deployment import Deployment, wait_for
from models.db import transaction
from models.snapshot import load_snapshot
from models.topology import Topology
from northbound import schema

LAB_NAME = "weft-demo"
CIDR = "10.40.0.0/24"
GROUP = "239.1.1.1"
METRICS_PORT = 9464
# name, network, host, address: blue .11 up, red .21 up, so no address exists in both
PORTS = [
    ("blue-1", "blue", "host1", "10.40.0.11"),
    ("blue-2", "blue", "host2", "10.40.0.12"),
    ("blue-3", "blue", "host3", "10.40.0.13"),
    ("blue-4", "blue", "host2", "10.40.0.14"),
    ("red-1", "red", "host1", "10.40.0.21"),
    ("red-2", "red", "host2", "10.40.0.22"),
    ("red-3", "red", "host3", "10.40.0.23"),
]
SENDER, MEMBERS, NON_MEMBER, OTHER_NETWORK = "blue-1", ("blue-2", "blue-3"), "blue-4", "red-3"


@dataclass
class Check:
    title: str
    passed: bool
    detail: str


class Report:
    def __init__(self, out=sys.stdout) -> None:
        self.checks: list[Check] = []
        self._out = out
        self._started = time.monotonic()

    def step(self, text: str) -> None:
        print(f"[{time.monotonic() - self._started:5.1f}s] {text}", file=self._out, flush=True)

    def check(self, title: str, passed: bool, detail: str) -> None:
        self.checks.append(Check(title, passed, detail))
        self.step(f"{'PASS' if passed else 'FAIL'}  {title}: {detail}")

    def attempt(self, title: str, run: Callable[[], tuple[bool, str]]) -> None:
        try:
            self.check(title, *run())
        except Exception as error:  # a broken check is a failed check, and the demo goes on
            self.check(title, False, f"{type(error).__name__}: {error}")

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def summary(self) -> str:
        width = max(len(c.title) for c in self.checks)
        lines = ["", "Weft demo report", "================"]
        lines += [
            f"{'PASS' if c.passed else 'FAIL'}  {c.title:<{width}}  {c.detail}" for c in self.checks
        ]
        verdict = "every check passed" if self.passed else "SOME CHECKS FAILED"
        lines.append(f"\n{sum(c.passed for c in self.checks)}/{len(self.checks)} checks: {verdict}")
        return "\n".join(lines)


def run(picture: Path, out=sys.stdout) -> bool:
    report = Report(out)
    with tempfile.TemporaryDirectory(prefix="weft-demo-") as workdir, _lab(report) as lab:
        database_url = f"sqlite:///{workdir}/weft.db"
        report.step(f"database: {database_url} (SQLite, the embedded default)")
        schema.upgrade(database_url)
        d = Deployment(
            lab,
            database_url,
            Path(workdir),
            controller_args=("--metrics", f"{lab.controller_ip}:{METRICS_PORT}"),
        )
        try:
            _build(d, report)
            _checks(d, report)
            _draw(d, picture, report)
        finally:
            d.close()
    print(report.summary(), file=out)
    print(f"topology picture: {picture}", file=out)
    return report.passed


@contextlib.contextmanager
def _lab(report: Report) -> Iterator[Lab]:
    lab = Lab(LAB_NAME)
    report.step("building a lab of 3 OVS hosts (userspace datapath, one netns each)")
    try:
        yield lab.up(3)
    finally:
        lab.down()
        report.step("lab removed: no namespace, process or file of it is left")


def _build(d: Deployment, report: Report) -> None:
    d.register_hosts()
    report.step("registered host1..host3 (weft host add); starting the controller")
    d.start_controller()
    d.wait_programmed(timeout=60)
    report.step("every host's br-int is provisioned and programmed")
    d.network("blue", CIDR)
    d.network("red", CIDR)
    for name, network, host, ip in PORTS:
        d.port(name, network, host, ip=ip)
    d.wait_bound(*(name for name, *_ in PORTS))
    report.step(f"networks blue and red ({CIDR} both), {len(PORTS)} containers plugged in")


def _checks(d: Deployment, report: Report) -> None:
    report.attempt("same network, across hosts", lambda: _reachability(d))
    report.attempt("isolation between networks", lambda: _isolation(d))
    report.attempt("multicast to members only", lambda: _multicast(d))
    report.attempt("controller restart", lambda: _restart(d))
    report.attempt("metrics from inside the lab", lambda: _metrics(d))


def _reachability(d: Deployment) -> tuple[bool, str]:
    pairs = [
        (a, b)
        for network in ("blue", "red")
        for a, b in permutations([n for n, net, *_ in PORTS if net == network], 2)
    ]
    failed = [f"{a}->{b}" for a, b in pairs if not d.ping(a, b)]
    return not failed, f"{len(pairs) - len(failed)}/{len(pairs)} pairs ping" + (
        f" (failed: {', '.join(failed)})" if failed else ""
    )


def _isolation(d: Deployment) -> tuple[bool, str]:
    pairs = [("blue-1", "red-2"), ("blue-2", "red-3"), ("red-1", "blue-3"), ("red-3", "blue-2")]
    leaked = [f"{a}->{b}" for a, b in pairs if d.ping(a, b, deadline=1)]
    return not leaked, f"{len(pairs) - len(leaked)}/{len(pairs)} cross-network pings blocked" + (
        f" (leaked: {', '.join(leaked)})" if leaked else ""
    )


def _multicast(d: Deployment) -> tuple[bool, str]:
    listeners = [*MEMBERS, OTHER_NETWORK]
    receivers = {n: mcast.Receiver(d.lab, n, d.ports[n].ip, GROUP, d.log_dir) for n in listeners}
    try:
        wait_for(lambda: all(r.joined() for r in receivers.values()), what="receivers to join")
        probes = iter(range(-10_000, 0, 5))

        def members_hear_probes():
            mcast.send(d.lab, SENDER, d.ports[SENDER].ip, GROUP, next(probes), 5, gap=0.01)
            return all(any(n < 0 for n in receivers[m].numbers()) for m in MEMBERS)

        wait_for(members_hear_probes, what="IGMP joins to take effect")
        count = 200
        with frames.Capture(d.lab, NON_MEMBER) as capture:
            mcast.send(d.lab, SENDER, d.ports[SENDER].ip, GROUP, 0, count)
        got = {n: len([x for x in r.numbers() if x >= 0]) for n, r in receivers.items()}
        sniffed = [f for f in capture.frames if f[12:14] == b"\x08\x00" and f[23] == 17]
        passed = all(got[m] == count for m in MEMBERS) and got[OTHER_NETWORK] == 0 and not sniffed
        detail = ", ".join(f"{m} {got[m]}/{count}" for m in MEMBERS)
        return passed, (
            f"{detail}; non-member {NON_MEMBER} saw {len(sniffed)} on the wire; "
            f"{OTHER_NETWORK} (same group, other network) {got[OTHER_NETWORK]}"
        )
    finally:
        for receiver in receivers.values():
            receiver.stop()


def _restart(d: Deployment) -> tuple[bool, str]:
    count = 600
    ping = d.spawn_ping("blue-1", "blue-3", count, "restart-ping")
    time.sleep(1)
    d.restart_controller()
    d.wait_programmed(timeout=60)
    restarted_while_pinging = ping.poll() is None
    ping.wait(timeout=60)
    sent, received = d.ping_outcome("restart-ping")
    passed = restarted_while_pinging and sent == count == received
    return passed, f"{sent - received} of {sent} pings lost (every 10 ms, blue-1 -> blue-3)"


def _metrics(d: Deployment) -> tuple[bool, str]:
    flows = {
        re.search(r'host="([^"]+)"', name)[1]: value
        for name, value in d.metrics(METRICS_PORT).items()
        if name.startswith("weft_flows_installed{")
    }
    passed = len(flows) == 3 and all(v > 0 for v in flows.values())
    return passed, ", ".join(f"{h} {int(v)} flows" for h, v in sorted(flows.items()))


def _draw(d: Deployment, picture: Path, report: Report) -> None:
    with transaction(d.engine) as session:
        topology = Topology.from_snapshot(load_snapshot(session))
    picture.write_bytes(dot_graph(topology).pipe(format="png"))
    report.step(f"topology drawn to {picture}")
