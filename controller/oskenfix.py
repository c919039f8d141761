"""Two adjustments to os-ken 4.x, made once per process by `install()` (controller/runner.py).

Disconnects. With the native (threaded) hub, os-ken never emits
EventOFPStateChange(DEAD_DISPATCHER) when a switch disconnects, and two threads leak per
disconnect (docs/architecture.md, "Threads and the os-ken hub"): after the receive loop
ends, `Datapath.serve()` joins its send thread, which sits forever on an empty queue
(`hub.kill` is a no-op on threads), so the datapath is never closed. We wrap the receive
loop: when it ends, the datapath is marked dead (which emits the event) and the send thread
is woken with a close request, so `serve()` returns and both threads exit. Eventlet's hub
(which kills the send thread itself) behaves the same with the wrapper: marking dead twice
is a no-op.

Flow statistics and group descriptions. The controller reads a switch's flows on every
connect and every audit (SwitchSync), mostly for their cookies, but os-ken parses each entry
whole, match, instructions and actions into objects: ~27,000 entries a second, so reading 10
switches of 2,400 flows after a controller restart kept it busy for about a second. Entries
of flow-stats replies are parsed here into `FlowEntry`s instead (cookie, table and priority
read at their fixed offsets, plus the entry's bytes, decoded by controller/decode.py only
when someone asks what a flow is), and group descriptions into `GroupEntry`s likewise, for
every such reply this process receives.
"""

from __future__ import annotations

import struct

# os-ken's controller module can only be imported after app_manager (they import each other).
from os_ken.base import app_manager  # noqa: F401
from os_ken.controller.controller import Datapath
from os_ken.controller.handler import DEAD_DISPATCHER
from os_ken.ofproto import ofproto_v1_4_parser


def install() -> None:
    _close_on_disconnect()
    ofproto_v1_4_parser.OFPFlowStatsReply.cls_stats_body_cls = FlowEntry
    ofproto_v1_4_parser.OFPGroupDescStatsReply.cls_stats_body_cls = GroupEntry


def _close_on_disconnect() -> None:
    original = Datapath._recv_loop
    if getattr(original, "weft_closes_on_exit", False):
        return

    def recv_loop_then_close(self):
        try:
            original(self)
        finally:
            self.set_state(DEAD_DISPATCHER)
            send_q = self.send_q
            # The socket is already closed: the send loop fails on this empty write, drains
            # its queue and ends. The slot is taken like Datapath.send() does; if none is free
            # the send loop is busy and will fail on the closed socket by itself.
            if send_q is not None and self._send_q_sem.acquire(blocking=False):
                send_q.put_nowait((b"", True))

    setattr(recv_loop_then_close, "weft_closes_on_exit", True)  # noqa: B010 (a mark on a function)
    Datapath._recv_loop = recv_loop_then_close


class FlowEntry:
    """One entry of a flow-stats reply, as far as Weft reads it at once.

    OpenFlow 1.4.0 ofp_flow_stats: length (2 bytes) at offset 0, table_id at 2, then pad,
    duration_sec, duration_nsec, priority (at 12), idle_timeout, hard_timeout, flags,
    importance and 2 bytes of padding, so the cookie (8 bytes) is at offset 24. `raw` is
    the whole entry, for controller/decode.py.
    """

    __slots__ = ("length", "cookie", "table", "priority", "raw")
    _HEAD = struct.Struct("!HB9xH10xQ")  # length, table_id, priority, cookie

    def __init__(self, length: int, cookie: int, table: int, priority: int, raw: bytes):
        self.length, self.cookie, self.table, self.priority, self.raw = (
            length, cookie, table, priority, raw,
        )

    @classmethod
    def parser(cls, buf: bytes, offset: int) -> FlowEntry:
        length, table, priority, cookie = cls._HEAD.unpack_from(buf, offset)
        return cls(length, cookie, table, priority, bytes(buf[offset:offset + length]))


class GroupEntry:
    """One entry of a group-description reply: ofp_group_desc is length (2 bytes), type,
    pad, group_id (4 bytes at offset 4), then the buckets; `raw` is the whole entry."""

    __slots__ = ("length", "group_id", "raw")
    _HEAD = struct.Struct("!H2xI")

    def __init__(self, length: int, group_id: int, raw: bytes) -> None:
        self.length, self.group_id, self.raw = length, group_id, raw

    @classmethod
    def parser(cls, buf: bytes, offset: int) -> GroupEntry:
        length, group_id = cls._HEAD.unpack_from(buf, offset)
        return cls(length, group_id, bytes(buf[offset:offset + length]))
