"""The reconcile loop: database changes in, new switch configurations out.

One thread owns the StateStore and the compiler's SectionCache, so neither needs locking
beyond the store's reader lock. Changes arrive from the change feed through `submit` (what
the OVSDB manager observes comes back that way, through the database), and switch
connections ask for their host with `request_hosts`; each burst is folded into one pass that
reloads only what changed, recompiles only the affected hosts and hands each new
SwitchConfig to `deliver`. A full reload every `resync_interval` seconds is the safety net
against a missed notification.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable

from controller.compiler import CompileError, SectionCache, SwitchConfig, compile_host
from controller.state import StateStore
from models.changes import EVERYTHING, HOST_TABLES, Change
from models.snapshot import HostView, Snapshot

log = logging.getLogger(__name__)

Deliver = Callable[[HostView, SwitchConfig], None]
Listener = Callable[[Snapshot, list[Change]], None]
StartListener = Callable[[list[Change]], None]


class Reconciler(threading.Thread):
    """One thread: owns the StateStore and the compiler's SectionCache, turns each batch of
    database changes into one pass (reload, compile the affected hosts, deliver to the Fleet)."""

    def __init__(
        self,
        store: StateStore,
        deliver: Deliver,
        stop: threading.Event,
        resync_interval: float = 30.0,
    ) -> None:
        super().__init__(name="reconciler", daemon=True)
        self.store = store
        self._deliver = deliver
        self._stop_event = stop
        self._resync_interval = resync_interval
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._cache = SectionCache()
        self._listeners: list[Listener] = []
        self._start_listeners: list[StartListener] = []
        self._pass_listeners: list[Callable[[float, bool], None]] = []
        self.passes = 0
        self.last_pass_seconds = 0.0
        self.ready = threading.Event()

    # ------------------------------------------------------------ inputs (any thread)

    def submit(self, changes: Iterable[Change]) -> None:
        self._queue.put(list(changes))

    def request_hosts(self, host_ids: Iterable[int]) -> None:
        """Recompile and redeliver these hosts (e.g. their switch just connected)."""
        self._queue.put([Change("host-request", id=h) for h in host_ids])

    def add_listener(self, listener: Listener) -> None:
        """Call `listener(snapshot, changes)` after every pass (e.g. the OVSDB manager)."""
        self._listeners.append(listener)

    def add_start_listener(self, listener: StartListener) -> None:
        """Call `listener(changes)` as each pass begins, before any reload (bench/propagation.py
        times how long a committed change takes to get here)."""
        self._start_listeners.append(listener)

    def add_pass_listener(self, listener: Callable[[float, bool], None]) -> None:
        """Call `listener(seconds, failed)` after every pass, failed or not (metrics)."""
        self._pass_listeners.append(listener)

    # ------------------------------------------------------------ the loop

    def run(self) -> None:
        self._pass([EVERYTHING])
        self.ready.set()
        next_resync = time.monotonic() + self._resync_interval
        while not self._stop_event.is_set():
            timeout = max(0.0, next_resync - time.monotonic())
            try:
                batch = self._queue.get(timeout=min(timeout, 0.5))
            except queue.Empty:
                if time.monotonic() >= next_resync:
                    batch = [EVERYTHING]
                else:
                    continue
            batch = batch + self._drain()
            if EVERYTHING in batch:
                next_resync = time.monotonic() + self._resync_interval
            started, failed = time.monotonic(), False
            try:
                self._pass(batch)
            except Exception:
                # A failed pass must not kill the loop. It may have failed after the store
                # took the new state in, when a reload finds nothing changed: so the retry
                # reloads everything and also recompiles every host.
                log.exception("reconcile pass failed; a full resync will follow")
                failed = True
                self._queue.put([EVERYTHING])
                self.request_hosts(self.store.snapshot.hosts)
            for listener in self._pass_listeners:
                listener(time.monotonic() - started, failed)
            if failed:
                self._stop_event.wait(1.0)

    def _drain(self) -> list[Change]:
        changes: list[Change] = []
        while True:
            try:
                changes += self._queue.get_nowait()
            except queue.Empty:
                return changes

    def _pass(self, batch: list[Change]) -> None:
        for listener in self._start_listeners:
            listener(batch)
        started = time.monotonic()
        requested = {c.id for c in batch if c.table == "host-request" and c.id is not None}
        affected: set[int]
        if EVERYTHING in batch:
            affected = self.store.reload_all()
        else:
            affected = set()
            if any(c.table in HOST_TABLES for c in batch):
                affected |= self.store.reload_hosts()
            affected |= self.store.reload_networks(
                c.affected_network for c in batch if c.affected_network is not None
            )
        snapshot = self.store.snapshot
        reloaded = time.monotonic()
        for host_id in sorted((affected | requested) & snapshot.hosts.keys()):
            self._compile_and_deliver(snapshot.hosts[host_id])
        self._cache.retain(snapshot.hosts.keys())
        for notify in self._listeners:
            notify(snapshot, batch)
        self.passes += 1
        self.last_pass_seconds = time.monotonic() - started
        log.debug(
            "reconcile pass %d: %d changes, %d hosts in %.1f ms (reload %.1f ms)",
            self.passes,
            len(batch),
            len(affected | requested),
            self.last_pass_seconds * 1000,
            (reloaded - started) * 1000,
        )

    def _compile_and_deliver(self, host: HostView) -> None:
        try:
            config = compile_host(self.store.topology, host.id, self._cache)
        except CompileError:
            log.exception(
                "cannot compile flows for host %s; its switch keeps what it has", host.name
            )
            return
        self._deliver(host, config)
