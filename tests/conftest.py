"""Test-wide setup: refuse to run where a test could reach off the machine.

The suite runs inside a network namespace of its own (scripts/test does `unshare --net`), so
nothing a test starts can reach anything but loopback, unix sockets and the namespaces the
lab creates. A fresh namespace has only `lo`; any other interface means we are somewhere
with a way out (comparing namespace inodes with PID 1 does not work everywhere: /proc/1/ns
may be unreadable, and a shell may sit in a namespace that is not PID 1's yet has a default
route). Fixtures live in tests/support/, one module per kind of resource.
"""

from __future__ import annotations

import pytest

pytest_plugins = [
    "tests.support.postgres",
    "tests.support.labs",
]


def _interfaces_besides_lo() -> list[str]:
    with open("/proc/self/net/dev") as dev:
        names = [line.split(":", 1)[0].strip() for line in dev.readlines()[2:]]
    return [name for name in names if name != "lo"]


def pytest_sessionstart(session):
    if others := _interfaces_besides_lo():
        pytest.exit(
            f"refusing to run in a network namespace with a way out ({', '.join(others)}): "
            "use scripts/test, or `unshare --net sh -c 'ip link set lo up && pytest ...'`",
            returncode=2,
        )
