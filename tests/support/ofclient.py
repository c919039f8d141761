"""A minimal OpenFlow 1.4 client for tests: talks to a switch's unix management socket
(RUNDIR/<bridge>.mgmt), sends bytes from controller/codec.py, collects what comes back.

It is not a controller: no os-ken, no threads. `exchange` sends messages and a barrier and
returns every reply up to the barrier's, which is all a test needs to see what the switch
made of them (OpenFlow answers in order, so errors for earlier messages come before it).
"""

from __future__ import annotations

import itertools
import socket
import struct
from typing import NamedTuple

from controller import codec

OFPT_HELLO = 0
OFPT_ERROR = 1
OFPT_ECHO_REQUEST = 2
OFPT_ECHO_REPLY = 3
OFPT_BARRIER_REPLY = 21
_HEADER = struct.Struct("!BBHI")


class Message(NamedTuple):
    type: int
    xid: int
    body: bytes  # after the 8-byte header

    @property
    def error(self) -> tuple[int, int] | None:
        """(type, code) of an OFPT_ERROR, else None."""
        return struct.unpack_from("!HH", self.body) if self.type == OFPT_ERROR else None


class OFClient:
    def __init__(self, path: str, timeout: float = 10.0):
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        self._sock.connect(path)
        self._buffer = b""
        self._xids = itertools.count(0x10000)
        self.send(_HEADER.pack(codec.OFP_VERSION, OFPT_HELLO, 8, 0))
        hello = self.receive()
        if hello.type != OFPT_HELLO:
            raise ConnectionError(f"expected HELLO, got {hello}")

    def next_xid(self) -> int:
        return next(self._xids)

    def send(self, *messages: bytes) -> None:
        self._sock.sendall(b"".join(messages))

    def receive(self) -> Message:
        """The next message, answering echo requests on the way."""
        while True:
            while len(self._buffer) < 8 or len(self._buffer) < self._length():
                chunk = self._sock.recv(65536)
                if not chunk:
                    raise ConnectionError("switch closed the connection")
                self._buffer += chunk
            length = self._length()
            raw, self._buffer = self._buffer[:length], self._buffer[length:]
            version, msg_type, _length, xid = _HEADER.unpack_from(raw)
            if msg_type == OFPT_ECHO_REQUEST:
                self.send(_HEADER.pack(version, OFPT_ECHO_REPLY, length, xid) + raw[8:])
                continue
            return Message(msg_type, xid, raw[8:])

    def _length(self) -> int:
        return struct.unpack_from("!H", self._buffer, 2)[0]

    def exchange(self, *messages: bytes) -> list[Message]:
        """Send `messages` and a barrier; every message received before the barrier reply."""
        barrier_xid = self.next_xid()
        self.send(*messages, codec.barrier_request(barrier_xid))
        replies = []
        while (message := self.receive()).type != OFPT_BARRIER_REPLY or (
                message.xid != barrier_xid):
            replies.append(message)
        return replies

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> OFClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
