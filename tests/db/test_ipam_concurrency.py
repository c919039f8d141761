"""Concurrent `weft port create` never hands out an address or a MAC twice.

Eight processes (spawned, each with its own connections) run `weft port create` in a loop
against the same network, all started together behind a barrier. On PostgreSQL they queue
on the network's row lock; on SQLite on the database's write lock (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import ipaddress
import multiprocessing

import pytest
from sqlalchemy import select
from test_cli_common import Weft

from models import tables as t
from models.db import make_engine

pytestmark = pytest.mark.postgres

WORKERS = 8
RESULT_WAIT = 600  # seconds: an upper bound on a worker's silence, not a timing assertion


def _create_ports(url: str, network: str, names: list[str], barrier, results) -> None:
    """Worker process: create `names` one `weft port create` at a time; report each outcome."""
    weft = Weft(url)
    barrier.wait()
    for name in names:
        result = weft.run("port", "create", name, "--network", network)
        results.put((name, result.exit_code, result.stderr))


def create_concurrently(url: str, network: str, count: int) -> dict[str, tuple[int, str]]:
    """Create ports p0..p{count-1} from WORKERS processes; {name: (exit code, stderr)}."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(WORKERS), context.Queue()
    names = [f"p{n}" for n in range(count)]
    workers = [
        context.Process(target=_create_ports, args=(url, network, names[w::WORKERS], barrier,
                                                    results))
        for w in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    try:
        outcomes = [results.get(timeout=RESULT_WAIT) for _ in names]
    finally:
        for worker in workers:
            worker.join(timeout=RESULT_WAIT)
    assert [w.exitcode for w in workers] == [0] * WORKERS
    return {name: (code, stderr) for name, code, stderr in outcomes}


def ports_in_db(url: str) -> dict[str, tuple[str, list]]:
    """{port name: (mac, [addresses])} as stored."""
    engine = make_engine(url)
    try:
        with engine.connect() as db:
            ports = {name: (mac, []) for name, mac in db.execute(select(t.Port.name, t.Port.mac))}
            for name, address in db.execute(
                select(t.Port.name, t.PortAddress.address).join(t.PortAddress)
            ):
                ports[name][1].append(address)
            return ports
    finally:
        engine.dispose()


def _interleaved(ports: dict[str, tuple[str, list]]) -> bool:
    """Whether some worker's IPv4 addresses are not one contiguous run, i.e. the workers'
    creations really alternated (a check on the test itself)."""
    for worker in range(WORKERS):
        mine = sorted(
            int(a) for name, (_, addresses) in ports.items() if int(name[1:]) % WORKERS == worker
            for a in addresses if a.version == 4
        )
        if mine and mine[-1] - mine[0] + 1 != len(mine):
            return True
    return False


@pytest.mark.parametrize(("database", "count"), [("postgres", 500), ("sqlite", 120)])
def test_concurrent_creates_give_distinct_addresses_and_macs(request, database, count):
    url = request.getfixturevalue(f"migrated_{database}_url")
    Weft(url).ok("network", "create", "big", "--cidr", "198.51.100.0/22", "--gateway",
                 "198.51.100.1", "--cidr", "2001:db8:5::/64")
    outcomes = create_concurrently(url, "big", count)
    assert {name: o for name, o in outcomes.items() if o[0] != 0} == {}
    ports = ports_in_db(url)
    assert len(ports) == count
    macs = {mac for mac, _ in ports.values()}
    v4 = {a for _, addresses in ports.values() for a in addresses if a.version == 4}
    v6 = {a for _, addresses in ports.values() for a in addresses if a.version == 6}
    assert len(macs) == len(v4) == len(v6) == count
    assert ipaddress.ip_address("198.51.100.1") not in v4  # the gateway
    assert _interleaved(ports)


def test_concurrent_creates_in_a_small_subnet_fail_only_by_exhaustion(migrated_postgres_url):
    url = migrated_postgres_url
    Weft(url).ok("network", "create", "small", "--cidr", "198.51.100.0/27", "--gateway",
                 "198.51.100.1")
    outcomes = create_concurrently(url, "small", 48)
    full = 'error: subnet 198.51.100.0/27 of network "small" is full: all 29 usable addresses ' \
        "are taken\n"
    refused = {name: o for name, o in outcomes.items() if o[0] != 0}
    assert set(refused.values()) == {(1, full)}
    ports = ports_in_db(url)
    assert set(ports) == set(outcomes) - set(refused)
    given_out = [a for _, addresses in ports.values() for a in addresses]
    assert len(given_out) == len(set(given_out)) == 29
    assert len({mac for mac, _ in ports.values()}) == 29
