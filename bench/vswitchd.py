"""vswitchd restart benchmark: how soon forwarding is back after a host's ovs-vswitchd
restarts (which empties its flow table), counted from its reconnection to the controller.

    unshare --net sh -c 'ip link set lo up && .venv/bin/python bench/vswitchd.py [--runs 10]'

Builds a two-host lab, a throwaway PostgreSQL and the real `weft controller` process
(bench/harness.py), with container a on host1 and b on host2. Each run starts `ping -i
0.005` a -> b, restarts host2's ovs-vswitchd (SIGTERM, start again: `Lab.restart`), and
stops the ping once replies are back. From the switch's reconnection (the controller's
log) to: its flows committed (the log), the first echo reply after the restart (ping -D).
Also from the restart command to the reconnection: OVS's own start, not the controller's.
"""

from __future__ import annotations

import argparse
import os
import signal
import time

from harness import (
    Deployment,
    PingLog,
    Stages,
    deploy,
    log_option,
    ping_argv,
    wait_for,
)

INTERVAL = 0.005


def restart_once(d: Deployment, run: int, b_ip: str) -> dict[str, float]:
    """{stage: ms} of one restart of host2's ovs-vswitchd."""
    log = d.log_dir / f"{d.lab.name}-ping-{run}.log"
    ping = d.lab.spawn("a", ping_argv(b_ip, INTERVAL, count=100_000, deadline=60), log)
    wait_for(lambda: PingLog.read(log).replies, 10, "the ping to get replies", poll=0.01)
    started = time.time()
    d.lab.restart("host2", vswitchd_only=True)
    events = wait_for(lambda: [e for e in d.log() if e.host == "host2" and e.time >= started],
                      20, "host2 to reconnect")
    reconnected = next(e.time for e in events if e.kind == "connected")
    # Before the reconnection the switch had no flows: a reply after it is forwarding back.
    reply = wait_for(lambda: PingLog.read(log).first_reply_after(reconnected), 20,
                     "replies after the restart", poll=0.01)
    ping.send_signal(signal.SIGINT)
    ping.wait(timeout=10)
    committed = next(e.time for e in d.log()
                     if e.host == "host2" and e.kind == "applied" and e.time >= reconnected)
    return {
        "restart -> reconnected": (reconnected - started) * 1000,
        "reconnected -> flows committed": (committed - reconnected) * 1000,
        "reconnected -> first reply": (reply - reconnected) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    log_option(parser)
    args = parser.parse_args()
    stages = Stages()
    with deploy(f"vs{os.getpid()}", 2, args) as d:
        b_ip = d.two_containers("a", "b")["b"]
        for run in range(args.runs):
            stages.add(f"run {run + 1}", restart_once(d, run, b_ip))
    stages.print_summary(f"host2's ovs-vswitchd restarted while a (host1) pings b (host2) "
                         f"every {INTERVAL * 1000:g} ms; ms:")


if __name__ == "__main__":
    main()
