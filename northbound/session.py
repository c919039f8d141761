"""The database session of one admin command: one transaction, writers serialised on SQLite.

Every command that writes runs in `writing(url)`: all its checks and writes in one
transaction, committed when the command succeeds and rolled back on any error, so a refused
command leaves the database as it was. On SQLite that transaction starts with
`BEGIN IMMEDIATE`: it takes the database's single write lock before the first read, so what
the command checked (a free address, an unused name) cannot change before it writes; a
concurrent writer waits for the lock (busy_timeout) rather than failing. PostgreSQL needs
no such thing: commands lock what they allocate from (models/ipam.py) and its constraints
catch the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy.orm import Session

from models.db import make_engine


@contextmanager
def _session(url: str | None, *, write: bool) -> Iterator[Session]:
    engine = make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            if write and engine.dialect.name == "sqlite":
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            yield session
    finally:
        engine.dispose()


def writing(url: str | None) -> AbstractContextManager[Session]:
    """A session whose one transaction commits if the block succeeds (see module doc)."""
    return _session(url, write=True)


def reading(url: str | None) -> AbstractContextManager[Session]:
    """A session for commands that only read (list, show, status, topology)."""
    return _session(url, write=False)
