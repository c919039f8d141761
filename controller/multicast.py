"""IGMP snooping and querying: container joins and leaves become membership rows.

The pipeline sends every IGMP packet from a local port to the controller and nowhere else
(controller/pipeline.py), so multicast data is never seen here, only membership. For each
report the port is identified by (switch, in_port) and its MAC checked; a join upserts a
`snooped` member row that expires after the membership interval unless refreshed, a leave
deletes it at once (each port is one container, so the kernel's leave means nobody is left
behind that port). Rows reach the flows the usual way: the database notifies the
reconciler, which recompiles the network's replication groups.

Under load and abuse: reports that arrive together are one batch, one transaction and so
one reconcile pass; a port that floods has its own reports shed, not its neighbours'; a
report that would change nothing (a refresh of a membership written recently, a leave of
a group the port is not in) costs no transaction; a port holds at most
`port_group_limit` snooped groups and a network `network_group_limit`. Refusals are
counted (`dropped`, the queue's `shed`) and logged once per port and reason per minute.

Querier: where no container acts as querier, Weft sends IGMPv2 general queries every
`query_interval` to the local ports of each network on each connected host, so members keep
reporting and silent departures age out. A container's own query is relayed to the other
ports of its network (on every host) and silences Weft's querier for that network for the
other-querier-present interval (RFC 2236 timers).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controller import codec as ofcodec
from controller import igmp, snooped
from controller.channel import Channel, ChannelClosed
from controller.fleet import Fleet
from controller.flows import OFPP_CONTROLLER, Output
from controller.joinclock import JoinClock
from controller.memberships import DUPLICATE, Memberships
from controller.reportqueue import ReportQueue
from controller.snooped import Membership
from controller.state import StateStore
from models.snapshot import NetworkView, PortView
from models.types import utcnow

log = logging.getLogger(__name__)

QUERIER_MAC = bytes.fromhex("025746000001")  # locally administered, 'WF'
UNSPECIFIED = ipaddress.IPv4Address("0.0.0.0")
BATCH_LIMIT = 4096  # reports per batch (one transaction)
REFUSAL_LOG_INTERVAL = 60.0
WHY = {
    "rate": "the port's backlog was full",
    "port-cap": "the port is at its limit of snooped groups",
    "network-cap": "the network is at its limit of snooped groups",
    "foreign-mac": "the source MAC is not the port's",
}


@dataclass(frozen=True)
class MulticastSettings:
    query_interval: float = 125.0
    query_response: float = 10.0
    robustness: int = 2
    port_group_limit: int = 256
    network_group_limit: int = 4096
    port_backlog: int = 64
    queue_limit: int = 8192
    batch_window: float = 0.01

    @property
    def membership_timeout(self) -> float:
        return self.robustness * self.query_interval + self.query_response

    @property
    def other_querier_timeout(self) -> float:
        return self.robustness * self.query_interval + self.query_response / 2


@dataclass(frozen=True, slots=True)
class Report:
    """One IGMP packet-in, as queued: where it came from, its events, when it arrived."""

    datapath_id: int
    in_port: int
    frame: bytes
    events: list[igmp.IgmpEvent]
    arrived: float


class Snooping(threading.Thread):
    """The `igmp` thread: snoops reports in batches, expires members, sends queries.

    Packet-ins (os-ken's threads) only parse and queue (controller/reportqueue.py: bounded,
    per port). Each turn takes whatever is ready (after `batch_window`), judges it against
    the in-memory mirror (controller/memberships.py: duplicates and caps cost nothing) and
    writes what is left in one transaction (controller/snooped.py).
    """

    def __init__(
        self,
        engine: Engine,
        store: StateStore,
        fleet: Fleet,
        settings: MulticastSettings,
        stop: threading.Event,
    ) -> None:
        super().__init__(name="igmp", daemon=True)
        self._engine = engine
        self._store = store
        self._fleet = fleet
        self.settings = settings
        self._stop_event = stop
        self.queue = ReportQueue(settings.port_backlog, settings.queue_limit)
        self.memberships = Memberships(
            settings.port_group_limit,
            settings.network_group_limit,
            refresh_after=settings.query_interval / 2,
        )
        # reason -> reports (the keys never change, so readers may copy it any time);
        # "rate" is the queue's `shed`
        self.dropped = dict.fromkeys(("cap", "duplicate", "foreign-mac"), 0)
        self._refused: Counter = Counter()  # (port name, reason) -> since last logged
        self._external_querier: dict[int, float] = {}  # network id -> last query seen
        self.on_batch: Callable[[int], None] = lambda size: None
        self.clock: JoinClock | None = None

    # ------------------------------------------------------------ from the os-ken thread

    def packet_in(self, channel: Channel, msg) -> None:
        port = (channel.datapath_id, msg.match["in_port"])
        if self.queue.shed_if_full(port):
            return  # a flooding port's: not even parsed
        frame = bytes(msg.data)
        events = igmp.parse(frame)
        if events:
            self.queue.put(port, Report(*port, frame, events, time.monotonic()))

    # ------------------------------------------------------------ the thread

    def run(self) -> None:
        next_query = time.monotonic() + 1.0  # first query soon after start
        next_expiry = time.monotonic()
        next_log = time.monotonic() + REFUSAL_LOG_INTERVAL
        while not self._stop_event.is_set():
            timeout = max(0.0, min(next_expiry, next_query) - time.monotonic())
            reports = self.queue.take(BATCH_LIMIT, min(timeout, 0.5), self.settings.batch_window)
            try:
                if reports:
                    self._handle(reports)
            except Exception:
                log.exception("could not handle %d IGMP reports", len(reports))
                next_expiry = 0.0  # re-read the mirror: the batch may be half-applied in it
            now = time.monotonic()
            try:
                if now >= next_expiry:
                    next_expiry = now + 1.0
                    self._expire()
                if now >= next_query:
                    next_query = now + self.settings.query_interval
                    self._query_all()
                if now >= next_log:
                    next_log = now + REFUSAL_LOG_INTERVAL
                    self._log_refusals()
            except Exception:
                log.exception("IGMP housekeeping failed; retrying")

    def _handle(self, reports: list[Report]) -> None:
        started = time.monotonic()
        changes: dict[tuple[int, ipaddress.IPv4Address], tuple[str, Membership, float]] = {}
        queried: set[int] = set()
        ports: dict[tuple[int, int], tuple[NetworkView, PortView] | None] = {}
        for report in reports:
            key = (report.datapath_id, report.in_port)
            if key not in ports:
                ports[key] = self._port_at(*key)
            found = ports[key]
            if found is None:
                continue
            network, port = found
            if report.events[0].source_mac.hex() != port.mac.replace(":", ""):
                self.dropped["foreign-mac"] += 1
                self._refuse(port.name, "foreign-mac")
                continue
            for event in report.events:
                if event.kind == "query":
                    if network.id not in queried:  # one relay per network per batch
                        queried.add(network.id)
                        self._external_querier[network.id] = time.monotonic()
                        self._distribute(network, report.frame, exclude=port)
                    continue
                group = event.group
                assert group is not None  # joins and leaves always name it (igmp._routable)
                member = Membership(network.id, port.id, group)
                if self._judge(event.kind, member, port.name, report.arrived):
                    changes[port.id, group] = (event.kind, member, report.arrived)
        self.on_batch(sum(len(r.events) for r in reports))
        if changes:
            self._write(list(changes.values()), started)

    def _judge(self, kind: str, member: Membership, port: str, now: float) -> bool:
        """Whether the event changes anything (and is now in the mirror)."""
        if kind == "join":
            reason = self.memberships.join(member.network_id, member.port_id, member.group, now)
        else:
            reason = self.memberships.leave(member.network_id, member.port_id, member.group)
        if reason is None:
            return True
        self.dropped["duplicate" if reason == DUPLICATE else "cap"] += 1
        if reason != DUPLICATE:
            self._refuse(port, reason)
        return False

    def _write(self, changes: list[tuple[str, Membership, float]], started: float) -> None:
        joins = [m for kind, m, _ in changes if kind == "join"]
        leaves = [m for kind, m, _ in changes if kind == "leave"]
        expires = utcnow() + dt.timedelta(seconds=self.settings.membership_timeout)
        with Session(self._engine) as session, session.begin():
            created = snooped.write(session, joins, leaves, expires)
        if self.clock is not None:
            self.clock.committed(
                {m.network_id for _, m, _ in changes},
                [arrived for kind, _, arrived in changes if kind == "join"],
            )
        log.info(
            "IGMP: %d new memberships, %d refreshed, %d left in %.1f ms",
            created,
            len(joins) - created,
            len(leaves),
            (time.monotonic() - started) * 1000,
        )

    def _expire(self) -> None:
        """Delete expired members, then make the mirror the database's snooped members."""
        timeout = self.settings.membership_timeout
        now, clock = utcnow(), time.monotonic()
        with Session(self._engine) as session, session.begin():
            expired = snooped.expire(session, now)
            rows = [
                (network, port, group, clock - (timeout - (expires - now).total_seconds()))
                for network, port, group, expires in snooped.load(session)
            ]
        self.memberships.replace(rows)
        if expired:
            log.info("IGMP: %d memberships expired", expired)

    def _port_at(self, datapath_id: int, ofport: int) -> tuple[NetworkView, PortView] | None:
        host = self._store.host_for_datapath(datapath_id)
        if host is None:
            return None
        with self._store.lock:
            found = self._store.topology.port_at(host.id, ofport)
            if found is None:
                return None
            network = self._store.snapshot.networks[found[0]]
        return network, next(p for p in network.ports if p.id == found[1])

    # ------------------------------------------------------------ refusals, logged sparingly

    def _refuse(self, port: str, reason: str) -> None:
        self._refused[port, reason] += 1
        if self._refused[port, reason] == 1:
            self._log_refusal(port, reason, 1)

    def _log_refusals(self) -> None:
        """Once per interval, per port and reason: what was refused or shed since."""
        for (datapath_id, in_port), shed in self.queue.collect_shed().items():
            found = self._port_at(datapath_id, in_port)
            name = found[1].name if found else f"{datapath_id:#x}/{in_port}"
            self._log_refusal(name, "rate", shed)
        for (port, reason), count in self._refused.items():
            if count > 1:
                self._log_refusal(port, reason, count - 1)
        self._refused.clear()

    @staticmethod
    def _log_refusal(port: str, reason: str, count: int) -> None:
        log.warning("IGMP from port %s: %d reports refused (%s)", port, count, WHY[reason])

    # ------------------------------------------------------------ querier

    def _query_all(self) -> None:
        with self._store.lock:
            networks = list(self._store.snapshot.networks.values())
        # Sent from 0.0.0.0: Weft is not a router on the network and owns no address there.
        frame = igmp.general_query(QUERIER_MAC, UNSPECIFIED, self.settings.query_response)
        for network in networks:
            seen = self._external_querier.get(network.id)
            if seen is not None and time.monotonic() - seen < self.settings.other_querier_timeout:
                continue
            self._distribute(network, frame)

    def _distribute(self, network: NetworkView, frame: bytes, exclude: PortView | None = None):
        """Send `frame` out of every bound port of `network` (but `exclude`), on every host."""
        with self._store.lock:
            hosts = self._store.snapshot.hosts
        by_host: dict[int, list[int]] = {}
        for port in network.bound_ports():
            if port != exclude:  # bound: host_id and ofport are set
                by_host.setdefault(cast(int, port.host_id), []).append(cast(int, port.ofport))
        for host_id, ofports in by_host.items():
            host = hosts.get(host_id)
            channel = self._fleet.channel(host.datapath_id) if host else None
            if channel is None:
                continue
            xid = channel.next_xid()
            actions = tuple(Output(ofport) for ofport in sorted(ofports))
            try:
                channel.send(ofcodec.packet_out(xid, OFPP_CONTROLLER, actions, frame))
            except ChannelClosed:
                continue
