"""One live OVSDB connection to one host: reach it, fetch its schema, replicate what we need.

The schema is fetched here rather than with ovsdbapp's helper because that one waits forever
on a server that accepts but never answers, and replaces the cause of a failure with a
generic message. Here every step has a deadline and a failure says why ("connection
refused", "timeout", ...): that is what `hosts.state_reason` shows. The standard library's
JSON parser also reads the schema far faster than the pure-Python one of the `ovs` package.

After that, ovsdbapp does the rest: an IDL replica of the columns in observed.COLUMNS, kept
current by ovsdbapp's connection thread, which also runs our transactions. A connection is
used until it drops once, then thrown away: the agent opens a new one (with backoff), so
that every reconnect goes through the same checks and reports the same reasons.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable

from ovs.db import idl
from ovs.db.idl import SchemaHelper
from ovsdbapp.backend.ovs_idl import connection, transaction
from ovsdbapp.exceptions import TimeoutException

from ovsdb import fastjson
from ovsdb.observed import COLUMNS, STATUS_COLUMNS, RowCache

SCHEMA = "Open_vSwitch"
# A transaction on a busy host can take seconds. One whose connection drops half-way ends
# only at this timeout (ovsdbapp waits for the IDL to reconnect and retries), so a drop
# during a transaction is reported that much later than one between transactions.
TRANSACTION_TIMEOUT = 10.0
_GET_SCHEMA_ID = "weft-schema"


class ConnectFailed(Exception):
    """The host could not be reached or would not talk; `reason` says why, briefly."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class HostConnection:
    """An open, synchronised connection; `run(command)` executes one ovsdbapp command in its
    own transaction. On ovsdbapp's thread, `on_status` is called for changes of status
    columns only (observed.STATUS_COLUMNS), `on_change` for every other change of the
    replica and when the connection drops."""

    def __init__(
        self,
        target: str,
        timeout: float,
        on_change: Callable[[], None],
        on_status: Callable[[], None],
    ) -> None:
        fastjson.install()
        helper = SchemaHelper(schema_json=fetch_schema(target, timeout))
        for table, columns in COLUMNS.items():
            helper.register_columns(table, list(columns))
        self.cache = RowCache()
        self.idl = _WatchedIdl(target, helper, self.cache, on_change, on_status)
        self._connection = connection.Connection(self.idl, timeout)
        try:
            self._connection.start()  # returns once the replica holds the whole database
        except TimeoutException:
            self.idl.close()
            raise ConnectFailed("timeout") from None
        self._session_seqno = self.idl.session_seqno

    @property
    def tables(self):
        return self.idl.tables

    @property
    def alive(self) -> bool:
        """False once the connection has dropped (even if the IDL has reconnected since)."""
        return self.idl.session_connected and self.idl.session_seqno == self._session_seqno

    def run(self, command) -> None:
        """Run `command` in one transaction; raises on a failed or timed-out transaction."""
        txn = transaction.Transaction(
            self, self._connection, TRANSACTION_TIMEOUT, check_error=True, log_errors=False
        )
        txn.add(command)
        txn.commit()

    def close(self) -> None:
        self._connection.stop(timeout=TRANSACTION_TIMEOUT)


class _WatchedIdl(connection.OvsdbIdl):
    """ovsdbapp's IDL, telling `cache` which rows changed, `on_status` about changes of
    status columns only, and `on_change` about any other change and connection drops.

    The `ovs` IDL exposes no connection state; its session object is the one place that
    knows, hence the two properties below reading it.
    """

    def __init__(
        self,
        target: str,
        helper: SchemaHelper,
        cache: RowCache,
        on_change: Callable[[], None],
        on_status: Callable[[], None],
    ) -> None:
        super().__init__(target, helper)
        self._cache = cache
        self._on_change = on_change
        self._on_status = on_status
        self._seen_seqno = self.session_seqno  # not _last_seqno: the ovs Idl has one

    @property
    def session_seqno(self) -> int:
        """Moves on every connect and disconnect."""
        return self._session.get_seqno()

    @property
    def session_connected(self) -> bool:
        return self._session.is_connected()

    def cooperative_yield(self) -> None:
        """No-op, as in the ovs IDL: ovsdbapp sleeps(0) here for every row, for the sake of
        green threads. With real threads, that only hands the GIL around: with one IDL per
        host, initial transactions took seconds instead of milliseconds."""

    def notify(self, event, row, updates=None) -> None:
        # row._table and updates._data (the old values of the changed columns): the IDL
        # offers no other way to a row's table (ovsdbapp reads it too); what changed it
        # tells only through hasattr, at the cost of an exception per absent column.
        status = STATUS_COLUMNS.get(row._table.name, ())
        if event == idl.ROW_UPDATE and status and set(updates._data) <= set(status):
            self._on_status()
        else:
            self._cache.forget(row.uuid)
            self._on_change()

    def run(self):
        changed = super().run()
        if self.session_seqno != self._seen_seqno:
            self._seen_seqno = self.session_seqno  # not _last_seqno: the ovs Idl has one
            self._on_change()
        return changed


def fetch_schema(target: str, timeout: float) -> dict:
    """The Open_vSwitch schema of the server at `target` (tcp:IP:PORT or unix:PATH), as JSON.
    Raises ConnectFailed with the reason if that takes longer than `timeout` seconds."""
    family, address = _socket_address(target)
    deadline = time.monotonic() + timeout
    request = {"id": _GET_SCHEMA_ID, "method": "get_schema", "params": [SCHEMA]}
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(address)
            sock.sendall(json.dumps(request).encode())
            reply = _read_reply(sock, deadline)
    except TimeoutError:
        raise ConnectFailed("timeout") from None
    except OSError as error:
        raise ConnectFailed(_reason(error)) from None
    if reply.get("error") is not None:
        raise ConnectFailed(f"no {SCHEMA} database: {reply['error']}")
    return reply["result"]


def _read_reply(sock: socket.socket, deadline: float) -> dict:
    """Read JSON-RPC messages until the reply to our request (OVSDB frames nothing: messages
    are simply concatenated JSON objects)."""
    decoder = json.JSONDecoder()
    text, buffered = "", b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        sock.settimeout(remaining)
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise ConnectFailed("connection closed by the server")
        buffered += chunk
        try:
            text += buffered.decode()
            buffered = b""
        except UnicodeDecodeError:  # a multi-byte character split between two reads
            continue
        while text.strip():
            try:
                message, end = decoder.raw_decode(text.lstrip())
            except json.JSONDecodeError:
                break  # incomplete: read more
            text = text.lstrip()[end:]
            if message.get("id") == _GET_SCHEMA_ID:
                return message


def _socket_address(target: str) -> tuple[socket.AddressFamily, str | tuple[str, int]]:
    kind, _, rest = target.partition(":")
    if kind == "unix":
        return socket.AF_UNIX, rest
    if kind == "tcp":
        host, _, port = rest.rpartition(":")
        if host.startswith("["):
            return socket.AF_INET6, (host.strip("[]"), int(port))
        return socket.AF_INET, (host, int(port))
    raise ConnectFailed(f"unsupported OVSDB target {target!r} (use tcp:IP:PORT or unix:PATH)")


def _reason(error: OSError) -> str:
    """A short lowercase reason: 'connection refused', 'no route to host'... (a timeout is a
    TimeoutError, which the caller reports as 'timeout' before it gets here)."""
    if error.errno is None:
        return str(error) or type(error).__name__
    return os.strerror(error.errno).lower()
