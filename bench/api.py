"""API benchmark: creating ports through `weft api`, one at a time and in one batch, and how
fast the `weft` CLI starts.

    unshare --net sh -c 'ip link set lo up && .venv/bin/python bench/api.py [--ports 400]'

It builds what it needs and removes it at the end: a throwaway PostgreSQL (lab/postgres.py,
unix socket only), a migrated database with an admin token, and the real `weft api` process
on 127.0.0.1 (inside the namespace). Figures, each min/median/p95/max:

1. `PUT /v1/ports/{name}` latency in ms, with 1 client and with 8 concurrent clients
   (each client creating --ports / clients ports in a network of its own kind: all in one
   IPv6 /64), and the throughput (ports per second over the whole run);
2. `POST /v1/ports:batch` of 1,000 ports in one transaction, --runs times (each in a fresh
   network), in ms;
3. the CLI's start-up for `weft --help` and `weft network list` (SQLite, 3 networks): whole
   processes, --cli-runs times each, in ms.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from harness import summary

from lab.postgres import throwaway_cluster
from models.db import make_engine
from northbound import schema
from northbound.session import writing
from northbound.tokens import create_token

WEFT = Path(sys.executable).with_name("weft")
BATCH = 1000


def start_api(url: str, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [str(WEFT), "api", "--listen", f"127.0.0.1:{port}", "--database-url", url,
         "--log-level", "WARNING"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("weft api did not start")


def timed_puts(base: str, token: str, network: str, clients: int, total: int
               ) -> tuple[list[float], float]:
    """(latencies in ms, ports per second) of `total` PUTs spread over `clients` threads."""
    latencies: list[float] = []
    lock = threading.Lock()

    def client(worker: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                          timeout=30) as http:
            for i in range(total // clients):
                start = time.perf_counter()
                answer = http.put(f"/v1/ports/{network}-{worker}-{i}", json={"network": network})
                elapsed = (time.perf_counter() - start) * 1000
                assert answer.status_code == 201, answer.text
                with lock:
                    latencies.append(elapsed)

    threads = [threading.Thread(target=client, args=(w,)) for w in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, len(latencies) / (time.perf_counter() - start)


def process_times(argv: list[str], runs: int, env: dict) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append((time.perf_counter() - start) * 1000)
    return times


def cli_start_up(runs: int, workdir: Path) -> None:
    env = os.environ | {"WEFT_DATABASE_URL": f"sqlite:///{workdir / 'cli.db'}"}
    subprocess.run([str(WEFT), "db", "upgrade"], check=True, env=env, capture_output=True)
    for name in ("blue", "red", "green"):
        subprocess.run([str(WEFT), "network", "create", name, "--cidr", "198.51.100.0/24"],
                       check=True, env=env, capture_output=True)
    for argv in (["--help"], ["network", "list"]):
        times = process_times([str(WEFT), *argv], runs, env)
        print(f"weft {' '.join(argv):13} ms  {summary(times)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ports", type=int, default=400, help="PUTs per client count")
    parser.add_argument("--runs", type=int, default=5, help="batches of 1,000 ports")
    parser.add_argument("--cli-runs", type=int, default=20)
    options = parser.parse_args()
    with throwaway_cluster() as cluster:
        url = cluster.create_database("bench_api")
        schema.upgrade(url)
        engine = make_engine(url)
        with writing(engine) as session:
            _, token = create_token(session, "bench", "admin")
        engine.dispose()
        port = 18080
        api = start_api(url, port)
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                              timeout=60) as http:
                for clients in (1, 8):
                    network = f"n{clients}"
                    http.post("/v1/networks", json={"name": network,
                                                    "cidrs": ["2001:db8:1::/64"]})
                    latencies, rate = timed_puts(base, token, network, clients, options.ports)
                    print(f"PUT port, {clients} client(s), ms  {summary(latencies)}  "
                          f"({rate:.0f} ports/s)")
                batch_times = []
                for run in range(options.runs):
                    network = f"batch{run}"
                    http.post("/v1/networks", json={"name": network,
                                                    "cidrs": ["2001:db8:2::/64"]})
                    body = {"ports": [{"name": f"{network}-{i}", "network": network}
                                      for i in range(BATCH)]}
                    start = time.perf_counter()
                    answer = http.post("/v1/ports:batch", json=body)
                    batch_times.append((time.perf_counter() - start) * 1000)
                    assert answer.status_code == 201, answer.text
                print(f"batch of {BATCH} ports, ms  {summary(batch_times)}")
        finally:
            api.terminate()
            api.wait(timeout=15)
        cli_start_up(options.cli_runs, cluster.base_dir)


if __name__ == "__main__":
    main()
