"""Keeping one switch equal to its desired configuration: diff, never flush.

On every (re)connect a SwitchSync first reads what the switch holds (Weft's flows by cookie,
Weft's groups by id), then sends only the difference, atomically, in one OpenFlow bundle.
After that it keeps the set it last committed and applies each new desired configuration as a
diff against it. A controller restart therefore sends nothing to a switch that is already
right, and traffic never sees a half-applied change.

Bundle order: new groups, flow deletions, flow additions, group deletions, so no flow ever
points at a missing group. A bundle is committed only if the switch accepted every message
(checked with a barrier before COMMIT); otherwise it is discarded and the switch keeps its
previous state.

Audit: every `audit_interval` seconds, once the latest configuration is applied, the switch's
tables are read back and compared with it (controller/audit.py); any drift (a flow or group
someone deleted, added or changed) is reported to `on_drift` and repaired in one bundle. A
switch that is right gets no message but the two reads. `inspect()` runs the same comparison
on demand for `weft audit`, without repairing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from controller import audit
from controller import codec as ofcodec
from controller.channel import Channel, ChannelClosed, SwitchError
from controller.compiler import SwitchConfig
from controller.pipeline import GROUP_ID_MARK

log = logging.getLogger(__name__)

REPLY_TIMEOUT = 30.0
CHUNK_BYTES = 256 * 1024  # messages are sent in large writes, not one syscall each


@dataclass(frozen=True)
class ApplyResult:
    flows_added: int
    flows_deleted: int
    groups_added: int
    groups_deleted: int
    seconds: float
    initial: bool  # first apply after a (re)connect


@dataclass(frozen=True)
class Inspection:
    """What an on-demand audit found: the tables read and their difference from the
    configuration last applied."""

    config: SwitchConfig
    tables: audit.Tables
    difference: audit.Difference


class SwitchSync:
    """Keeps one switch equal to its desired configuration; owns a worker thread per
    connection (`sync-<host>`) that reads the switch's tables, applies bundles and audits."""

    def __init__(
        self,
        datapath_id: int,
        name: str,
        codec: ofcodec.Codec,
        on_applied: Callable[[SwitchSync, ApplyResult], None] | None = None,
        audit_interval: float = 0.0,
        on_drift: Callable[[SwitchSync, audit.Difference], None] | None = None,
    ) -> None:
        self.datapath_id = datapath_id
        self.name = name
        self._codec = codec
        self._on_applied = on_applied
        self._audit_interval = audit_interval
        self._on_drift = on_drift
        self._cond = threading.Condition()
        self._desired: SwitchConfig | None = None
        self._channel: Channel | None = None
        self._inspections: list[Future] = []
        self._fingerprints: dict[int, int] = {}  # of entries an audit found right
        self.installed_flows: set[int] | None = None
        self.installed_groups: set[int] | None = None
        self.errors = 0
        self.audits = 0

    # ------------------------------------------------------------ inputs

    def set_desired(self, config: SwitchConfig) -> None:
        with self._cond:
            self._desired = config
            self._cond.notify_all()

    def attach(self, channel: Channel) -> None:
        """A new connection: forget what we believed installed and start a worker for it."""
        with self._cond:
            if self._channel is not None:
                self._channel.close()
            self._channel = channel
            self.installed_flows = self.installed_groups = None
            self._fingerprints = {}
            self._cond.notify_all()
        threading.Thread(
            target=self._work, args=(channel,), name=f"sync-{self.name}", daemon=True
        ).start()

    def detach(self, channel: Channel) -> None:
        channel.close()
        with self._cond:
            if self._channel is channel:
                self._channel = None
            self._cond.notify_all()

    def forget(self) -> None:
        """Stop working on this switch without touching its connection (the host is gone)."""
        with self._cond:
            self._channel = None
            self._desired = None
            self._cond.notify_all()

    def _serving(self, channel: Channel) -> bool:
        return self._channel is channel and not channel.closed.is_set()

    @property
    def connected(self) -> bool:
        return self._channel is not None

    def inspect(self, timeout: float = REPLY_TIMEOUT) -> Inspection:
        """Read the switch's tables and compare them with the configuration, once it is
        applied (an on-demand audit; nothing is repaired). Raises ChannelClosed if the
        switch is not connected, TimeoutError if it does not answer in time."""
        future: Future = Future()
        with self._cond:
            if self._channel is None:
                raise ChannelClosed(f"switch {self.name} is not connected")
            self._inspections.append(future)
            self._cond.notify_all()
        return future.result(timeout)

    # ------------------------------------------------------------ the worker

    def _work(self, channel: Channel) -> None:
        """Apply each new desired config to `channel`, and audit it, until it closes or is
        replaced."""
        applied: SwitchConfig | None = None
        initial = True
        audit_at = time.monotonic() + self._audit_interval
        while True:
            with self._cond:
                while self._serving(channel) and not self._has_work(applied, audit_at):
                    self._cond.wait(self._until(audit_at))
                if not self._serving(channel):
                    if self._channel is None:  # else the next connection's worker answers
                        self._fail_inspections(ChannelClosed(f"switch {self.name} is gone"))
                    return
                desired = self._desired
                assert desired is not None  # _has_work waits for a configuration
                due = self._audit_interval > 0 and time.monotonic() >= audit_at
                read = self.installed_flows is None or desired is applied
                inspections: list[Future] = []
                if read:
                    inspections, self._inspections = self._inspections, []
            try:
                if read:
                    tables = self._read_tables(channel)
                    # On connect only cookies are compared, to be fast; audits check more.
                    known = self._fingerprints if desired is applied else None
                    difference = audit.compare(desired, tables, self._codec, known)
                    if difference.fingerprints is not None:
                        self._fingerprints = dict(difference.fingerprints)
                    for future in inspections:
                        future.set_result(Inspection(desired, tables, difference))
                    inspections = []
                    if desired is applied:
                        if not due:
                            continue  # an inspection only: report, do not repair
                        audit_at = time.monotonic() + self._audit_interval
                        self.audits += 1
                        self._report_drift(difference)
                else:  # not read: both were read before and kept up to date since
                    assert self.installed_flows is not None and self.installed_groups is not None
                    difference = audit.against_belief(
                        desired, self.installed_flows, self.installed_groups, self._codec
                    )
                result = self._apply(channel, desired, difference, initial)
            except ChannelClosed as error:
                self._fail_inspections(error, inspections)
                return
            except (SwitchError, TimeoutError) as error:
                self._fail_inspections(error, inspections)
                self.errors += 1
                log.error("switch %s: apply failed (%s); re-reading its tables", self.name, error)
                self.installed_flows = self.installed_groups = None
                channel.closed.wait(1.0)
                continue
            applied, initial = desired, False
            if result and self._on_applied:
                self._on_applied(self, result)

    def _until(self, audit_at: float) -> float | None:
        """How long the worker may sleep: until the next audit, if one is coming."""
        if self._audit_interval <= 0 or self._desired is None:
            return None
        return max(audit_at - time.monotonic(), 0.01)

    def _has_work(self, applied: SwitchConfig | None, audit_at: float) -> bool:
        if self._desired is None:
            return False
        if self._desired is not applied or self.installed_flows is None or self._inspections:
            return True
        return self._audit_interval > 0 and time.monotonic() >= audit_at

    def _fail_inspections(self, error: Exception, futures: list[Future] | None = None) -> None:
        if futures is None:
            with self._cond:
                futures, self._inspections = self._inspections, []
        for future in futures:
            future.set_exception(error)

    def _report_drift(self, difference: audit.Difference) -> None:
        if difference and self._on_drift:
            self._on_drift(self, difference)

    def _read_tables(self, channel: Channel) -> audit.Tables:
        """Every flow (Weft's or not: cookie mask 0) and every group the switch holds."""
        xid = channel.next_xid()
        replies = channel.request(xid, ofcodec.flow_stats_request(xid, 0, 0), REPLY_TIMEOUT)
        flows = tuple(entry for reply in replies for entry in reply.body)
        xid = channel.next_xid()
        replies = channel.request(xid, ofcodec.group_desc_request(xid), REPLY_TIMEOUT)
        groups = tuple(entry for reply in replies for entry in reply.body)
        if self.installed_flows is None:
            weft = sum(1 for e in flows if audit.is_weft(e.cookie))
            log.info("switch %s holds %d Weft flows, %d Weft groups, %d other flows", self.name,
                     weft, sum(1 for e in groups if e.group_id & GROUP_ID_MARK),
                     len(flows) - weft)
        return audit.Tables(flows, groups)

    def _apply(
        self,
        channel: Channel,
        config: SwitchConfig,
        difference: audit.Difference,
        initial: bool,
    ) -> ApplyResult | None:
        started = time.monotonic()
        desired = audit.desired_cookies(config, self._codec)
        if len(desired) != len(config.flows):
            raise SwitchError(0, -1, -1, b"two desired flows share a cookie")
        if difference:
            xid = channel.next_xid()
            self._send_bundle(channel, xid, audit.repair_messages(difference, self._codec, xid))
        self.installed_flows = set(desired)
        self.installed_groups = set(config.groups)
        if not difference:
            return None
        changed = len(difference.changed_flows)  # deleted, then added again
        return ApplyResult(
            len(difference.missing_flows) + changed,
            len(difference.extra_flows) + len(difference.rogue_flows) + changed,
            len(difference.missing_groups) + len(difference.changed_groups),
            len(difference.extra_groups),
            time.monotonic() - started,
            initial,
        )

    def _send_bundle(self, channel: Channel, xid: int, messages: list[bytes]) -> None:
        """OPEN, ADD each message (all with `xid`), BARRIER, then COMMIT or DISCARD."""
        bundle_id = xid
        open_xid, barrier_xid, end_xid = channel.next_xid(), channel.next_xid(), channel.next_xid()
        opened = channel.expect(open_xid)
        channel.expect(xid)  # collects an error if the switch refuses any message
        barrier = channel.expect(barrier_xid)
        channel.send(ofcodec.bundle_open(open_xid, bundle_id))
        chunk: list[bytes] = []
        size = 0
        for message in messages:
            added = ofcodec.bundle_add(bundle_id, message)
            chunk.append(added)
            size += len(added)
            if size >= CHUNK_BYTES:
                channel.send(b"".join(chunk))
                chunk, size = [], 0
        chunk.append(ofcodec.barrier_request(barrier_xid))
        channel.send(b"".join(chunk))
        channel.wait(barrier_xid, barrier, REPLY_TIMEOUT)
        channel.wait(open_xid, opened, REPLY_TIMEOUT)
        refused = channel.forget(xid)
        if refused is not None:
            channel.send(ofcodec.bundle_discard(end_xid, bundle_id))
            raise refused
        channel.request(end_xid, ofcodec.bundle_commit(end_xid, bundle_id), REPLY_TIMEOUT)
