"""Request/reply over one OpenFlow connection, for code that runs outside os-ken's event loop.

os-ken delivers replies as events on its own thread; a SwitchSync worker wants to send a
request and wait for its answer. `Channel` pairs the two by xid: `send` queues raw bytes on
the os-ken Datapath, `expect` registers interest in an xid before sending, and the app's
event handlers call `deliver` / `fail` with what arrived. Multipart replies are collected
until the last part.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field


class ChannelClosed(Exception):
    """The switch disconnected while a request was outstanding."""


class SwitchError(Exception):
    """The switch answered a request with an OpenFlow error."""

    def __init__(self, xid: int, error_type: int, code: int, data: bytes = b""):
        super().__init__(f"OpenFlow error type={error_type} code={code} for xid {xid}")
        self.xid, self.error_type, self.code, self.data = xid, error_type, code, data


@dataclass
class _Pending:
    done: threading.Event = field(default_factory=threading.Event)
    replies: list = field(default_factory=list)
    error: Exception | None = None


class Channel:
    def __init__(self, datapath) -> None:
        self.datapath = datapath
        self.datapath_id: int = datapath.id
        self._xids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._lock = threading.Lock()
        self.closed = threading.Event()

    def next_xid(self) -> int:
        # Above os-ken's own random xids would be nicer, but any 32-bit value is legal.
        return next(self._xids) & 0xFFFFFFFF

    def send(self, data: bytes) -> None:
        if self.closed.is_set() or not self.datapath.send(data):
            raise ChannelClosed(f"switch {self.datapath_id:#x} is gone")

    def expect(self, xid: int) -> _Pending:
        pending = _Pending()
        with self._lock:
            self._pending[xid] = pending
        return pending

    def wait(self, xid: int, pending: _Pending, timeout: float) -> list:
        """Wait for the reply to `xid`; raise SwitchError, ChannelClosed or TimeoutError."""
        try:
            if not pending.done.wait(timeout):
                raise TimeoutError(f"no reply to xid {xid} from {self.datapath_id:#x}")
            if pending.error:
                raise pending.error
            return pending.replies
        finally:
            with self._lock:
                self._pending.pop(xid, None)

    def forget(self, xid: int) -> Exception | None:
        """Stop listening for `xid`; return the error it collected, if any."""
        with self._lock:
            pending = self._pending.pop(xid, None)
        return pending.error if pending else None

    def request(self, xid: int, data: bytes, timeout: float) -> list:
        pending = self.expect(xid)
        self.send(data)
        return self.wait(xid, pending, timeout)

    # ------------------------------------------------------------ from the os-ken thread

    def deliver(self, xid: int, message, more: bool = False) -> None:
        with self._lock:
            pending = self._pending.get(xid)
        if pending is None:
            return
        pending.replies.append(message)
        if not more:
            pending.done.set()

    def fail(self, xid: int, error: Exception) -> bool:
        """Record an error for `xid`; False if nobody was waiting for it."""
        with self._lock:
            pending = self._pending.get(xid)
        if pending is None:
            return False
        pending.error = error
        pending.done.set()
        return True

    def close(self) -> None:
        self.closed.set()
        with self._lock:
            waiting = list(self._pending.values())
        for pending in waiting:
            pending.error = ChannelClosed(f"switch {self.datapath_id:#x} disconnected")
            pending.done.set()
