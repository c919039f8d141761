"""IGMP snooping under load and abuse (issue 20): 1,000 joins at once, then a flood.

    unshare --net sh -c 'ip link set lo up && .venv/bin/python bench/snoop_flood.py [--runs 5]'

Builds a 10-host lab, a throwaway PostgreSQL and the real `weft controller` (bench/harness.py)
with one network: 100 OVS internal ports per host (bound like containers' veths; their
reports are raw IGMPv2 frames sent on them from the host's namespace, with the port's MAC
and IP) and four containers: a flooder and a sender on host1, a receiver on host2, a
sender on host3.

1. Joins at once: every one of the 1,000 ports joins a group of its own, the 10 hosts
   sending at the same time (one process each, all done in well under 1 s). Timed from
   the first report sent: the last membership committed (the controller's "IGMP: ..."
   log lines, which also count the batches) and every switch holding the replication
   groups the compiler wants (the latest bundle apply in the controller's log, after
   polling its metrics until every host's group count is right). Then 1,000 leaves,
   likewise. Joins per second: 1,000 over the time to the last commit.
2. Flood: the flooder sends IGMPv2 reports for random groups at 40,000 a second for 8 s
   (lab/mcast.py's Flood) while the receiver joins one of four groups the senders feed
   every 2 ms (two from the flooder's host, two from host3, in turn), leaves and joins
   again: join -> first datagram, timed in the receiver's process, per sender's host.
   Also the controller's resident memory (before, peak) and its CPU share: idle before,
   during, and how long after the flood's end a 0.5 s window is back within 5 points of
   idle.

Prints min/median/p95/max.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from harness import Deployment, deploy, log_option, summary, wait_for
from multicast import expected_groups, installed_groups, snooped
from sqlalchemy import func, select

from lab import Lab, mcast
from lab.errors import CommandError
from models import tables as t
from models.db import transaction

HOSTS = 10
PORTS_PER_HOST = 100
METRICS_PORT = 9464
CIDR = "10.60.0.0/16"
FLOOD_SECONDS, FLOOD_RATE = 8.0, 40_000
# (sender, group) in the order the receiver joins them
FEEDS = [("sender1", "239.30.0.1"), ("sender3", "239.30.0.3"),
         ("sender1", "239.30.0.2"), ("sender3", "239.30.0.4")]  # fmt: skip


def build(d: Deployment) -> dict[str, list[tuple[str, str, str, str]]]:
    """The network, its internal ports and containers; {host: [(iface, mac, ip, port)]}."""
    d.start_controller()
    d.wait_ready(timeout=120)
    d.network("feed", CIDR)
    names = [(f"j{h}-{i}", "feed") for h in range(1, HOSTS + 1) for i in range(PORTS_PER_HOST)]
    created = d.create_ports(names)
    ports: dict[str, list[tuple[str, str, str, str]]] = {}
    for name, _ in names:
        host = f"host{name[1:].split('-')[0]}"
        ports.setdefault(host, []).append((name, *created[name], name))
    with ThreadPoolExecutor(HOSTS) as pool:
        list(pool.map(lambda h: plug(d, h, ports[h]), ports))
    for name, host in (("sender1", "host1"), ("flooder", "host1"), ("receiver", "host2"),
                       ("sender3", "host3")):  # fmt: skip
        d.port(name, "feed", host)
    wait_for(lambda: d.bound_ports() == len(names) + 4, 120, "every port bound")
    return ports


def plug(d: Deployment, host: str, ports: list[tuple[str, str, str, str]]) -> None:
    d.plug_internal(host, [(iface, port) for iface, _, _, port in ports])
    d.lab.exec(host, ["ip", "-batch", "-"], input="".join(
        f"link set {iface} up\n" for iface, *_ in ports))  # fmt: skip


def group_of(host: str, index: int) -> str:
    return f"239.40.{int(host[4:])}.{index + 1}"


def memberships(d: Deployment) -> int:
    with transaction(d.engine) as session:
        return session.scalar(
            select(func.count()).where(t.GroupMember.origin == "snooped")
        )


def igmp_log(d: Deployment, since: float) -> list[tuple[float, int, int]]:
    """(time, new memberships, leaves) of each snooping batch the controller logged."""
    found = []
    for line in d.controller_log.read_text().splitlines():
        if line.startswith("{") and '"IGMP: ' in line:
            entry = json.loads(line)
            words = entry["message"].split()
            when = dt.datetime.fromisoformat(entry["time"]).timestamp()
            if when >= since and words[2] == "new":
                found.append((when, int(words[1]), int(words[6])))
    return found


def all_at_once(d: Deployment, ports, kind: str) -> dict[str, float]:
    """Every port joins (or leaves) its group at once; {stage: ms from the first report}."""
    want = 0 if kind == "leave" else HOSTS * PORTS_PER_HOST
    reports = {h: [(kind, iface, mac, ip, group_of(h, i))
                   for i, (iface, mac, ip, _) in enumerate(ports[h])] for h in ports}  # fmt: skip
    go = d.log_dir / f"go-{kind}-{time.monotonic_ns()}"
    with ThreadPoolExecutor(HOSTS) as pool:
        done = [pool.submit(mcast.send_igmp, d.lab, h, reports[h], go) for h in reports]
        wait_for(lambda: len(list(d.log_dir.glob(f"{go.name}.ready.*"))) == HOSTS, 30,
                 "every host's sender to be ready")  # fmt: skip
        start = time.time()
        go.touch()
        for future in done:
            future.result()
    wait_for(lambda: memberships(d) == want, 30, f"{want} memberships")
    groups = expected_groups(d)
    wait_for(lambda: installed_groups(d) == groups, 30, "groups on every switch")
    batches = igmp_log(d, start)
    applied = [e.time for e in d.log() if e.kind == "applied" and e.time >= start]
    return {
        "last committed": (max(when for when, *_ in batches) - start) * 1000,
        "installed everywhere": (max(applied) - start) * 1000,
        "batches": len(batches),
    }


def usage(pid: int) -> tuple[float, int]:
    """(CPU seconds so far, resident bytes) of process `pid`."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks, int(fields[21]) * os.sysconf("SC_PAGESIZE")


