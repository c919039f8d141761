"""A minimal client for an OVS daemon's unixctl socket (what `ovs-appctl` speaks).

One `ovs-appctl` process per command costs a few milliseconds; pre-loading the tunnel
neighbours of a 50-host lab takes 2,450 commands, so they go pipelined over one connection
per host instead. The protocol is JSON-RPC 1.0 over a unix stream socket.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Sequence
from pathlib import Path

from lab.errors import LabError


def call_all(
    socket_path: Path, commands: Sequence[tuple[str, Sequence[str]]], timeout: float = 10
) -> list[str]:
    """Send every (command, args) pair, return their results in order; raise on any error."""
    requests = b"".join(
        json.dumps({"id": i, "method": method, "params": list(args)}).encode()
        for i, (method, args) in enumerate(commands)
    )
    replies: dict[int, dict] = {}
    decoder = json.JSONDecoder()
    buffer = ""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(socket_path))
        sock.sendall(requests)
        while len(replies) < len(commands):
            chunk = sock.recv(65536)
            if not chunk:
                raise LabError(f"{socket_path} closed the connection")
            buffer += chunk.decode()
            while buffer := buffer.lstrip():
                try:
                    reply, end = decoder.raw_decode(buffer)
                except ValueError:
                    break  # incomplete: wait for more bytes
                replies[reply["id"]] = reply
                buffer = buffer[end:]
    failed = [(commands[i], r["error"]) for i, r in replies.items() if r.get("error")]
    if failed:
        raise LabError(f"{socket_path}: {failed}")
    return [replies[i]["result"] for i in range(len(commands))]
