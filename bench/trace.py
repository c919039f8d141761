"""Trace benchmark: `weft trace` latency on the 10 hosts x 100 ports layout (target < 200 ms).

    .venv/bin/python bench/trace.py [--hosts 10] [--networks 10] [--ports 100] [--runs 20]

A throwaway PostgreSQL (lab/postgres.py, unix socket only) with bench/converge.py's `full`
layout: `--networks` networks of `--ports` ports, port j of every network on host j mod
hosts, one multicast group per network with a member on every host. The rows are created
through the admin functions; what the OVSDB manager would observe (bindings with ofports,
the tunnel mesh with ofports, BFD up) is written directly, as its BindingWriter does. No
switch and no packet: the desired trace needs neither.

Timed, per run and per packet: what `weft trace` does after its imports: load the snapshot
from the database and follow the packet (compiling the tables of each host it reaches).
Packets: a delivered cross-host ping, a spoofed source MAC (dropped on the first host),
a frame to another network's port (dropped), and a multicast datagram (replicated to every
host). Then the whole command, `weft trace ...` as a process, interpreter start included.
Prints min/median/p95/max and the runs that missed 200 ms.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from harness import summary
from sqlalchemy import update

from controller.trace import trace
from lab.postgres import throwaway_cluster
from models import tables as t
from models.db import make_engine, transaction
from models.snapshot import load_snapshot
from models.types import utcnow
from northbound import schema
from northbound.groups import create_group, join_group
from northbound.hosts import add_host
from northbound.networks import create_network
from northbound.ports import create_port

TARGET_MS = 200.0
TUNNEL_BASE = 1000
WEFT = str(Path(sys.executable).with_name("weft"))


def build(url: str, hosts: int, networks: int, ports: int) -> None:
    engine = make_engine(url)
    with transaction(engine) as session:
        host_ids = [
            add_host(session, f"host{h}", f"tcp:198.18.0.{h}:6640", f"203.0.113.{h}").id
            for h in range(1, hosts + 1)
        ]
        for a in host_ids:
            for b in host_ids:
                if a != b:
                    session.add(t.Tunnel(host_id=a, peer_id=b, ofport=TUNNEL_BASE + b,
                                         status="up"))
    for k in range(networks):
        with transaction(engine) as session:
            create_network(session, f"net{k}", cidrs=[f"10.{k}.0.0/16"])
            for j in range(ports):
                port = create_port(session, f"p{k}-{j}", f"net{k}")
                session.flush()
                session.execute(update(t.Port).where(t.Port.id == port.id).values(
                    host_id=host_ids[j % hosts], ofport=k * ports + j // hosts + 1, state="bound",
                    bound_at=utcnow()))
            create_group(session, f"net{k}", "239.1.1.1")
            for j in range(hosts):
                join_group(session, "239.1.1.1", f"p{k}-{j}")
    engine.dispose()


PACKETS = {
    "delivered": ("p0-0", "p0-1", {}),
    "spoofed MAC": ("p0-0", "p0-1", {"src_mac": "02:00:00:00:99:99"}),
    "other network": ("p0-0", "p1-1", {}),
    "multicast": ("p0-0", "239.1.1.1", {"proto": "udp", "dport": 5000}),
}
VERDICTS = {"delivered": "delivered", "spoofed MAC": "dropped", "other network": "dropped",
            "multicast": "delivered"}


def measure(url: str, runs: int) -> dict[str, list[float]]:
    engine = make_engine(url)
    results: dict[str, list[float]] = {name: [] for name in PACKETS}
    for _ in range(runs):
        for name, (source, to, options) in PACKETS.items():
            started = time.perf_counter()
            with transaction(engine) as session:
                snapshot = load_snapshot(session)
            result = trace(snapshot, source, to, **options)
            results[name].append((time.perf_counter() - started) * 1000)
            if result.verdict != VERDICTS[name]:
                raise RuntimeError(f"{name}: {result.verdict}: {result.reason}")
    engine.dispose()
    return results


def command(url: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([WEFT, "trace", "--from", "p0-0", "--to", "p0-1", "--database-url", url],
                       check=True, capture_output=True)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--networks", type=int, default=10)
    parser.add_argument("--ports", type=int, default=100)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with throwaway_cluster() as cluster:
        url = cluster.create_database("weft_bench")
        schema.upgrade(url)
        build(url, args.hosts, args.networks, args.ports)
        results = measure(url, args.runs)
        whole = command(url, max(args.runs // 4, 3))
    print(f"\n{args.hosts} hosts, {args.networks} networks x {args.ports} ports, "
          f"{args.runs} runs: ms to load the snapshot and trace (target < {TARGET_MS:g} ms)")
    for name, values in results.items():
        missed = sum(v >= TARGET_MS for v in values)
        print(f"  {name:14} {summary(values)}  missed {missed}/{len(values)}")
    print(f"  {'whole command':14} {summary(whole)}  (a `weft trace` process, imports "
          f"included, {len(whole)} runs)")


if __name__ == "__main__":
    main()
