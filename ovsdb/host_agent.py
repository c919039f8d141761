"""One host's agent: keeps its br-int as desired over one OVSDB connection, on its own thread.

Each host has its own thread, so connecting, fetching the schema and waiting on a host that
does not answer never delays any other host. The loop is level-triggered: every wake-up
(desired state changed, the host's database changed, ofports arrived, the connection
dropped) runs one *pass*: read the replica, plan, write the difference in one transaction,
and report what was seen. A pass over a host that is already right sends nothing.

    connect ──fail──> report disconnected (reason), back off (0.25 s doubling to 4 s), retry
       │ok
    pass <── wake-up ── replica change / update() / request_pass()
       │connection dropped      <── STATUS_DELAY after BFD news
    report disconnected ("connection lost"), reconnect at once

BFD news are the exception to "at once": while a mesh comes up, every tunnel's BFD state
changes several times, and a pass for each change made the manager the busiest process on
the machine. They are gathered for STATUS_DELAY and reported by one pass.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ovsdb.bindings import HostReport, TunnelState
from ovsdb.connection import ConnectFailed, HostConnection
from ovsdb.desired import DesiredSwitch
from ovsdb.writes import Outcome, ReconcileCommand

log = logging.getLogger(__name__)

FIRST_BACKOFF, MAX_BACKOFF = 0.25, 4.0
STATUS_DELAY = 1.0
# Safety net: even without any wake-up, look at the connection this often.
IDLE_CHECK = 5.0
BFD_STATUS = {"up": "up", "down": "down", "init": "down", "admin_down": "down"}


class HostAgent(threading.Thread):
    """One thread and one OVSDB connection per host: keeps that host's br-int, controller
    target and tunnels as desired, and reports what it sees (module doc)."""

    def __init__(
        self,
        host_id: int,
        target: str,
        desired: DesiredSwitch,
        report: Callable[[HostReport], None],
        timeout: float = 5.0,
    ) -> None:
        super().__init__(name=f"ovsdb-{desired.host_name}", daemon=True)
        self.host_id = host_id
        self._report = report
        self._timeout = timeout
        self._stopping = threading.Event()
        # Guards what other threads hand in, and wakes the agent when they do.
        self._state = threading.Condition()
        self._target, self._desired = target, desired
        self._dirty = True  # something may differ: run a pass
        self._status_due: float | None = None  # run a pass then, to report BFD news
        self._requested = self._completed = 0
        self._last_report: HostReport | None = None
        self._blocked: tuple[str, ...] = ()  # last warned about
        self.writes = 0  # transactions that changed the host's database

    # ------------------------------------------------------------ inputs (any thread)

    def update(self, target: str, desired: DesiredSwitch) -> None:
        """New desired state (or a new OVSDB target: the agent then reconnects)."""
        with self._state:
            if (target, desired) == (self._target, self._desired):
                return
            self._target, self._desired = target, desired
        self._changed()

    def request_pass(self) -> int:
        """Ask for a pass; returns a ticket for `wait_pass`."""
        with self._state:
            self._requested += 1
            ticket = self._requested
        self._changed()
        return ticket

    def wait_pass(self, ticket: int, timeout: float) -> bool:
        """Wait until a pass that started after `request_pass` returned `ticket` is done."""
        with self._state:
            return self._state.wait_for(lambda: self._completed >= ticket, timeout)

    def stop(self) -> None:
        self._stopping.set()
        self._changed()

    def _changed(self) -> None:
        """Something that may need reconciling changed (also called on ovsdbapp's thread)."""
        with self._state:
            self._dirty = True
            self._state.notify_all()

    def _status_changed(self) -> None:
        """Only BFD state changed (called on ovsdbapp's thread)."""
        with self._state:
            if self._status_due is None:
                self._status_due = time.monotonic() + STATUS_DELAY
                self._state.notify_all()

    def _wait_for_work(self) -> None:
        """Return when a pass is due: a change, BFD news that waited long enough, or the
        idle check."""
        idle_until = time.monotonic() + IDLE_CHECK
        with self._state:
            while not self._dirty and not self._stopping.is_set():
                now = time.monotonic()
                due = min(idle_until, self._status_due or idle_until)
                if now >= due:
                    break
                self._state.wait(due - now)
            self._dirty, self._status_due = False, None

    # ------------------------------------------------------------ the thread

    def run(self) -> None:
        backoff = FIRST_BACKOFF
        while not self._stopping.is_set():
            target = self._target
            try:
                connection = HostConnection(
                    target, self._timeout, self._changed, self._status_changed
                )
            except Exception as error:
                self._send(HostReport(self.host_id, connected=False, reason=_reason(error)))
                if isinstance(error, ConnectFailed):
                    log.info("%s: cannot connect to %s: %s", self.name, target, error)
                else:  # e.g. a schema without a column we need: keep trying, loudly
                    log.exception("%s: cannot use the OVSDB at %s", self.name, target)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            log.info("%s: connected to %s", self.name, target)
            backoff = FIRST_BACKOFF
            try:
                self._serve(connection, target)
            finally:
                connection.close()
            if not self._stopping.is_set():
                self._send(HostReport(self.host_id, connected=False, reason="connection lost"))

    def _serve(self, connection: HostConnection, target: str) -> None:
        """Run passes until the connection drops, the target changes or we stop."""
        while not self._stopping.is_set() and connection.alive and self._target == target:
            try:
                self._pass(connection)
            except Exception as error:  # a failed transaction: retry, but not in a hot loop
                if not connection.alive:
                    return
                log.warning("%s: reconcile failed: %s", self.name, error)
                self._stopping.wait(MAX_BACKOFF)
                continue
            self._wait_for_work()

    def _pass(self, connection: HostConnection) -> None:
        with self._state:
            desired, ticket = self._desired, self._requested
        command = ReconcileCommand(connection, desired)
        connection.run(command)
        if command.committed:
            self.writes += 1
        outcome: Outcome = command.result
        if outcome.plan.blocked != self._blocked:
            self._blocked = outcome.plan.blocked
            if self._blocked:
                log.warning(
                    "%s: ports %s exist but are not Weft's: those tunnels are not created",
                    self.name, ", ".join(self._blocked),
                )
        self._send(self._observed(desired, outcome))
        with self._state:
            self._completed = max(self._completed, ticket)
            self._state.notify_all()

    def _observed(self, desired: DesiredSwitch, outcome: Outcome) -> HostReport:
        bridge = outcome.observed
        if bridge is None:
            return HostReport(self.host_id, connected=True, interfaces={}, tunnels={})
        tunnels = {}
        for tunnel in desired.tunnels:
            port = bridge.ports.get(tunnel.port)
            if port is not None and port.owned:
                iface = port.interfaces[0]
                tunnels[tunnel.peer_id] = TunnelState(
                    iface.ofport, BFD_STATUS.get(iface.bfd_state or "", "unknown")
                )
        return HostReport(
            self.host_id, connected=True, interfaces=bridge.bound_interfaces(), tunnels=tunnels,
            mtus=bridge.interface_mtus(),
        )

    def _send(self, report: HostReport) -> None:
        """Report only what changed, and nothing once stopped (the host may be gone)."""
        if report != self._last_report and not self._stopping.is_set():
            self._last_report = report
            self._report(report)


def _reason(error: Exception) -> str:
    if isinstance(error, ConnectFailed):
        return error.reason
    return f"cannot use its database: {error}"
