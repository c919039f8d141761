"""Join-to-installed latency: from a report's packet-in to the flows that carry it.

The snooping thread says which networks a committed batch changed and when each of its
joins arrived (`committed`). The reconciler calls `pass_started` as each pass begins: a
pass whose changes touch one of those networks' memberships (or reload everything) has
the batch's rows; `pass_ended`, after that pass has handed the new configurations to the
switches, observes every join's latency. The bundle apply that follows is measured on its
own (weft_apply_seconds).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from controller.changes import EVERYTHING, Change

MEMBERSHIP_TABLES = frozenset({"group_members", "multicast_groups"})
MAX_PENDING = 1000  # batches; older ones are forgotten (a pass that never came)


class JoinClock:
    def __init__(self, observe: Callable[[float], None]) -> None:
        self._observe = observe
        self._lock = threading.Lock()
        self._pending: list[tuple[frozenset[int], list[float]]] = []
        self._in_pass: list[float] = []  # reconciler thread only

    def committed(self, networks: Iterable[int], arrivals: list[float]) -> None:
        if not arrivals:
            return
        with self._lock:
            self._pending.append((frozenset(networks), arrivals))
            del self._pending[:-MAX_PENDING]

    def pass_started(self, changes: list[Change]) -> None:
        touched = {c.affected_network for c in changes if c.table in MEMBERSHIP_TABLES}
        everything = EVERYTHING in changes
        with self._lock:
            keep = []
            for networks, arrivals in self._pending:
                if everything or networks & touched:
                    self._in_pass += arrivals
                else:
                    keep.append((networks, arrivals))
            self._pending = keep

    def pass_ended(self, *_) -> None:
        now = time.monotonic()
        for arrived in self._in_pass:
            self._observe(now - arrived)
        self._in_pass = []
