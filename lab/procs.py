"""Processes, seen through /proc: live or zombie, which namespace, which command line.

Detached OVS daemons are re-parented to PID 1, which reaps them only after a while, and
`kill(pid, 0)` succeeds on a zombie; so "running" here means present and not a zombie.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

POLL_INTERVAL = 0.02


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (field 3, the state, comes first)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2 :].split()


def is_running(pid: int) -> bool:
    """True if `pid` exists and is not a zombie."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def start_time(pid: int) -> int | None:
    """Start time of `pid` in clock ticks since boot: with the pid, it names one process for
    good, whereas a bare pid may be reused after the process dies."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    netns_inode: int | None
    cmdline: str


def scan() -> Iterator[ProcessInfo]:
    """Every process on the machine (zombies have no namespace and an empty command line)."""
    own = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        pid = int(entry.name)
        try:
            inode = os.stat(f"/proc/{pid}/ns/net").st_ino
        except OSError:
            inode = None
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        yield ProcessInfo(pid, inode, cmdline)


def stop(pids: Iterable[int], grace: float = 2.0) -> None:
    """SIGTERM `pids`, wait up to `grace` seconds, then SIGKILL whatever still runs."""
    remaining = _signal(set(pids), signal.SIGTERM)
    remaining = _wait_gone(remaining, grace)
    if remaining:
        _wait_gone(_signal(remaining, signal.SIGKILL), grace)


def _signal(pids: set[int], sig: int) -> set[int]:
    sent = set()
    for pid in pids:
        try:
            os.kill(pid, sig)
            sent.add(pid)
        except ProcessLookupError:
            pass
    return sent


def _wait_gone(pids: set[int], timeout: float) -> set[int]:
    deadline = time.monotonic() + timeout
    while True:
        pids = {pid for pid in pids if is_running(pid)}
        if not pids or time.monotonic() >= deadline:
            return pids
        time.sleep(POLL_INTERVAL)
