"""Change feeds: how the controller hears that the database changed.

PostgreSQL: the migrations install triggers that `pg_notify('weft_changes', json)` for every
row written to a watched table; `PostgresListener` LISTENs and hands over batches of Change.
SQLite (the one-machine default) has no notifications: `SqlitePoller` watches
`PRAGMA data_version`, which moves whenever another connection commits, and asks for a full
reload. Either way a periodic full resync in the reconciler is the safety net.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import Engine, text

from models.changes import EVERYTHING, Change

log = logging.getLogger(__name__)

CHANNEL = "weft_changes"



Sink = Callable[[list[Change]], None]


class PostgresListener(threading.Thread):
    """LISTEN on CHANNEL; deliver each burst of notifications as one batch to `sink`."""

    def __init__(self, engine: Engine, sink: Sink, stop: threading.Event) -> None:
        super().__init__(name="pg-listener", daemon=True)
        self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._sink = sink
        self._stop_event = stop
        self.ready = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self._listen()
            except psycopg.Error as error:
                log.warning("change listener lost its connection (%s); reconnecting", error)
                self.ready.clear()
                # Whatever was missed while disconnected is caught by a full reload.
                self._sink([EVERYTHING])
                self._stop_event.wait(1.0)

    def _listen(self) -> None:
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.ready.set()
            while not self._stop_event.is_set():
                batch = [
                    Change.from_payload(n.payload) for n in conn.notifies(timeout=0.5, stop_after=1)
                ]
                if not batch:
                    continue
                # Take whatever else already arrived, so a burst becomes one reconcile.
                batch += [Change.from_payload(n.payload) for n in conn.notifies(timeout=0.002)]
                self._sink(batch)


class SqlitePoller(threading.Thread):
    """Poll `PRAGMA data_version` every `interval` seconds; a change means reload all."""

    def __init__(self, engine: Engine, sink: Sink, stop: threading.Event, interval: float = 0.2):
        super().__init__(name="sqlite-poller", daemon=True)
        self._engine = engine
        self._sink = sink
        self._stop_event = stop
        self._interval = interval
        self.ready = threading.Event()

    def run(self) -> None:
        # data_version is per connection, so keep one; end each read so no snapshot is pinned.
        with self._engine.connect() as conn:
            last = self._version(conn)
            self.ready.set()
            while not self._stop_event.wait(self._interval):
                version = self._version(conn)
                if version != last:
                    last = version
                    self._sink([EVERYTHING])

    @staticmethod
    def _version(conn) -> int:
        version = conn.execute(text("PRAGMA data_version")).scalar()
        conn.rollback()
        return version


def start_feed(engine: Engine, sink: Sink, stop: threading.Event) -> threading.Thread:
    feed_cls = SqlitePoller if engine.dialect.name == "sqlite" else PostgresListener
    feed = feed_cls(engine, sink, stop)
    feed.start()
    return feed
