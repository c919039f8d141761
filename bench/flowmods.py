"""Flow-mod benchmark: flow-mods per second into one real switch through the controller's
own send path (SwitchSync: diff by cookie, codec, OpenFlow 1.4 bundle, barrier, commit).

    unshare --net sh -c 'ip link set lo up && .venv/bin/python bench/flowmods.py [--flows N]'

It builds a one-host lab (`lab.Lab`) whose br-int (made here with ovs-vsctl: netdev,
fail_mode=secure, OpenFlow 1.4) connects to os-ken running in this process, in the lab's ctl
namespace, with the controller's real Fleet, SwitchSync and Codec; no database is needed.
Each run hands the switch three synthetic configurations of N flows (bench/codec.py's
shapes: L2 lookups to tunnels and ARP responders) and times each apply, from `set_desired`
to the commit's reply:
- add N (cold): flows never encoded before, on an empty table;
- replace N: the next run's flows, N deletions (by cookie) and N additions in one bundle;
- delete N: back to an empty table;
- add N (warm): the same flows again, their bytes cached by the codec.
Prints flow-mods per second (additions + deletions over the apply time), min/median/max over
the runs, and checks the switch's flow count after each apply.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import TypeVar

from codec import sample_flows

from controller.codec import Codec
from controller.compiler import SwitchConfig
from controller.fleet import Fleet
from controller.flows import Flow
from controller.runner import OpenFlowSettings, start_openflow
from controller.switch import ApplyResult, SwitchSync
from lab import Lab
from lab.deployment import WEFT_FLOWS
from lab.layout import CONTROLLER_PORT, CONTROLLER_TARGET
from models.snapshot import HostView

DATAPATH_ID = 0x5746_0000_0000_0001
T = TypeVar("T")
WAIT = 120.0


class Switch:
    """The one switch, as the controller sees it: applies configurations and says when."""

    def __init__(self, lab: Lab) -> None:
        host = lab.hosts[0]
        self.lab, self.name = lab, host.name
        self.view = HostView(1, host.name, host.tunnel_ip, DATAPATH_ID, "netdev",
                             host.ovsdb_target)
        self.results: list[ApplyResult] = []
        self.applied = threading.Condition()
        self.fleet = Fleet(Codec(), lambda dpid: self.view if dpid == DATAPATH_ID else None,
                           request_hosts=lambda ids: None, on_applied=self._on_applied)

    def _on_applied(self, _sync: SwitchSync, result: ApplyResult) -> None:
        with self.applied:
            self.results.append(result)
            self.applied.notify_all()

    def connect(self) -> None:
        with self.lab.entered("ctl"):
            settings = OpenFlowSettings(self.lab.controller_ip, CONTROLLER_PORT)
            start_openflow(settings, self.fleet, [])
        self.lab.vsctl(
            self.name, "add-br", "br-int", "--", "set", "Bridge", "br-int",
            "datapath_type=netdev", "fail_mode=secure", "protocols=OpenFlow13,OpenFlow14",
            f"other_config:datapath-id={DATAPATH_ID:016x}",
            "--", "set-controller", "br-int", CONTROLLER_TARGET,
        )
        deadline = time.monotonic() + WAIT
        while DATAPATH_ID not in self.fleet.channels:
            if time.monotonic() > deadline:
                raise RuntimeError("the switch did not connect")
            time.sleep(0.05)
        self.apply(frozenset())  # the empty start: reads the table once, sends nothing

    def apply(self, flows: frozenset[Flow]) -> tuple[float, ApplyResult | None]:
        """Hand over `flows`; (seconds until committed, the apply's result) once it is."""
        with self.applied:
            done = len(self.results)
        started = time.perf_counter()
        self.fleet.deliver(self.view, SwitchConfig(flows, {}))
        if not flows and self.fleet.syncs[DATAPATH_ID].installed_flows in (None, set()):
            self._wait_installed(set())
            return time.perf_counter() - started, None
        with self.applied:
            if not self.applied.wait_for(lambda: len(self.results) > done, WAIT):
                raise RuntimeError("no apply within the wait")
            result = self.results[done]
        return time.perf_counter() - started, result

    def _wait_installed(self, expected: set) -> None:
        sync = self.fleet.syncs[DATAPATH_ID]
        deadline = time.monotonic() + WAIT
        while sync.installed_flows != expected:
            if time.monotonic() > deadline:
                raise RuntimeError("the switch's table was never read")
            time.sleep(0.01)

    def flow_count(self) -> int:
        out = self.lab.ofctl(self.name, "dump-aggregate", WEFT_FLOWS)
        return int(out.split("flow_count=")[1].split()[0])


def flow_set(base: list[Flow], run: int) -> frozenset[Flow]:
    """`base` with a priority of its own per run: new cookies, new bytes, same shapes."""
    return frozenset(dataclasses.replace(flow, priority=100 + run) for flow in base)


def measure(switch: Switch, flows: int, runs: int) -> dict[str, list[float]]:
    base = sample_flows(flows)
    rates: dict[str, list[float]] = {}

    def step(name: str, desired: frozenset[Flow], expected: int) -> None:
        seconds, result = switch.apply(desired)
        mods = result.flows_added + result.flows_deleted
        count = switch.flow_count()
        if count != expected:
            raise RuntimeError(f"{name}: the switch holds {count} flows, not {expected}")
        rates.setdefault(name, []).append(mods / seconds)
        print(f"  {name:12} {mods:7} flow-mods in {seconds * 1000:7.1f} ms "
              f"(apply {result.seconds * 1000:7.1f} ms): {mods / seconds:9,.0f}/s", flush=True)

    current = flow_set(base, 0)
    step("add (cold)", current, flows)
    for run in range(1, runs + 1):
        print(f"run {run}")
        fresh = flow_set(base, run)
        step("replace", fresh, flows)
        step("delete", frozenset(), 0)
        step("add (warm)", fresh, flows)
        if run < runs:
            step("delete", frozenset(), 0)
            step("add (cold)", flow_set(base, runs + run), flows)
    return rates


def on_one_switch(prefix: str, work: Callable[[Switch], T]) -> T:
    """`work(switch)` on a fresh one-host lab whose switch is connected; the lab is removed
    afterwards, whatever happens."""
    lab = Lab(f"{prefix}{os.getpid()}")
    try:
        lab.up(1)
        switch = Switch(lab)
        switch.connect()
        return work(switch)
    finally:
        lab.down()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rates = on_one_switch("fm", lambda switch: measure(switch, args.flows, args.runs))
    print(f"\n{args.flows} flows per apply, one switch (OVS {ovs_version()}, userspace "
          f"datapath), flow-mods per second from set_desired to the bundle's commit reply:")
    for name, values in rates.items():
        ordered = sorted(values)
        print(f"  {name:12} min {ordered[0]:>9,.0f}  median {statistics.median(ordered):>9,.0f}"
              f"  max {ordered[-1]:>9,.0f}  ({len(ordered)} runs)")


def ovs_version() -> str:
    out = subprocess.run(["ovs-vswitchd", "--version"], capture_output=True, text=True).stdout
    return out.split()[3] if out else "?"


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        traceback.print_exc()
        os._exit(1)
    # os-ken's threads cannot be stopped (hub.kill is a no-op): leave without them.
    sys.stdout.flush()
    os._exit(0)
