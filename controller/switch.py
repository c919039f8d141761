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
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from controller import codec as ofcodec
from controller.channel import Channel, ChannelClosed, SwitchError
from controller.compiler import SwitchConfig
from controller.pipeline import COOKIE_MARK_MASK, GROUP_ID_MARK, WEFT_COOKIE

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


class SwitchSync:
    def __init__(
        self,
        datapath_id: int,
        name: str,
        codec: ofcodec.Codec,
        on_applied: Callable[[SwitchSync, ApplyResult], None] | None = None,
    ) -> None:
        self.datapath_id = datapath_id
        self.name = name
        self._codec = codec
        self._on_applied = on_applied
        self._cond = threading.Condition()
        self._desired: SwitchConfig | None = None
        self._channel: Channel | None = None
        self.installed_flows: set[int] | None = None
        self.installed_groups: set[int] | None = None
        self.errors = 0

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

    # ------------------------------------------------------------ the worker

    def _work(self, channel: Channel) -> None:
        """Apply each new desired config to `channel` until it closes or is replaced."""
        applied: SwitchConfig | None = None
        initial = True
        while True:
            with self._cond:
                while self._serving(channel) and (
                    self._desired is None or self._desired is applied
                ):
                    self._cond.wait()
                if not self._serving(channel):
                    return
                desired = self._desired
            try:
                if self.installed_flows is None:
                    self._read_installed(channel)
                result = self._apply(channel, desired, initial)
            except ChannelClosed:
                return
            except (SwitchError, TimeoutError) as error:
                self.errors += 1
                log.error("switch %s: apply failed (%s); re-reading its tables", self.name, error)
                self.installed_flows = self.installed_groups = None
                channel.closed.wait(1.0)
                continue
            applied, initial = desired, False
            if result and self._on_applied:
                self._on_applied(self, result)

    def _read_installed(self, channel: Channel) -> None:
        xid = channel.next_xid()
        replies = channel.request(
            xid, ofcodec.flow_stats_request(xid, WEFT_COOKIE, COOKIE_MARK_MASK), REPLY_TIMEOUT
        )
        flows = {stat.cookie for reply in replies for stat in reply.body}
        xid = channel.next_xid()
        replies = channel.request(xid, ofcodec.group_desc_request(xid), REPLY_TIMEOUT)
        groups = {
            desc.group_id
            for reply in replies
            for desc in reply.body
            if desc.group_id & GROUP_ID_MARK
        }
        self.installed_flows, self.installed_groups = flows, groups
        log.info("switch %s holds %d Weft flows, %d groups", self.name, len(flows), len(groups))

    def _apply(self, channel: Channel, config: SwitchConfig, initial: bool) -> ApplyResult | None:
        started = time.monotonic()
        codec = self._codec
        desired = {codec.cookie(flow): flow for flow in config.flows}
        if len(desired) != len(config.flows):
            raise SwitchError(0, -1, -1, b"two desired flows share a cookie")
        flows_add = [flow for cookie, flow in desired.items() if cookie not in self.installed_flows]
        flows_del = self.installed_flows - desired.keys()
        groups_add = [g for gid, g in config.groups.items() if gid not in self.installed_groups]
        groups_del = self.installed_groups - config.groups.keys()
        if not (flows_add or flows_del or groups_add or groups_del):
            return None
        xid = channel.next_xid()
        messages = [
            *(codec.group_add(group, xid) for group in groups_add),
            *(ofcodec.flow_delete(cookie, xid) for cookie in flows_del),
            *(codec.flow_add(flow, xid) for flow in flows_add),
            *(ofcodec.group_delete(gid, xid) for gid in groups_del),
        ]
        self._send_bundle(channel, xid, messages)
        self.installed_flows = set(desired)
        self.installed_groups = set(config.groups)
        return ApplyResult(
            len(flows_add),
            len(flows_del),
            len(groups_add),
            len(groups_del),
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
