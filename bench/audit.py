"""Audit benchmark: what one audit of a switch of N flows costs the controller.

    unshare --net sh -c 'ip link set lo up && .venv/bin/python bench/audit.py [--flows 2400]'

A one-host lab whose br-int connects to os-ken in this process, with the controller's real
Fleet, SwitchSync and Codec (bench/flowmods.py's Switch; no database). The switch gets N
flows (bench/codec.py's shapes: L2 lookups to tunnels and ARP responders), then is audited
`--runs` + 1 times with `SwitchSync.inspect()`: both reads (every flow, every group), parsed
by controller/oskenfix.py, and the comparison with the desired configuration, the same work
as the periodic audit of a switch with nothing wrong. The first audit of a connection also
decodes every flow and checks it against its cookie (controller/audit.py), and is shown
apart; later ones compare fingerprints. Per audit: wall ms, this process's CPU ms (all its
threads: os-ken's receive loop parsing the replies, the worker comparing) and the bytes of
flow and group entries read; and the comparison alone, CPU ms. Checks that every audit
finds no difference and that no flow-mod was sent.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback

from codec import sample_flows
from flowmods import DATAPATH_ID, Switch, on_one_switch, ovs_version
from harness import summary

from controller import audit
from controller.compiler import SwitchConfig


def measure(switch: Switch, flows: int, runs: int) -> dict[str, list[float]]:
    desired = frozenset(sample_flows(flows))
    switch.apply(desired)
    sync = switch.fleet.syncs[DATAPATH_ID]
    config = SwitchConfig(desired, {})
    results: dict[str, list[float]] = {"wall ms": [], "CPU ms": [], "compare CPU ms": [],
                                       "kB read": []}
    applies = len(switch.results)
    for run in range(runs + 1):
        wall, cpu = time.perf_counter(), time.process_time()
        inspection = sync.inspect()
        results["wall ms"].append((time.perf_counter() - wall) * 1000)
        results["CPU ms"].append((time.process_time() - cpu) * 1000)
        if inspection.difference or len(inspection.tables.flows) != flows:
            raise RuntimeError(f"a right switch audited as {inspection.difference}")
        results["kB read"].append(inspection.tables.bytes_read / 1000)
        cpu = time.process_time()
        known = inspection.difference.fingerprints
        audit.compare(config, inspection.tables, sync._codec, known)
        results["compare CPU ms"].append((time.process_time() - cpu) * 1000)
        if run == 0:
            first = {name: values.pop() for name, values in results.items()}
            print("first audit of the connection: " + ", ".join(
                f"{name} {value:.2f}" for name, value in first.items()))
    if len(switch.results) != applies:
        raise RuntimeError("an audit of a right switch sent flow-mods")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=2400)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    results = on_one_switch("au", lambda switch: measure(switch, args.flows, args.runs))
    print(f"\none switch of {args.flows} flows (OVS {ovs_version()}, userspace datapath), "
          f"{args.runs} audits, nothing to repair:")
    for name, values in results.items():
        print(f"  {name:15} {summary(values, '8.2f')}")


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        traceback.print_exc()
        os._exit(1)
    # os-ken's threads cannot be stopped (hub.kill is a no-op): leave without them.
    sys.stdout.flush()
    os._exit(0)
