"""Propagation benchmark: from a `weft` command's commit to the controller's reconcile pass.

    unshare --net sh -c 'ip link set lo up && .venv/bin/python bench/propagation.py [--runs N]'

It builds what it needs and removes it at the end: a throwaway PostgreSQL (lab/postgres.py,
unix socket only), a migrated database with three hosts in a tunnel mesh and a network with
30 bound ports (made with `weft` itself), and the controller's real pieces, in this process
and without switches: StateStore + Reconciler (delivering to no switch), fed by
`start_feed` (LISTEN/NOTIFY). Each run executes one `weft` command through the real CLI app,
takes the time its transaction committed (SQLAlchemy's after_commit, on the command's thread)
and waits for the reconciler to start the pass that handles it (`add_start_listener`) and to
finish it (`add_listener`). Commands cycle through `port create`, `group join`, `port del`.
Prints min/median/p95/max per command and overall, in milliseconds.
"""

from __future__ import annotations

import argparse
import math
import statistics
import threading
import time

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from admin import cli
from controller.changes import start_feed
from controller.reconciler import Reconciler
from controller.state import StateStore
from lab.postgres import throwaway_cluster
from models import tables as t
from models.db import make_engine
from northbound import schema

HOSTS = 3
BOUND_PORTS = 30
WAIT = 10.0  # seconds before a missing pass counts as lost (it never has)


class Probe:
    """Times from the CLI's commit to the reconciler's pass start and end."""

    def __init__(self) -> None:
        self.committed = 0.0
        self.started: list[tuple[float, list]] = []
        self.finished: list[float] = []
        self.pass_done = threading.Event()

    def on_commit(self, _session) -> None:
        # The reconciler's own reads commit too, on its thread: only the command's count.
        if threading.current_thread() is threading.main_thread():
            self.committed = time.perf_counter()

    def on_pass_start(self, changes) -> None:
        self.started.append((time.perf_counter(), changes))

    def on_pass_end(self, _snapshot, _changes) -> None:
        self.finished.append(time.perf_counter())
        self.pass_done.set()


def weft(*args: str, url: str) -> None:
    result = CliRunner().invoke(cli.app, list(args), env={"WEFT_DATABASE_URL": url})
    if result.exit_code != 0:
        raise RuntimeError(f"weft {' '.join(args)}: {result.output}")


def build_cluster(url: str) -> None:
    """Hosts, a network with bound ports and a group, as `weft` and the controller write them."""
    for n in range(1, HOSTS + 1):
        weft("host", "add", f"host-{n}", "--ovsdb", f"tcp:198.18.0.{n}:6640",
             "--tunnel-ip", f"203.0.113.{n}", url=url)
    weft("network", "create", "blue", "--cidr", "198.51.100.0/24", url=url)
    weft("group", "create", "blue", "239.1.1.1", url=url)
    for n in range(BOUND_PORTS):
        weft("port", "create", f"web-{n}", "--network", "blue", url=url)
    engine = make_engine(url)
    with engine.begin() as db:  # what the OVSDB manager and the controller would record
        hosts = db.execute(select(t.Host.id).order_by(t.Host.id)).scalars().all()
        db.execute(t.Tunnel.__table__.insert(), [
            {"host_id": a, "peer_id": b, "ofport": 100 + b, "status": "up"}
            for a in hosts for b in hosts if a != b
        ])
        for n in range(BOUND_PORTS):
            db.execute(update(t.Port).where(t.Port.name == f"web-{n}").values(
                host_id=hosts[n % HOSTS], ofport=10 + n, state="bound"))
    engine.dispose()


def commands(run: int) -> list[tuple[str, tuple[str, ...]]]:
    port = f"bench-{run}"
    return [
        ("port create", ("port", "create", port, "--network", "blue")),
        ("group join", ("group", "join", "239.1.1.1", port)),
        ("port del", ("port", "del", port)),
    ]


def measure(url: str, runs: int, warmup: int) -> dict[str, list[tuple[float, float]]]:
    """{command: [(ms to pass start, ms to pass end)]} over `runs` cycles of commands."""
    probe = Probe()
    engine = make_engine(url)
    stop = threading.Event()
    reconciler = Reconciler(StateStore(engine), lambda host, config: None, stop,
                            resync_interval=3600)
    reconciler.add_start_listener(probe.on_pass_start)
    reconciler.add_listener(probe.on_pass_end)
    reconciler.start()
    reconciler.ready.wait()
    feed = start_feed(engine, reconciler.submit, stop)
    feed.ready.wait()
    event.listen(Session, "after_commit", probe.on_commit)
    samples: dict[str, list[tuple[float, float]]] = {}
    try:
        for run in range(warmup + runs):
            for name, args in commands(run):
                probe.started.clear()
                probe.pass_done.clear()
                weft(*args, url=url)
                if not probe.pass_done.wait(WAIT):
                    raise RuntimeError(f"no reconcile pass within {WAIT} s of `weft {name}`")
                start, _ = probe.started[0]
                if run >= warmup:
                    samples.setdefault(name, []).append(
                        ((start - probe.committed) * 1000,
                         (probe.finished[-1] - probe.committed) * 1000)
                    )
                time.sleep(0.01)  # let the pass's reload settle: the next change is separate
    finally:
        event.remove(Session, "after_commit", probe.on_commit)
        stop.set()
        reconciler.join(timeout=5)
        feed.join(timeout=5)
        engine.dispose()
    return samples


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[math.ceil(0.95 * len(ordered)) - 1]  # nearest rank
    return (f"{ordered[0]:6.1f} {statistics.median(ordered):7.1f} {p95:6.1f} "
            f"{ordered[-1]:6.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="cycles of the three commands")
    parser.add_argument("--warmup", type=int, default=3, help="cycles not counted")
    args = parser.parse_args()
    cli._register_areas()
    with throwaway_cluster() as cluster:
        url = cluster.create_database("weft_bench")
        schema.upgrade(url)
        build_cluster(url)
        samples = measure(url, args.runs, args.warmup)
    print(f"commit -> reconcile, ms ({args.runs} runs per command, PostgreSQL LISTEN/NOTIFY, "
          f"{HOSTS} hosts, {BOUND_PORTS} bound ports)")
    print(f"{'command':<12}  {'pass start: min median  p95    max':<34}  "
          f"{'pass end: min median  p95    max'}")
    every = [s for values in samples.values() for s in values]
    for name, values in [*samples.items(), ("all", every)]:
        print(f"{name:<12}  {summary([v[0] for v in values]):<34}  "
              f"{summary([v[1] for v in values])}")


if __name__ == "__main__":
    main()
