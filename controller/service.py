"""`weft controller`: the long-running service that wires the pieces together.

    change feed ──> Reconciler ──> Fleet ──> SwitchSync per switch ──> OpenFlow bundles
    (LISTEN/poll)   (StateStore,     ^
                     compiler)       └── WeftOpenFlowApp (os-ken): connects, replies
                        │
                        └── OvsdbManager (ovsdb/): br-int, controller and tunnels per host

Each piece runs on its own thread(s) and talks to the next through a narrow call; this module
only builds them in order and stops them on SIGTERM/SIGINT.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

from controller.audit import Difference, describe, summary
from controller.changes import start_feed
from controller.codec import Codec
from controller.config import ControllerConfig
from controller.fleet import Fleet
from controller.inspection import InspectionServer
from controller.joinclock import JoinClock
from controller.metrics import Metrics
from controller.multicast import MulticastSettings, Snooping
from controller.owners import Owners
from controller.reconciler import Reconciler
from controller.runner import OpenFlowSettings, start_openflow
from controller.state import StateStore
from controller.status import StatusWriter
from controller.switch import ApplyResult, SwitchSync
from models.db import make_engine
from ovsdb.desired import ControllerSpec
from ovsdb.manager import OvsdbManager

log = logging.getLogger(__name__)


class ControllerService:
    def __init__(self, config: ControllerConfig):
        self.config = config
        self.engine = engine = make_engine(config.database_url)
        self.stop_event = threading.Event()
        self.store = StateStore(engine)
        self.status = StatusWriter(engine, self.stop_event)
        self.reconciler = Reconciler(
            self.store, self._deliver, self.stop_event, resync_interval=config.resync_interval
        )
        self.fleet = Fleet(
            Codec(),
            host_for_datapath=self.store.host_for_datapath,
            request_hosts=self.reconciler.request_hosts,
            on_applied=self._applied,
            on_connection=self._connection,
            audit_interval=config.audit_interval,
            on_drift=self._drifted,
        )
        multicast = MulticastSettings(
            config.igmp_query_interval,
            config.igmp_query_response,
            config.igmp_robustness,
            config.igmp_port_group_limit,
            config.igmp_network_group_limit,
            config.igmp_port_backlog,
            config.igmp_queue_limit,
            config.igmp_batch_window,
        )
        self.snooping = Snooping(engine, self.store, self.fleet, multicast, self.stop_event)
        self.packet_in_handlers: list = [self.snooping.packet_in]
        self._openflow = OpenFlowSettings(*config.openflow_address)
        # The OVSDB manager gives every host's br-int this controller; without it the hosts'
        # OVS is set up by someone else.
        self.ovsdb = (
            OvsdbManager(engine, ControllerSpec(config.target), config.ovsdb_connect_timeout)
            if config.manage_ovsdb and config.target  # the config refuses one without the other
            else None
        )
        if self.ovsdb:
            self.reconciler.add_listener(self.ovsdb.on_pass)
        self.reconciler.add_listener(lambda snapshot, _changes: self.fleet.retain(snapshot.hosts))
        self.metrics = Metrics(self)
        self.reconciler.add_pass_listener(self._passed)
        # Snooping's batch sizes and join-to-installed latency (controller/joinclock.py).
        self.snooping.on_batch = self.metrics.igmp_batch_size.observe
        self.snooping.clock = JoinClock(self.metrics.igmp_join_seconds.observe)
        self.reconciler.add_start_listener(self.snooping.clock.pass_started)
        self.reconciler.add_listener(self.snooping.clock.pass_ended)

    # ------------------------------------------------------------ wiring callbacks

    def _deliver(self, host, config) -> None:
        self.fleet.deliver(host, config)

    def _applied(self, sync: SwitchSync, result: ApplyResult) -> None:
        log.info(
            "switch %s: +%d/-%d flows, +%d/-%d groups in %.1f ms%s",
            sync.name,
            result.flows_added,
            result.flows_deleted,
            result.groups_added,
            result.groups_deleted,
            result.seconds * 1000,
            " (after connect)" if result.initial else "",
        )
        self.status.switch_flows(sync.datapath_id, len(sync.installed_flows or ()))
        self.metrics.apply_seconds.observe(result.seconds)
        self.metrics.flow_mods.labels(sync.name).inc(result.flows_added + result.flows_deleted)

    def _drifted(self, sync: SwitchSync, difference: Difference) -> None:
        with self.store.lock:
            snapshot = self.store.snapshot
        host = next((h for h in snapshot.hosts.values() if h.datapath_id == sync.datapath_id),
                    None)
        records = describe(difference, Owners(snapshot), host.id if host else None)
        log.warning("switch %s drifted, repairing %d missing and %d extra: %s", sync.name,
                    difference.missing, difference.extra, summary(records),
                    extra={"host": sync.name, "differences": records})
        self.metrics.drift.labels(sync.name, "missing").inc(difference.missing)
        self.metrics.drift.labels(sync.name, "extra").inc(difference.extra)

    def _passed(self, seconds: float, failed: bool) -> None:
        self.metrics.reconcile_seconds.observe(seconds)
        if failed:
            self.metrics.errors.labels("reconcile").inc()

    def _connection(self, datapath_id: int, address: str, connected: bool) -> None:
        self.status.switch_connection(datapath_id, address, connected)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if (address := self.config.metrics_address) is not None:
            InspectionServer(self, *address).start()
        self.status.start()
        self.reconciler.start()
        self.reconciler.ready.wait()
        start_feed(self.engine, self.reconciler.submit, self.stop_event)
        self.snooping.start()
        start_openflow(self._openflow, self.fleet, self.packet_in_handlers)
        if self.ovsdb:
            self.ovsdb.start()
        log.info(
            "controller up: OpenFlow on %s:%d, %d hosts known",
            self._openflow.listen_host,
            self._openflow.listen_port,
            len(self.store.snapshot.hosts),
        )

    def stop(self) -> None:
        self.stop_event.set()
        if self.ovsdb:
            self.ovsdb.stop()
        self.status.join(timeout=5)


def run_forever(service: ControllerService) -> None:
    """Run until SIGTERM or SIGINT, then stop cleanly.

    Switches keep their flows when the controller goes (fail_mode=secure), so stopping only
    has to tidy up our own state. os-ken's threads cannot be joined (hub.kill is a no-op on
    the native hub), hence the hard exit once our own threads are done.
    """
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    service.start()
    stopping.wait()
    log.info("stopping")
    service.stop()
    logging.shutdown()
    os._exit(0)
