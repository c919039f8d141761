"""Convergence benchmark: 10 hosts x 100 ports, from empty switches to every flow committed.

    unshare --net sh -c 'ip link set lo up && .venv/bin/python bench/converge.py [--runs 5]'

Builds a lab of `--hosts` real OVS hosts, a throwaway PostgreSQL and the real `weft
controller` process (bench/harness.py). Layout `full` (the issue's): `--networks` networks
of `--ports` ports each, port j of every network on host j mod hosts, so every network is
on every host. Layout `partial`: network k only on hosts k, k+1, k+2 (mod hosts), its
ports spread over those three. Ports are OVS internal ports with their iface-id (the
binding path is the real one: OVSDB manager, database, NOTIFY); no packet is sent.

Converged = every switch holds all its desired flows (checked with ovs-ofctl
dump-aggregate), at the time of its last bundle commit in the controller's JSON log
(millisecond stamps). Phases:
- plug (`--runs` + 1 times: into the fresh controller, then once per round after every
  port was unplugged and its flows removed): every host's ports plugged at once (one
  ovs-vsctl transaction per host, in parallel), from the start of the plugging to: the
  first and the last binding recorded in the database (ports.bound_at), and convergence;
- create (`--runs` times, after the plug of each round): every port row deleted while its
  interface stays plugged, the switches emptied of their flows, then every row created
  again in one transaction (the order OVN's "installed after creation" figure implies):
  how long that transaction took, then from its commit to the bindings and convergence;
- in each of the `--runs` rounds, three more scenarios, each timed from the first switch
  connection, the last switch connection, and per switch from its own connection:
  - controller restart, switches emptied: the controller stopped, every switch's flows and
    groups deleted (ovs-ofctl), the controller started (also timed from its spawn);
  - vswitchd restart on every host at once (which empties the tables);
  - controller restart, switches full: converged when every switch has been read back and
    found complete ("holds N Weft flows" in the log); no flow-mod may be sent.
Then the flows on each switch, counted by OVS, against the compiler's formula.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from harness import (
    Deployment,
    LogEvent,
    Stages,
    deploy,
    expected_flows,
    log_option,
    summary,
    wait_for,
)


def placement(layout: str, hosts: int, networks: int, ports: int) -> dict[str, list[int]]:
    """{network name: host index (1-based) of each of its ports}."""
    if layout == "full":
        return {f"net{k}": [j % hosts + 1 for j in range(ports)] for k in range(networks)}
    return {
        f"net{k}": [(k + j % 3) % hosts + 1 for j in range(ports)] for k in range(networks)
    }


def done_at(events: list[LogEvent], since: float, kind: str) -> dict[str, float]:
    """{host: its last event of `kind` after `since`}."""
    return {e.host: e.time for e in events if e.kind == kind and e.time >= since}


def build(d: Deployment, place: dict[str, list[int]]) -> tuple[dict, list[tuple[str, str]]]:
    """Networks and ports in the database: ({host: [(interface, port)]} to plug, and the
    ports as (name, network))."""
    plugs: dict[str, list[tuple[str, str]]] = {h.name: [] for h in d.lab.hosts}
    for k, network in enumerate(place):
        d.network(network, f"10.{k}.0.0/24")
    names = [(f"{network}-p{j}", network, h) for network, on in place.items()
             for j, h in enumerate(on)]
    d.create_ports((name, network) for name, network, _ in names)
    for n, (name, _, h) in enumerate(names):
        plugs[f"host{h}"].append((f"wp{n}", name))
    return plugs, [(name, network) for name, network, _ in names]


def unplug_all(d: Deployment, plugs, hosts: int) -> None:
    """Unplug every port at once and wait until the switches hold no port's flows."""
    with ThreadPoolExecutor(len(plugs)) as pool:
        list(pool.map(lambda item: d.unplug(*item), plugs.items()))
    d.wait_flows(expected_flows({}, hosts), timeout=120)
    wait_for(lambda: d.bound_ports() == 0, 60, "every port unbound")


def plug_all(d: Deployment, plugs, expected: dict[str, int]) -> dict[str, float]:
    """Plug every port at once; {stage: ms since the plugging began}."""
    start = time.time()
    with ThreadPoolExecutor(len(plugs)) as pool:
        list(pool.map(lambda item: d.plug_internal(*item), plugs.items()))
    plugged = time.time()  # ovs-vsctl returns once vswitchd has created the ports
    d.wait_flows(expected, timeout=120)
    return {"every ovs-vsctl returned": (plugged - start) * 1000,
            **_bound_and_converged(d, start)}


def create_for_plugged(d: Deployment, ports: list[tuple[str, str]], expected: dict[str, int],
                       hosts: int) -> dict[str, float]:
    """Delete every port's row while its interface stays plugged (so the switches lose its
    flows), then create them all again in one transaction: each interface's iface-id now has
    a row and binds. {stage: ms}: the transaction, then from its commit."""
    d.delete_ports(name for name, _ in ports)
    d.wait_flows(expected_flows({}, hosts), timeout=120)
    start = time.time()
    d.create_ports(ports)
    committed = time.time()
    d.wait_flows(expected, timeout=120)
    return {"transaction": (committed - start) * 1000, **_bound_and_converged(d, committed)}


