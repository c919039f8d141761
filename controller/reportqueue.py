"""The bounded, fair queue between IGMP packet-ins and the snooping thread.

Reports wait in one FIFO per switch port (datapath id, in_port). A port may have at most
`per_port` reports waiting: beyond that its new reports are shed, so a container that
floods fills only its own FIFO. The whole queue holds at most `total`; when it is full, the
oldest report of the longest FIFO goes (the flooder's, not a quiet neighbour's). `take`
serves the FIFOs round-robin, so every port gets its share of each batch.

Shedding is counted here, under the queue's lock (packet-ins arrive on one thread per
switch): `shed` in total and `shed_by_port` until the snooping thread collects them for
its once-per-interval log line.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Hashable
from typing import Any

MAX_WINDOWS = 5  # a batch waits at most this many windows for reports still arriving


class ReportQueue:
    def __init__(self, per_port: int, total: int) -> None:
        if per_port < 1 or total < 1:
            raise ValueError("per_port and total must be at least 1")
        self.per_port = per_port
        self.total = total
        self._fifos: dict[Hashable, deque] = {}
        self._depth = 0
        self._ready = threading.Condition()
        self.shed = 0
        self._shed_by_port: Counter = Counter()

    @property
    def depth(self) -> int:
        return self._depth

    def shed_if_full(self, port: Hashable) -> bool:
        """True (and counted as shed) if `port`'s backlog is full: a caller may then skip
        building the item at all."""
        with self._ready:
            fifo = self._fifos.get(port)
            if fifo is None or len(fifo) < self.per_port:
                return False
            self._count_shed(port)
            return True

    def put(self, port: Hashable, item: Any) -> bool:
        """Queue `item` from `port`; False if it was shed instead."""
        with self._ready:
            fifo = self._fifos.get(port)
            if fifo is not None and len(fifo) >= self.per_port:
                return self._count_shed(port)
            if self._depth >= self.total:
                longest = max(self._fifos, key=lambda k: len(self._fifos[k]))
                if fifo is not None and len(fifo) >= len(self._fifos[longest]):
                    return self._count_shed(port)
                self._fifos[longest].popleft()
                self._depth -= 1
                self._count_shed(longest)
            if fifo is None:
                fifo = self._fifos[port] = deque()
            fifo.append(item)
            self._depth += 1
            self._ready.notify()
            return True

    def _count_shed(self, port: Hashable) -> bool:
        """Count a report of `port` as shed; returns False (it was not queued)."""
        self.shed += 1
        self._shed_by_port[port] += 1
        return False

    def take(self, limit: int, timeout: float, window: float = 0.0) -> list:
        """Up to `limit` items, round-robin over the ports. Waits up to `timeout` for the
        first one, then `window` more so that reports arriving together form one batch,
        and another `window` while the queue keeps growing (MAX_WINDOWS at most)."""
        with self._ready:
            if not self._depth and not self._ready.wait_for(lambda: self._depth, timeout):
                return []
        for _ in range(MAX_WINDOWS if window > 0 else 0):
            depth = self._depth
            time.sleep(window)
            if self._depth <= depth or self._depth >= limit:
                break
        with self._ready:
            taken: list = []
            while self._fifos and len(taken) < limit:
                for port in list(self._fifos):
                    fifo = self._fifos[port]
                    taken.append(fifo.popleft())
                    if not fifo:
                        del self._fifos[port]
                    if len(taken) == limit:
                        break
            self._depth -= len(taken)
            return taken

    def collect_shed(self) -> Counter:
        """Reports shed per port since the last call."""
        with self._ready:
            shed, self._shed_by_port = self._shed_by_port, Counter()
            return shed
