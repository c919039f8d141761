"""Controller restart benchmark: pings lost across hosts while `weft controller` restarts.

    unshare --net sh -c 'ip link set lo up && .venv/bin/python bench/restart.py [--runs 10]'

Builds a two-host lab, a throwaway PostgreSQL and the real `weft controller` process
(bench/harness.py), with containers a1, a2 on host1 and b1, b2 on host2 in two networks.
Each run starts `ping -i 0.01` a1 -> b1 and b2 -> a2 (both directions across the tunnel),
restarts the controller (SIGTERM, then a new process) while they run, waits until the new
process has both switches connected, and lets the pings run on for a second. Reports the
pings lost per run (the target: none, in every run), how long the switches were without a
controller (SIGTERM -> reconnected, mostly the new process starting and OVS's reconnect
backoff), and the flow-mods the new process sent (it should find every flow in place).
"""

from __future__ import annotations

import argparse
import os
import signal
import time

from harness import (
    Deployment,
    LogEvent,
    PingLog,
    deploy,
    log_option,
    ping_argv,
    summary,
    wait_for,
)

INTERVAL = 0.01
PAIRS = (("a1", "b1"), ("b2", "a2"))


def connections(d: Deployment) -> list[LogEvent]:
    """The switch connections the current controller process has logged."""
    return [e for e in d.log() if e.kind == "connected"]


def restart_once(d: Deployment, run: int, ips: dict[str, str]) -> tuple[int, int, float, int]:
    """(pings sent, pings lost, seconds without a controller, flow-mods after reconnect)."""
    logs, pings = [], []
    for source, destination in PAIRS:
        logs.append(d.log_dir / f"{d.lab.name}-ping-{run}-{source}.log")
        pings.append(d.lab.spawn(source, ping_argv(ips[destination], INTERVAL, count=10_000,
                                                   deadline=60), logs[-1]))
    time.sleep(0.5)
    stopped = time.time()
    d.stop_controller()
    d.start_controller()
    wait_for(lambda: len(connections(d)) == 2, 30, "both switches to reconnect")
    reconnected = max(e.time for e in connections(d))
    time.sleep(1.0)
    for ping in pings:
        ping.send_signal(signal.SIGINT)  #: ping prints its totals and exits
        ping.wait(timeout=10)
    results = [PingLog.read(log) for log in logs]
    sent = sum(r.transmitted for r in results)
    lost = sum(r.transmitted - r.received for r in results)
    mods = sum(e.flows_added + e.flows_deleted for e in d.log() if e.kind == "applied")
    return sent, lost, reconnected - stopped, mods


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    log_option(parser)
    args = parser.parse_args()
    results = []
    with deploy(f"rs{os.getpid()}", 2, args) as d:
        d.start_controller()
        d.wait_ready()
        d.network("blue", "10.20.0.0/24")
        d.network("red", "10.21.0.0/24")
        ips = {name: d.port(name, network, host).ip for name, network, host in (
            ("a1", "blue", "host1"), ("b1", "blue", "host2"),
            ("a2", "red", "host1"), ("b2", "red", "host2"))}
        for source, destination in PAIRS:
            wait_for(lambda s=source, t=destination: d.lab.ping(s, ips[t], deadline=1), 20,
                     f"{source} to reach {destination}")
        for run in range(args.runs):
            results.append(restart_once(d, run, ips))
            sent, lost, gap, mods = results[-1]
            print(f"run {run + 1}: {lost} of {sent} pings lost, switches without a controller "
                  f"{gap:.2f} s, flow-mods sent after reconnecting {mods}", flush=True)
    print(f"\ncontroller restarts with ping -i {INTERVAL:g} across hosts in both directions, "
          f"{args.runs} runs:")
    print(f"  pings lost per run: {[r[1] for r in results]} "
          f"(runs with a loss: {sum(r[1] > 0 for r in results)})")
    print(f"  without a controller, s: {summary([r[2] for r in results], '5.2f')}")
    print(f"  flow-mods sent after reconnecting: {sorted({r[3] for r in results})}")


if __name__ == "__main__":
    main()
