"""Connecting to the Weft database: PostgreSQL in production and tests, SQLite by default.

The URL comes from `--database-url`, else `WEFT_DATABASE_URL`, else a SQLite file under the
user's data directory. `postgresql://` URLs use psycopg 3. A PostgreSQL server reached over a
unix socket is written `postgresql://user@/dbname?host=/path/to/socket/dir`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

ENV_VAR = "WEFT_DATABASE_URL"


def default_url() -> str:
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return f"sqlite:///{data_home / 'weft' / 'weft.db'}"


def resolve_url(url: str | None = None) -> str:
    """The database URL to use: `url`, else $WEFT_DATABASE_URL, else the SQLite default."""
    url = url or os.environ.get(ENV_VAR) or default_url()
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str | None = None, **kwargs) -> Engine:
    url = resolve_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """Enforce foreign keys and let the controller read while the CLI writes."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.close()


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One session, one transaction: committed on success, rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session
