"""The OVSDB manager: one HostAgent per registered host, fed by the reconciler.

    Reconciler pass ──on_pass(snapshot, changes)──> OvsdbManager thread
                                                      │ desired_switches(hosts, tunnels)
                                                      ├─> HostAgent per host ──> its OVSDB
                                                      │        │ HostReport
                                                      └────────┴─> BindingWriter ──> database

`on_pass` only records the latest snapshot and returns: the reconciler never waits for OVS.
The manager's own thread starts agents for new hosts, stops those of deleted hosts and hands
every agent its desired state; agents inherit that thread's network namespace, so call
`start()` where the hosts are reachable (in a lab: inside `lab.entered("ctl")`).

A deleted host is forgotten, not dismantled: its br-int and tunnels stay as they are (its
containers may still run), while the other hosts drop their tunnels to it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from models.snapshot import HostView, Snapshot
from ovsdb.bindings import BindingWriter
from ovsdb.desired import ControllerSpec, desired_switches
from ovsdb.host_agent import HostAgent

if TYPE_CHECKING:
    from models.changes import Change

log = logging.getLogger(__name__)

BFD_SETTLE = 0.5  # seconds; see _run


def _may_rebind(change: Change) -> bool:
    """After this change strays may bind or bindings may end: a port row created or deleted,
    a host deleted (its ports were unbound), or "*" (a full reload). Updates of port rows
    are the binding writer's own, and must not send it scanning every binding again."""
    return (
        change.table == "*"
        or (change.table == "ports" and change.op in ("INSERT", "DELETE"))
        or (change.table == "hosts" and change.op == "DELETE")
    )


class OvsdbManager:
    """Owns one thread that hands every host's desired switch to its HostAgent (one thread and
    OVSDB connection each), and the BindingWriter thread that records what the agents see."""

    def __init__(
        self, engine: Engine, controller: ControllerSpec, connect_timeout: float = 5.0
    ) -> None:
        self._controller = controller
        self._timeout = connect_timeout
        self._stop_event = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None  # latest from the reconciler
        self._applied: tuple[dict[int, HostView], frozenset] | None = None
        self._agents: dict[int, HostAgent] = {}
        self._retired: list[HostAgent] = []
        self.writer = BindingWriter(engine)
        self._thread = threading.Thread(target=self._run, name="ovsdb-manager", daemon=True)

    # ------------------------------------------------------------ inputs

    def on_pass(self, snapshot: Snapshot, changes) -> None:
        """Reconciler listener: cheap, never blocks on OVS."""
        with self._lock:
            self._snapshot = snapshot
        if any(map(_may_rebind, changes)):
            self.writer.ports_changed()
        self._wake.set()

    # ------------------------------------------------------------ life cycle

    def start(self) -> None:
        self.writer.start()
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every thread, waiting `timeout` seconds in all (an agent stuck in a connect
        attempt is a daemon thread: it is left to end with the process)."""
        deadline = time.monotonic() + timeout
        self._stop_event.set()
        self._wake.set()
        self._thread.join(timeout)
        with self._lock:
            agents = [*self._agents.values(), *self._retired]
        for agent in agents:
            agent.stop()
        self.writer.stop()
        for thread in [*agents, self.writer]:
            thread.join(max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------ observing

    @property
    def writes(self) -> int:
        """OVSDB transactions that changed something, over all hosts since start."""
        with self._lock:
            agents = [*self._agents.values(), *self._retired]
        return sum(agent.writes for agent in agents)

    def reconcile_now(self, timeout: float = 30.0) -> bool:
        """Run one pass on every host and wait for them; False if one could not finish in
        `timeout` seconds (e.g. it is disconnected)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            agents = list(self._agents.values())
        tickets = [(agent, agent.request_pass()) for agent in agents]
        return all(
            agent.wait_pass(ticket, max(0.0, deadline - time.monotonic()))
            for agent, ticket in tickets
        )

    # ------------------------------------------------------------ the thread

    def _run(self) -> None:
        while not self._stop_event.is_set():
            self._wake.wait()
            self._wake.clear()
            latest = self._latest()
            if latest is None:
                continue
            if self._applied and latest[0] == self._applied[0] and latest[1] != self._applied[1]:
                # Only tunnels got numbered, so BFD goes on somewhere. A mesh coming up
                # numbers its tunnels in many small batches: waiting a moment turns BFD on
                # with one transaction per host instead of one per batch, and leaves
                # ovs-vswitchd to create the remaining tunnels first.
                self._stop_event.wait(BFD_SETTLE)
                latest = self._latest()
            if latest is not None and latest != self._applied:
                try:
                    self._apply(*latest)
                except Exception:  # must not end the thread: the next pass retries
                    log.exception("could not hand the hosts their desired state")

    def _latest(self) -> tuple[dict[int, HostView], frozenset] | None:
        """The hosts and the numbered tunnels (host id, peer id) of the latest snapshot.
        Tunnel status changes often and matters to nobody here: only ofports do."""
        with self._lock:
            snapshot = self._snapshot
        if snapshot is None:
            return None
        numbered = frozenset(
            (host_id, peer_id)
            for host_id, peers in snapshot.tunnels.items()
            for peer_id, tunnel in peers.items()
            if tunnel.ofport is not None
        )
        return dict(snapshot.hosts), numbered

    def _apply(self, hosts: dict[int, HostView], numbered: frozenset) -> None:
        desired = desired_switches(hosts, numbered, self._controller)
        with self._lock:
            for host_id in self._agents.keys() - hosts.keys():
                retired = self._agents.pop(host_id)
                retired.stop()
                self._retired.append(retired)
                log.info("%s: host deleted, agent stopped", retired.name)
            for host_id, switch in desired.items():
                target = hosts[host_id].ovsdb_target
                agent = self._agents.get(host_id)
                if agent is None:
                    agent = HostAgent(host_id, target, switch, self.writer.report, self._timeout)
                    self._agents[host_id] = agent
                    agent.start()
                else:
                    agent.update(target, switch)
        self._applied = (hosts, numbered)
