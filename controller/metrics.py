"""Prometheus metrics of the controller, served on `/metrics` (controller/inspection.py).

Gauges are read from the live objects at scrape time (a collector), so no component keeps
counters for the sake of metrics; events (reconcile passes, bundle applies, errors) are
recorded by the service's callbacks as they happen. Names:

    weft_hosts                       registered hosts
    weft_hosts_connected             registered hosts whose switch is connected
    weft_switch_connected{host}      1 if that host's switch is connected
    weft_flows_installed{host}       Weft flows on that host's switch (as last committed)
    weft_groups_installed{host}      Weft groups on that host's switch
    weft_reconcile_seconds           histogram of reconcile pass durations
    weft_apply_seconds               histogram of bundle apply durations (all switches)
    weft_flow_mods_total{host}       flow adds+deletes sent to that switch
    weft_errors_total{kind}          failed reconcile passes
    weft_apply_errors_total{host}    bundles a switch refused (then its tables are re-read)
    weft_audits_total{host}          periodic audits of that switch (controller/switch.py)
    weft_flow_drift_total{host,kind} flows and groups an audit found missing (or changed) or
                                     extra on that switch, and repaired (controller/audit.py)
    weft_ovsdb_writes_total          OVSDB transactions that changed a host (OVSDB manager)
    weft_igmp_queue_depth            IGMP reports waiting for the snooping thread
    weft_igmp_memberships            snooped memberships (the snooping thread's mirror)
    weft_igmp_reports_dropped_total{reason}  rate (the port's backlog was full), cap (the
                                     port's or network's group limit), duplicate (would
                                     change nothing), foreign-mac
    weft_igmp_batch_size             histogram of IGMP events per snooping batch
    weft_igmp_join_seconds           histogram of a join's packet-in to the end of the
                                     reconcile pass that compiled it (then the apply)
    process_*                        the controller's CPU seconds, resident memory, ...
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 4096)


class Metrics:
    def __init__(self, service) -> None:
        self.registry = CollectorRegistry()
        self._service = service
        self.reconcile_seconds = Histogram(
            "weft_reconcile_seconds",
            "Reconcile pass duration",
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.apply_seconds = Histogram(
            "weft_apply_seconds",
            "Switch bundle apply duration",
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.flow_mods = Counter(
            "weft_flow_mods", "Flow adds and deletes sent", ["host"], registry=self.registry
        )
        self.errors = Counter("weft_errors", "Failures", ["kind"], registry=self.registry)
        self.drift = Counter(
            "weft_flow_drift",
            "Flows and groups an audit found missing or extra, and repaired",
            ["host", "kind"],
            registry=self.registry,
        )
        self.igmp_batch_size = Histogram(
            "weft_igmp_batch_size",
            "IGMP events per snooping batch",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.igmp_join_seconds = Histogram(
            "weft_igmp_join_seconds",
            "IGMP join packet-in to the end of the reconcile pass that compiled it",
            buckets=BUCKETS,
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)
        self.registry.register(self)

    def collect(self):
        service = self._service
        with service.store.lock:
            hosts = list(service.store.snapshot.hosts.values())
        connected = GaugeMetricFamily(
            "weft_switch_connected", "Switch of the host is connected", labels=["host"]
        )
        flows = GaugeMetricFamily("weft_flows_installed", "Weft flows installed", labels=["host"])
        groups = GaugeMetricFamily(
            "weft_groups_installed", "Weft groups installed", labels=["host"]
        )
        errors = CounterMetricFamily("weft_apply_errors", "Refused bundles", labels=["host"])
        audits = CounterMetricFamily("weft_audits", "Periodic audits", labels=["host"])
        up = 0
        for host in hosts:
            sync = service.fleet.syncs.get(host.datapath_id)
            is_up = bool(sync and sync.connected)
            up += is_up
            connected.add_metric([host.name], 1 if is_up else 0)
            flows.add_metric([host.name], len(sync.installed_flows or ()) if sync else 0)
            groups.add_metric([host.name], len(sync.installed_groups or ()) if sync else 0)
            errors.add_metric([host.name], sync.errors if sync else 0)
            audits.add_metric([host.name], sync.audits if sync else 0)
        yield GaugeMetricFamily("weft_hosts", "Registered hosts", value=len(hosts))
        yield GaugeMetricFamily(
            "weft_hosts_connected", "Hosts with their switch connected", value=up
        )
        yield connected
        yield flows
        yield groups
        yield errors
        yield audits
        yield from _snooping(service.snooping)
        if service.ovsdb is not None:
            yield CounterMetricFamily(
                "weft_ovsdb_writes",
                "OVSDB transactions that changed a host",
                value=service.ovsdb.writes,
            )


def _snooping(snooping):
    yield GaugeMetricFamily(
        "weft_igmp_queue_depth", "IGMP reports waiting", value=snooping.queue.depth
    )
    yield GaugeMetricFamily(
        "weft_igmp_memberships", "Snooped memberships", value=len(snooping.memberships)
    )
    dropped = CounterMetricFamily(
        "weft_igmp_reports_dropped", "IGMP reports dropped", labels=["reason"]
    )
    for reason, count in {"rate": snooping.queue.shed, **snooping.dropped}.items():
        dropped.add_metric([reason], count)
    yield dropped
