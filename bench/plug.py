"""Plug benchmark: a container's port plugged into br-int until its first cross-host ping.

    unshare --net sh -c 'ip link set lo up && .venv/bin/python bench/plug.py [--runs 20]'

Builds a two-host lab, a throwaway PostgreSQL and the real `weft controller` process
(bench/harness.py), a network with container b on host2 and container a on host1 (ports
created with the admin operations, so a's port row exists before each plug). Each run
unplugs a's veth (ovs-vsctl del-port) and waits until the controller has taken a's flows
away on both hosts; then b starts `ping -i 0.005` to a (its neighbour cache flushed first,
so the ARP answer is part of it), and a's veth is plugged again the way a container runtime
plugs it: one `ovs-vsctl add-port br-int VETH -- set Interface VETH
external_ids:iface-id=a`. Measured from just before that command to the first echo reply
(ping -D stamps). Where the time goes, from the same start: the binding committed to the
database (ports.bound_at, stamped by the OVSDB manager's writer as its transaction
begins), and each host's bundle committed (the controller's log).
"""

from __future__ import annotations

import argparse
import os
import time

from harness import (
    Deployment,
    PingLog,
    Stages,
    deploy,
    expected_flows,
    log_option,
    ping_argv,
    wait_for,
)
from sqlalchemy import select

from models import tables as t
from models.db import transaction

INTERVAL = 0.005


def bound_at(d: Deployment, port: str) -> float | None:
    with transaction(d.engine) as session:
        when = session.scalar(select(t.Port.bound_at).where(t.Port.name == port))
    return when.timestamp() if when else None


def unplug(d: Deployment, veth: str, unplugged: dict[str, int]) -> None:
    d.lab.vsctl("host1", "del-port", "br-int", veth)
    wait_for(lambda: bound_at(d, "a") is None, 20, "a to be unbound")
    d.wait_flows(unplugged, timeout=20)


def plug(d: Deployment, run: int, veth: str, a_ip: str) -> dict[str, float]:
    """Plug a's veth while b pings it; {stage: ms since the plug command started}."""
    d.lab.exec("b", ["ip", "neigh", "flush", "all"])
    log = d.log_dir / f"{d.lab.name}-ping-{run}.log"
    ping = d.lab.spawn("b", ping_argv(a_ip, INTERVAL, count=1, deadline=10), log)
    time.sleep(0.1)  # ping is running: its requests go nowhere yet
    start = time.time()
    d.lab.vsctl("host1", "add-port", "br-int", veth, "--", "set", "Interface", veth,
                "external_ids:iface-id=a")
    added = time.time()
    ping.wait(timeout=20)
    reply = PingLog.read(log).first_reply_after(start)
    if reply is None:
        raise RuntimeError(f"run {run}: no reply from a within 10 s of plugging it")
    applied = {e.host: e.time for e in d.log() if e.kind == "applied" and start <= e.time}
    stages = {
        "vsctl returned": added,
        "bound in DB": bound_at(d, "a"),
        "host1 committed": applied.get("host1"),
        "host2 committed": applied.get("host2"),
        "first reply": reply,
    }
    return {name: (when - start) * 1000 for name, when in stages.items() if when}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2, help="runs not counted")
    log_option(parser)
    args = parser.parse_args()
    stages = Stages()
    with deploy(f"pl{os.getpid()}", 2, args) as d:
        a_ip = d.two_containers("a", "b")["a"]
        veth = d.lab.container("a").veth
        unplugged = expected_flows({"blue": [2]}, 2, unbound={"blue": 1})
        for run in range(args.warmup + args.runs):
            unplug(d, veth, unplugged)
            warm = run >= args.warmup
            stages.add(f"run {run + 1}{'' if warm else ' (warm-up)'}",
                       plug(d, run, veth, a_ip), counted=warm)
    stages.print_summary(f"ms from the plug (ovs-vsctl add-port starting) until, ping every "
                         f"{INTERVAL * 1000:g} ms:")


if __name__ == "__main__":
    main()