def _bound_and_converged(d: Deployment, start: float) -> dict[str, float]:
    first_bound, last_bound = d.bound_at_range()
    converged = max(done_at(d.log(), start, "applied").values())
    return {"first bound in DB": (first_bound - start) * 1000,
            "last bound in DB": (last_bound - start) * 1000,
            "converged": (converged - start) * 1000}


@dataclass(frozen=True)
class Reconnect:
    """One round of every switch (re)connecting, in seconds."""

    first: float  # first switch connection -> every switch converged
    last: float  # last switch connection -> every switch converged
    worst: float  # the slowest switch, from its own connection to its convergence
    spawn: float | None = None  # controller process spawned -> every switch converged


def reconnect(d: Deployment, expected: dict[str, int], since: float, done: str) -> Reconnect:
    """Wait until converged again, and read from the log how long it took. A switch has
    converged at its last event `done` ("applied", or "read" if it needs nothing)."""
    d.wait_flows(expected, timeout=120)
    wait_for(lambda: len(done_at(d.log(), since, done)) == len(expected), 30,
             f"a {done} event of every switch")
    events = d.log()
    connected = done_at(events, since, "connected")
    converged = done_at(events, since, done)
    end = max(converged.values())
    worst = max(converged[h] - connected[h] for h in expected)
    return Reconnect(end - min(connected.values()), end - max(connected.values()), worst)


def controller_restart(d: Deployment, expected: dict[str, int], empty: bool) -> Reconnect:
    """Stop the controller, empty every switch if `empty`, start the controller."""
    d.stop_controller()
    if empty:
        for host in expected:
            d.lab.ofctl(host, "del-flows")
            d.lab.ofctl(host, "del-groups")
    spawned = d.start_controller()
    done = "applied" if empty else "read"
    result = reconnect(d, expected, spawned, done)
    mods = sum(e.flows_added + e.flows_deleted for e in d.log() if e.kind == "applied")
    if not empty and mods:
        raise RuntimeError(f"{mods} flow-mods sent to switches that had every flow")
    return dataclasses.replace(
        result, spawn=max(done_at(d.log(), spawned, done).values()) - spawned
    )


def vswitchd_restart(d: Deployment, expected: dict[str, int]) -> Reconnect:
    """Restart every host's ovs-vswitchd at once (which empties its tables)."""
    since = time.time()
    with ThreadPoolExecutor(len(expected)) as pool:
        list(pool.map(lambda h: d.lab.restart(h, vswitchd_only=True), expected))
    return reconnect(d, expected, since, "applied")


SCENARIOS = {
    "controller restart, switches emptied": lambda d, e: controller_restart(d, e, empty=True),
    "vswitchd restart on every host": vswitchd_restart,
    "controller restart, switches full": lambda d, e: controller_restart(d, e, empty=False),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--networks", type=int, default=10)
    parser.add_argument("--ports", type=int, default=100, help="ports per network")
    parser.add_argument("--layout", choices=("full", "partial"), default="full")
    parser.add_argument("--runs", type=int, default=5)
    log_option(parser)
    args = parser.parse_args()
    place = placement(args.layout, args.hosts, args.networks, args.ports)
    expected = expected_flows(place, args.hosts)
    with deploy(f"cv{os.getpid()}", args.hosts, args) as d:
        d.start_controller()
        d.wait_ready()
        plugs, ports = build(d, place)
        plugged, created = Stages(), Stages()
        plug_label = f"plug {sum(map(len, plugs.values()))} ports at once"
        plugged.add(f"{plug_label} into the fresh controller", plug_all(d, plugs, expected))
        rounds: dict[str, list[Reconnect]] = {scenario: [] for scenario in SCENARIOS}
        for run in range(args.runs):
            unplug_all(d, plugs, args.hosts)
            plugged.add(f"{plug_label} {run + 1}", plug_all(d, plugs, expected))
            created.add(f"create {len(ports)} ports for plugged interfaces {run + 1}",
                        create_for_plugged(d, ports, expected, args.hosts))
            for scenario, action in SCENARIOS.items():
                result = action(d, expected)
                rounds[scenario].append(result)
                print(f"{scenario} {run + 1}: " + ", ".join(
                    f"{name} {value * 1000:.0f} ms" for name, value in
                    dataclasses.asdict(result).items() if value is not None), flush=True)
        counted = {h: d.flow_count(h) for h in expected}
    plugged.print_summary(f"{plug_label}, ms from the start of the plugging, "
                          f"{args.runs + 1} runs:")
    created.print_summary(f"create {len(ports)} ports whose interfaces are plugged, in one "
                          f"transaction: ms it took, then ms from its commit, {args.runs} runs:")
    print(f"\n{args.hosts} hosts, {args.networks} networks x {args.ports} ports, layout "
          f"{args.layout}, {args.runs} runs: ms until every switch holds all its flows, from")
    labels = {"first": "first switch connection", "last": "last switch connection",
              "worst": "a switch's connection, slowest switch", "spawn": "controller spawn"}
    for scenario, results in rounds.items():
        print(f"  {scenario}")
        for field, label in labels.items():
            values = [getattr(r, field) for r in results]
            if None not in values:
                print(f"    {label:38} {summary([v * 1000 for v in values], '6.0f')}")
    print("flows per host (counted by OVS / formula): "
          + ", ".join(f"{h} {counted[h]}/{expected[h]}" for h in expected))


if __name__ == "__main__":
    main()
