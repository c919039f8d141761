"""What the controller tells the database about itself and its switches, for `weft status`.

Writes happen on this module's own thread, so a slow database never blocks the OpenFlow
event loop: a heartbeat row in `controllers`, and one row per datapath in `switches` (whether
it is connected and how many Weft flows it holds). A datapath whose id matches no host is
how `weft host list` learns about unknown switches.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import queue
import socket
import threading
from typing import cast

from sqlalchemy import Engine, Table, delete, select
from sqlalchemy.orm import Session

from models import tables as t
from models.types import utcnow

log = logging.getLogger(__name__)
SWITCHES = cast(Table, t.Switch.__table__)  # typed FromClause on the mapped class
CONTROLLERS = cast(Table, t.Controller.__table__)

VERSION = importlib.metadata.version("weft")


class StatusWriter(threading.Thread):
    """One thread with its own database sessions: writes this controller's heartbeat row and
    the switches' connection rows every `heartbeat` seconds, and removes them on stop."""

    def __init__(self, engine: Engine, stop: threading.Event, heartbeat: float = 2.0) -> None:
        super().__init__(name="status-writer", daemon=True)
        self._engine = engine
        self._stop_event = stop
        self._heartbeat = heartbeat
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self.controller_id: int | None = None

    # ------------------------------------------------------------ inputs (any thread)

    def switch_connection(self, datapath_id: int, address: str, connected: bool) -> None:
        self._queue.put(("connection", datapath_id, address, connected))

    def switch_flows(self, datapath_id: int, flows: int) -> None:
        self._queue.put(("flows", datapath_id, flows))

    # ------------------------------------------------------------ the thread

    def run(self) -> None:
        self._register()
        while not self._stop_event.is_set():
            updates = self._take()
            try:
                self._write(updates)
            except Exception:
                log.exception("could not record controller status; will retry")
                for update in updates:
                    self._queue.put(update)
                self._stop_event.wait(1.0)
        self._unregister()

    def _take(self) -> list[tuple]:
        try:
            updates = [self._queue.get(timeout=self._heartbeat)]
        except queue.Empty:
            return []
        while True:
            try:
                updates.append(self._queue.get_nowait())
            except queue.Empty:
                return updates

    def _register(self) -> None:
        with Session(self._engine) as session, session.begin():
            row = t.Controller(hostname=socket.gethostname(), pid=os.getpid(), version=VERSION)
            session.add(row)
            session.flush()
            self.controller_id = row.id
            # Connections recorded by an earlier run are stale: they will be reported again.
            session.execute(SWITCHES.update().values(connected=False))

    def _unregister(self) -> None:
        try:
            with Session(self._engine) as session, session.begin():
                session.execute(delete(t.Controller).where(t.Controller.id == self.controller_id))
                session.execute(SWITCHES.update().values(connected=False))
        except Exception:
            log.exception("could not remove the controller's status row")

    def _write(self, updates: list[tuple]) -> None:
        now = utcnow()
        with Session(self._engine) as session, session.begin():
            session.execute(
                CONTROLLERS.update()
                .where(t.Controller.id == self.controller_id)
                .values(last_seen=now)
            )
            for update in updates:
                kind, datapath_id = update[0], update[1]
                row = session.scalar(select(t.Switch).where(t.Switch.datapath_id == datapath_id))
                if row is None:
                    row = t.Switch(datapath_id=datapath_id)
                    session.add(row)
                row.last_seen = now
                if kind == "connection":
                    row.address, row.connected = update[2] or row.address, update[3]
                else:
                    row.flows = update[2]
