"""The transaction of one operation: all its checks and writes, or nothing.

Every operation that writes runs in `writing(db)`: committed when the block succeeds and
rolled back on any error, so a refused operation leaves the database as it was. A database
constraint that fires anyway (another writer got in between a check and the write) and an
exhausted address space come out as `Conflict`, like every other refusal.

On SQLite the transaction starts with `BEGIN IMMEDIATE`: it takes the database's single write
lock before the first read, so what the operation checked (a free address, an unused name)
cannot change before it writes; a concurrent writer waits for the lock (busy_timeout) rather
than failing. PostgreSQL needs no such thing: operations lock what they allocate from
(models/ipam.py) and its constraints catch the rest.

`db` is an Engine (a long-running service keeps one, with its pool) or a URL (a command makes
an engine for the one transaction and disposes of it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.db import make_engine
from models.ipam import IpamError, VnisExhausted
from northbound.errors import Conflict, from_integrity_error

Database = Engine | str | None


@contextmanager
def _engine(db: Database) -> Iterator[Engine]:
    if isinstance(db, Engine):
        yield db
        return
    engine = make_engine(db)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def _session(db: Database, *, write: bool) -> Iterator[Session]:
    with _engine(db) as engine:
        try:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                if write and engine.dialect.name == "sqlite":
                    session.connection().exec_driver_sql("BEGIN IMMEDIATE")
                yield session
        except IntegrityError as error:
            raise from_integrity_error(error) from None
        except IpamError as error:
            raise Conflict("vni" if isinstance(error, VnisExhausted) else None,
                           str(error)) from None


def writing(db: Database) -> AbstractContextManager[Session]:
    """A session whose one transaction commits if the block succeeds (see module doc)."""
    return _session(db, write=True)


def reading(db: Database) -> AbstractContextManager[Session]:
    """A session for operations that only read."""
    return _session(db, write=False)
