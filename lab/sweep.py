"""Tearing a lab down completely, also after a crash or after its processes were killed.

Nothing here trusts the lab to be in a sane state. A process belongs to the lab if
- its network namespace is one of the lab's (what `ip netns pids` reports), or
- its command line contains the lab's directory (OVS daemons name their files there, which
  also catches a daemon whose namespace was already deleted and is now invisible), or
- it is a process the lab spawned, identified by pid *and* start time (a bare pid from a
  stale file may belong to someone else by now).
Processes are never matched by name: other engineers run OVS on this machine too.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable

from lab import netns, procs
from lab.layout import Layout
from lab.state import Spawned

ROUNDS = 3  # a process may fork while we kill its parent: look again


def sweep(layout: Layout, spawned: Iterable[Spawned] = ()) -> None:
    """Stop every process of the lab, delete its namespaces (and with them every link), and
    remove its directory."""
    spawned = list(spawned)
    for _ in range(ROUNDS):
        pids = _lab_processes(layout, spawned)
        if not pids:
            break
        procs.stop(pids)
    netns.delete(_lab_namespaces(layout))
    shutil.rmtree(layout.dir, ignore_errors=True)


def _lab_namespaces(layout: Layout) -> list[str]:
    return [name for name in netns.existing() if layout.owns_netns(name)]


def _lab_processes(layout: Layout, spawned: list[Spawned]) -> set[int]:
    marker = f"{layout.dir}/"
    namespaces = netns.inodes(_lab_namespaces(layout))
    pids = {p.pid for p in procs.scan() if p.netns_inode in namespaces or marker in p.cmdline}
    pids |= {s.pid for s in spawned if procs.start_time(s.pid) == s.start_time}
    return {pid for pid in pids if procs.is_running(pid)}
