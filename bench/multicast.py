"""Multicast benchmark: programming many groups, and IGMP join to first datagram.

    unshare --net sh -c 'ip link set lo up && .venv/bin/python bench/multicast.py [--runs N]'

Builds its own 10-host lab, a throwaway PostgreSQL and the real `weft controller` (logging
JSON; bench/harness.py), one network with 10 bound containers per host, and removes
everything at the end.

1. Groups programmed: one transaction creates 100 static groups of 10 members each (one
   member per host), then the clock runs until every host's switch has committed its
   replication groups. Completion is the latest "switch ...: +N groups" apply the
   controller logs for the change (its log times are wall-clock, like the commit time);
   the wait itself polls the controller's metrics until every host holds the groups the
   compiler says it should. Between runs the groups are deleted again.
2. Join latency: a sender on host1 sends to a group every 2 ms; a receiver on another host
   joins with IP_ADD_MEMBERSHIP and times, in its own process, from the join to the first
   datagram. It then leaves (closing the socket makes the kernel send the leave) and the
   next join waits until the leave has been snooped, so every join is a fresh one.

Prints min/median/p95/max for both, in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import time

from harness import Deployment, deploy, log_option, summary, wait_for
from sqlalchemy import delete, select

from controller.compiler import compile_host
from lab import Lab, mcast
from models import tables as t
from models.db import transaction
from models.snapshot import load_snapshot
from models.topology import Topology
from northbound.groups import create_group, join_group

HOSTS = 10
PORTS_PER_HOST = 10
GROUPS = 100
MEMBERS = 10
METRICS_PORT = 9464
CIDR = "10.50.0.0/16"
JOIN_GROUP = "239.20.0.1"


def stats(name: str, values: list[float]) -> str:
    return f"{name:<34} n={len(values):<3} {summary(values)}  ms"


def build(d: Deployment) -> list[str]:
    d.start_controller()
    d.wait_programmed(timeout=120)
    d.network("feed", CIDR)
    names = []
    for host in range(1, HOSTS + 1):
        for slot in range(PORTS_PER_HOST):
            name = f"p{host}-{slot}"
            d.port(name, "feed", f"host{host}")
            names.append(name)
    d.wait_bound(*names, timeout=120)
    return names


def expected_groups(d: Deployment) -> dict[str, int]:
    """How many groups the compiler wants on each host's switch now."""
    with transaction(d.engine) as session:
        topology = Topology.from_snapshot(load_snapshot(session))
    return {
        host.name: len(compile_host(topology, host.id).groups)
        for host in topology.snapshot.hosts.values()
    }


def installed_groups(d: Deployment) -> dict[str, int]:
    found = {}
    for name, value in d.metrics(METRICS_PORT).items():
        if name.startswith('weft_groups_installed{host="'):
            found[name.split('"')[1]] = int(value)
    return found


def applies_since(d: Deployment, since: float) -> dict[str, float]:
    """The time of each host's latest bundle apply logged after `since`."""
    return {e.host: e.time for e in d.log() if e.kind == "applied" and e.time >= since}


def program_groups(d: Deployment, names: list[str], run: int) -> float:
    with transaction(d.engine) as session:
        for g in range(GROUPS):
            address = f"239.10.{run}.{g + 1}"
            create_group(session, "feed", address)
            for host in range(MEMBERS):  # one member per host, different ports per group
                join_group(session, address, names[host * PORTS_PER_HOST + g % PORTS_PER_HOST])
    committed = time.time()
    want = expected_groups(d)
    wait_for(lambda: installed_groups(d) == want, timeout=60, what="groups on every switch")
    done = applies_since(d, committed)
    assert set(done) == set(want), f"no apply logged for {set(want) - set(done)}"
    seconds = max(done.values()) - committed
    with transaction(d.engine) as session:
        session.execute(delete(t.MulticastGroup).where(t.MulticastGroup.origin == "static"))
    baseline = expected_groups(d)
    wait_for(lambda: installed_groups(d) == baseline, timeout=60, what="groups to go")
    return seconds * 1000


def snooped(d: Deployment, port: str) -> bool:
    with transaction(d.engine) as session:
        return bool(
            session.scalar(
                select(t.GroupMember.port_id)
                .join(t.Port, t.Port.id == t.GroupMember.port_id)
                .where(t.Port.name == port, t.GroupMember.origin == "snooped")
            )
        )


def join_latency(d: Deployment, receiver: str) -> float:
    latency = mcast.join_latency(d.lab, receiver, d.ports[receiver].ip, JOIN_GROUP) * 1000
    wait_for(lambda: not snooped(d, receiver), timeout=10, what="the leave to be snooped")
    return latency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="group programming runs")
    parser.add_argument("--joins", type=int, default=30, help="join latency samples")
    log_option(parser)
    args = parser.parse_args()
    metrics = ("--metrics", f"{Lab.controller_ip}:{METRICS_PORT}")
    with deploy(f"bmc{os.getpid()}", HOSTS, args, controller_args=metrics) as d:
        started = time.monotonic()
        names = build(d)
        print(f"lab of {HOSTS} hosts with {len(names)} bound ports ready in "
              f"{time.monotonic() - started:.1f} s", flush=True)
        programmed = [program_groups(d, names, run) for run in range(1, args.runs + 1)]
        print(stats(f"{GROUPS} groups x {MEMBERS} members programmed", programmed))

        sender = mcast.start_sending(
            d.lab, names[0], d.ports[names[0]].ip, JOIN_GROUP, 0, 10**7, d.log_dir, 0.002
        )
        try:
            receivers = [n for n in names if not n.startswith("p1-")]
            joins = [join_latency(d, receivers[i * 7 % len(receivers)]) for i in range(args.joins)]
        finally:
            sender.terminate()
        print(stats("IGMP join to first datagram", joins))


if __name__ == "__main__":
    main()
