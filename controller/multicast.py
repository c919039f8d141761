"""IGMP snooping and querying: container joins and leaves become membership rows.

The pipeline sends every IGMP packet from a local port to the controller and nowhere else
(controller/pipeline.py), so multicast data is never seen here, only membership. For each
report the port is identified by (switch, in_port) and its MAC checked; a join upserts a
`snooped` member row that expires after the membership interval unless refreshed, a leave
deletes it at once (each port is one container, so the kernel's leave means nobody is left
behind that port). Rows reach the flows the usual way: the database notifies the
reconciler, which recompiles the network's replication groups.

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
import queue
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from controller import codec as ofcodec
from controller import igmp
from controller.channel import Channel, ChannelClosed
from controller.fleet import Fleet
from controller.flows import OFPP_CONTROLLER, Output
from controller.state import StateStore
from models import tables as t
from models.snapshot import NetworkView, PortView
from models.types import utcnow

log = logging.getLogger(__name__)

QUERIER_MAC = bytes.fromhex("025746000001")  # locally administered, 'WF'
UNSPECIFIED = ipaddress.IPv4Address("0.0.0.0")


@dataclass(frozen=True)
class MulticastSettings:
    query_interval: float = 125.0
    query_response: float = 10.0
    robustness: int = 2

    @property
    def membership_timeout(self) -> float:
        return self.robustness * self.query_interval + self.query_response

    @property
    def other_querier_timeout(self) -> float:
        return self.robustness * self.query_interval + self.query_response / 2


class Snooping(threading.Thread):
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
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._external_querier: dict[int, float] = {}  # network id -> last query seen

    # ------------------------------------------------------------ from the os-ken thread

    def packet_in(self, channel: Channel, msg) -> None:
        events = igmp.parse(bytes(msg.data))
        if events:
            self._queue.put((channel.datapath_id, msg.match["in_port"], bytes(msg.data), events))

    # ------------------------------------------------------------ the thread

    def run(self) -> None:
        next_query = time.monotonic() + 1.0  # first query soon after start
        next_expiry = time.monotonic() + 1.0
        while not self._stop_event.is_set():
            try:
                item = self._queue.get(timeout=0.5)
                self._handle(*item)
            except queue.Empty:
                pass
            except Exception:
                log.exception("could not handle an IGMP packet")
            now = time.monotonic()
            try:
                if now >= next_expiry:
                    next_expiry = now + 1.0
                    self._expire()
                if now >= next_query:
                    next_query = now + self.settings.query_interval
                    self._query_all()
            except Exception:
                log.exception("IGMP housekeeping failed; retrying")

    def _handle(self, datapath_id: int, in_port: int, frame: bytes, events) -> None:
        found = self._port_at(datapath_id, in_port)
        if found is None:
            return
        network, port = found
        source_mac = events[0].source_mac  # one frame: the same for all its events
        if source_mac.hex() != port.mac.replace(":", ""):
            log.warning(
                "IGMP from port %s with foreign MAC %s ignored", port.name, source_mac.hex(":")
            )
            return
        for event in events:
            if event.kind == "query":
                self._external_querier[network.id] = time.monotonic()
                self._distribute(network, frame, exclude=port)
            elif event.kind == "join":
                self._join(network, port, event.group)
            else:
                self._leave(network, port, event.group)

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

    # ------------------------------------------------------------ membership rows

    def _join(self, network: NetworkView, port: PortView, group: ipaddress.IPv4Address) -> None:
        expires = utcnow() + dt.timedelta(seconds=self.settings.membership_timeout)
        with Session(self._engine) as session, session.begin():
            group_id = _group_id(session, network, group)
            if group_id is None:
                row = t.MulticastGroup(network_id=network.id, address=group, origin="snooped")
                session.add(row)
                session.flush()
                group_id = row.id
            member = session.get(t.GroupMember, (group_id, port.id, "snooped"))
            if member is None:
                session.add(
                    t.GroupMember(
                        group_id=group_id,
                        port_id=port.id,
                        origin="snooped",
                        network_id=network.id,
                        expires_at=expires,
                    )
                )
                log.info("port %s joined %s in network %s", port.name, group, network.name)
            else:
                member.expires_at = expires

    def _leave(self, network: NetworkView, port: PortView, group: ipaddress.IPv4Address) -> None:
        with Session(self._engine) as session, session.begin():
            group_id = _group_id(session, network, group)
            if group_id is None:
                return
            deleted = session.execute(
                delete(t.GroupMember).where(
                    t.GroupMember.group_id == group_id,
                    t.GroupMember.port_id == port.id,
                    t.GroupMember.origin == "snooped",
                )
            ).rowcount
            if deleted:
                log.info("port %s left %s in network %s", port.name, group, network.name)
            _drop_empty_snooped_groups(session)

    def _expire(self) -> None:
        with Session(self._engine) as session, session.begin():
            session.execute(
                delete(t.GroupMember).where(
                    t.GroupMember.origin == "snooped", t.GroupMember.expires_at < utcnow()
                )
            )
            _drop_empty_snooped_groups(session)

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
            if port != exclude:
                by_host.setdefault(port.host_id, []).append(port.ofport)
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


def _group_id(session: Session, network: NetworkView, group) -> int | None:
    return session.scalar(
        select(t.MulticastGroup.id).where(
            t.MulticastGroup.network_id == network.id, t.MulticastGroup.address == group
        )
    )


def _drop_empty_snooped_groups(session: Session) -> None:
    """Groups that snooping created go away with their last member; admins' groups stay."""
    has_members = select(t.GroupMember.group_id).where(
        t.GroupMember.group_id == t.MulticastGroup.id
    )
    session.execute(
        delete(t.MulticastGroup).where(t.MulticastGroup.origin == "snooped", ~has_members.exists())
    )
