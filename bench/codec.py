"""Codec micro-benchmark: flow-mods per second, cold (empty cache), warm, and in a bundle.

    .venv/bin/python bench/codec.py [--flows N] [--runs R]

The flows look like a host's real tables: L2 lookups that tunnel to a remote port, and ARP
responders that rewrite a request into a reply. Each run encodes all N with a fresh Codec
(cold), again with the same Codec (warm: what a reconnect or re-diff costs), and wraps the
warm flow-mods into one bundle (open, N adds, commit). Prints min/median/max over the runs.
"""

from __future__ import annotations

import argparse
import statistics
import time

from controller import codec
from controller.flows import (
    ApplyActions,
    Flow,
    GotoTable,
    Move,
    Output,
    SetField,
    match,
)
from controller.pipeline import Category, Table


def sample_flows(n: int) -> list[Flow]:
    flows = []
    for i in range(n):
        vni, mac, ip = 1000 + i % 50, 0x0200_0000_0000 + i, 0x0A00_0000 + i
        if i % 2:
            flows.append(Flow(
                Table.L2_LOOKUP, 100, match(metadata=vni, eth_dst=mac, reg0=0),
                (ApplyActions((SetField("tunnel_id", vni), Output(100 + i % 49))),),
                Category.PORT,
            ))
        else:
            flows.append(Flow(
                Table.NEIGHBOUR, 200,
                match(metadata=vni, eth_type=0x0806, arp_op=1, arp_tpa=ip),
                (ApplyActions((
                    Move("eth_src", "eth_dst"), SetField("eth_src", mac), SetField("arp_op", 2),
                    Move("arp_sha", "arp_tha"), SetField("arp_sha", mac),
                    Move("arp_spa", "arp_tpa"), SetField("arp_spa", ip), Output(0xFFFF_FFF8),
                )), GotoTable(Table.L2_LOOKUP)),
                Category.PORT,
            ))
    return flows


def encode_all(c: codec.Codec, flows: list[Flow]) -> list[bytes]:
    return [c.flow_add(flow, xid) for xid, flow in enumerate(flows, 1)]


def bundle(messages: list[bytes], bundle_id: int = 1) -> list[bytes]:
    return [
        codec.bundle_open(0, bundle_id),
        *[codec.bundle_add(bundle_id, m) for m in messages],
        codec.bundle_commit(len(messages) + 1, bundle_id),
    ]


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    flows = sample_flows(args.flows)
    results = {"cold flow_add": [], "warm flow_add": [], "bundle of warm adds": []}
    for _ in range(args.runs):
        c = codec.Codec()
        results["cold flow_add"].append(timed(lambda c=c: encode_all(c, flows)))
        results["warm flow_add"].append(timed(lambda c=c: encode_all(c, flows)))
        results["bundle of warm adds"].append(timed(lambda c=c: bundle(encode_all(c, flows))))
    print(f"{args.flows} distinct flows, {args.runs} runs (flow-mods per second)")
    for name, seconds in results.items():
        rates = sorted(args.flows / s for s in seconds)
        print(f"  {name:20} min {rates[0]:>10,.0f}  median {statistics.median(rates):>10,.0f}"
              f"  max {rates[-1]:>10,.0f}")


if __name__ == "__main__":
    main()