class Sampler(threading.Thread):
    """(time, CPU seconds, resident bytes) of the controller every 0.1 s until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.samples = pid, []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.1):
            self.samples.append((time.monotonic(), *usage(self.pid)))

    def share(self, start: float, end: float) -> float:
        inside = [(when, cpu) for when, cpu, _ in self.samples if start <= when <= end]
        return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])


def flood(d: Deployment) -> dict[str, object]:
    feeds = [mcast.start_sending(d.lab, s, d.ports[s].ip, g, 0, 10**7, d.log_dir, 0.002)
             for s, g in FEEDS]  # fmt: skip
    sampler = Sampler(d.controller.pid)
    sampler.start()
    receiver = d.ports["receiver"]

    misses = []

    def join(n: int, samples: dict[str, list[float]]) -> None:
        sender, group = FEEDS[n % len(FEEDS)]
        try:
            latency = mcast.join_latency(d.lab, "receiver", receiver.ip, group, 10) * 1000
        except CommandError:  # counted, and what the switches hold kept for a look
            misses.append((group, time.time()))
            for host in ("host1", "host2"):
                dump = d.lab.ofctl(host, "dump-groups") + d.lab.ofctl(host, "dump-flows")
                (d.log_dir / f"miss-{len(misses)}-{host}.txt").write_text(dump)
            latency = float("inf")
        wait_for(lambda: not snooped(d, "receiver"), 10, "the leave to be snooped")
        samples.setdefault(d.ports[sender].host, []).append(latency)

    try:
        quiet: dict[str, list[float]] = {}
        for n in range(8):
            join(n, quiet)
        time.sleep(2)
        idle_from = time.monotonic()
        time.sleep(2)
        flooder = d.ports["flooder"]
        started = time.monotonic()
        attack = mcast.Flood(d.lab, "flooder", flooder.mac, flooder.ip, FLOOD_SECONDS,
                             FLOOD_RATE, d.log_dir)  # fmt: skip
        during: dict[str, list[float]] = {}
        n = 0
        while attack.process.poll() is None:
            join(n, during)
            n += 1
        ended = time.monotonic()
        sent = attack.wait(timeout=10)
        time.sleep(4)
    finally:
        sampler.done.set()
        sampler.join()
        for feed in feeds:
            feed.terminate()
    idle = sampler.share(idle_from, started)
    last = sampler.samples[-1][0]
    back = next(
        (when - ended for when, *_ in sampler.samples
         if ended <= when <= last - 0.5 and sampler.share(when, when + 0.5) <= idle + 0.05),
        None,
    )  # fmt: skip
    rss = [r for when, _, r in sampler.samples if when >= idle_from]
    metrics = d.metrics(METRICS_PORT)
    return {
        "misses": misses,
        "sent": sent,
        "quiet": quiet,
        "during": during,
        "idle": idle,
        "busy": sampler.share(started, ended),
        "back": back,
        "rss_before": rss[0],
        "rss_peak": max(rss),
        "memberships": metrics["weft_igmp_memberships"],
        **{k: v for k, v in metrics.items() if k.startswith("weft_igmp_reports_dropped")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds of 1,000 joins and leaves")
    log_option(parser)
    args = parser.parse_args()
    metrics = ("--metrics", f"{Lab.controller_ip}:{METRICS_PORT}")
    with deploy(f"bsf{os.getpid()}", HOSTS, args, controller_args=metrics) as d:
        started = time.monotonic()
        ports = build(d)
        print(f"lab of {HOSTS} hosts with {HOSTS * PORTS_PER_HOST} internal ports ready in "
              f"{time.monotonic() - started:.1f} s", flush=True)
        rounds: dict[str, dict[str, list[float]]] = {"join": {}, "leave": {}}
        for run in range(1, args.runs + 1):
            for kind in ("join", "leave"):
                stages = all_at_once(d, ports, kind)
                print(f"{kind} {run}: " + ", ".join(f"{k} {v:.0f}" for k, v in stages.items()),
                      flush=True)  # fmt: skip
                for name, value in stages.items():
                    rounds[kind].setdefault(name, []).append(value)
        outcome = flood(d)
    n = HOSTS * PORTS_PER_HOST
    for kind, stages in rounds.items():
        print(f"\n{n} {kind}s at once on {HOSTS} hosts, ms from the first report, "
              f"{args.runs} runs:")
        for name, values in stages.items():
            print(f"  {name:22} {summary(values, '6.0f')}")
    committed = rounds["join"]["last committed"]
    print(f"joins per second (1,000 / time to the last commit): "
          f"{summary([n / (ms / 1000) for ms in committed], '6.0f')}")
    print(f"\nflood: {outcome['sent']} reports in {FLOOD_SECONDS:g} s")
    for group, when in outcome["misses"]:
        print(f"  MISSED: no datagram within 10 s of joining {group} at {when:.3f}")
    for phase in ("quiet", "during"):
        for host, values in sorted(outcome[phase].items()):
            label = f"{'no flood' if phase == 'quiet' else 'flooding'}, sender on {host}"
            print(f"  join -> first datagram, {label:25} n={len(values):<3} "
                  f"{summary(values)} ms")
    back = outcome["back"]
    print(f"  controller CPU: idle {outcome['idle']:.1%}, during the flood "
          f"{outcome['busy']:.1%}, back within 5 points of idle "
          + (f"{back:.1f} s after its end" if back is not None else "NOT within 3.5 s"))
    print(f"  controller RSS: {outcome['rss_before'] / 2**20:.0f} MiB before, peak "
          f"{outcome['rss_peak'] / 2**20:.0f} MiB")
    print(f"  snooped memberships after: {outcome['memberships']:.0f}; dropped: " + ", ".join(
        f"{k.split('=')[1][1:-2]} {v:.0f}" for k, v in outcome.items()
        if k.startswith("weft_igmp_reports_dropped")))  # fmt: skip


if __name__ == "__main__":
    main()
