"""Test-wide setup: refuse to run where a test could reach off the machine.

The suite runs inside a network namespace of its own (scripts/test does `unshare --net`), so
nothing a test starts can reach anything but loopback, unix sockets and the namespaces the
lab creates. Fixtures live in tests/support/, one module per kind of resource.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = [
    "tests.support.postgres",
    "tests.support.labs",
]


def _netns_inode(pid: str) -> int:
    return os.stat(f"/proc/{pid}/ns/net").st_ino


def pytest_sessionstart(session):
    if _netns_inode("self") == _netns_inode("1"):
        pytest.exit(
            "refusing to run in the root network namespace: use scripts/test, or "
            "`unshare --net sh -c 'ip link set lo up && pytest ...'`",
            returncode=2,
        )
