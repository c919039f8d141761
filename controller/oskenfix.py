"""Make os-ken 4.x notice a switch that went away, on its default (native, threaded) hub.

With the native hub, os-ken never emits EventOFPStateChange(DEAD_DISPATCHER) when a switch
disconnects, and two threads leak per disconnect (PLATFORM.md): after the receive loop ends,
`Datapath.serve()` joins its send thread, which sits forever on an empty queue (`hub.kill` is
a no-op on threads), so the datapath is never closed. We wrap the receive loop: when it ends,
the datapath is marked dead (which emits the event) and the send thread is woken with a
close request, so `serve()` returns and both threads exit. Eventlet's hub (which kills the
send thread itself) behaves the same with the wrapper: marking dead twice is a no-op.
"""

from __future__ import annotations

from os_ken.controller.controller import Datapath
from os_ken.controller.handler import DEAD_DISPATCHER


def install() -> None:
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

    recv_loop_then_close.weft_closes_on_exit = True
    Datapath._recv_loop = recv_loop_then_close
