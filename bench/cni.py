"""CNI benchmark: `podman run` on a Weft network to the first cross-host reply, next to the
same `podman run` with `--network none`, and run/rm cycles that must leave 0 orphans.

    unshare --net sh -c 'ip link set lo up && .venv/bin/python bench/cni.py [--runs 50]
                         [--cycles 200]'

It builds a 2-host lab with a throwaway PostgreSQL, the controller, `weft api`, a host token
per host and podman with `weft cni install` on each host (lab/runtime.py), and removes it
all at the end. Figures, min/median/p95/max in ms:

1. `podman run --rm --network blue` of a busybox container on host1 that pings a container
   on host2 until the first reply, then exits (--runs times);
2. `podman run --rm --network none` of a container that exits at once (--runs times); the
   difference is what Weft adds: ADD, the first reply, DEL;
3. --cycles of `podman run -d` + `podman rm -f`, then the orphans: Weft ports of the
   plugin, OVS interfaces, host veths and records left on host1 (must be 0).
"""

from __future__ import annotations

import argparse
import time

from harness import deploy, log_option, summary
from sqlalchemy import text

from lab.runtime import PodmanDeployment


def timed(podman, argv: list[str]) -> float:
    started = time.perf_counter()
    podman.exec(argv)
    return (time.perf_counter() - started) * 1000


def orphans(site, host: str) -> list[str]:
    podman = site.podman[host]
    lab = site.deployment.lab
    interfaces = lab.vsctl(host, "--bare", "--columns=name", "find", "Interface",
                           'external_ids:weft-cni!=""').split()
    links = [line.split(":")[1].strip() for line in podman.exec(["ip", "-o", "link"]
                                                                ).stdout.splitlines()]
    records = [p.name for p in podman.state_dir.glob("*")]
    with site.deployment.engine.connect() as connection:
        ports = [row[0] for row in connection.execute(
            text("SELECT name FROM ports WHERE name LIKE 'cni-%'"))]
    return interfaces + [x for x in links if x.startswith("wc")] + records + ports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--cycles", type=int, default=200)
    log_option(parser)
    options = parser.parse_args()
    with deploy("bcni", hosts=2, options=options) as d:
        d.network("blue", "198.51.100.0/24")
        d.start_controller()
        site = PodmanDeployment(d)
        try:
            site.start_api()
            site.setup_hosts()
            d.wait_programmed()
            p1, p2 = site.podman["host1"], site.podman["host2"]
            p2.run("peer", "blue")
            with d.engine.connect() as connection:
                        peer = connection.execute(text(
                    "SELECT a.address FROM port_addresses a JOIN ports p ON p.id = a.port_id "
                    "WHERE p.name LIKE 'cni-%'")).scalar_one()
            loop = f"until ping -c 1 -W 1 {peer} >/dev/null; do :; done"
            weft = [timed(p1, p1.run_argv(f"w{n}", "blue", ["sh", "-c", loop], detach=False))
                    for n in range(options.runs)]
            none = [timed(p1, p1.run_argv(f"n{n}", "none", ["true"], detach=False))
                    for n in range(options.runs)]
            print(f"podman run, first cross-host reply (ms): {summary(weft)}")
            print(f"podman run --network none (ms):          {summary(none)}")
            print(f"Weft's added time, medians (ms): "
                  f"{sorted(weft)[len(weft) // 2] - sorted(none)[len(none) // 2]:.1f}")
            cycles = []
            for n in range(options.cycles):
                started = time.perf_counter()
                p1.podman("run", "-d", "--name", f"c{n}", "--network", "blue",
                          "--rootfs", f"{p1.rootfs}:O", "sleep", "3600")
                p1.podman("rm", "--force", "--time", "0", f"c{n}")
                cycles.append((time.perf_counter() - started) * 1000)
            print(f"run -d + rm -f cycle (ms): {summary(cycles)}")
            p2.podman("rm", "--force", "--time", "0", "peer")
            left = orphans(site, "host1") + orphans(site, "host2")
            print(f"orphans after {options.cycles} cycles: {len(left)} {left}")
        finally:
            site.close()


if __name__ == "__main__":
    main()
