"""Database fixtures: a throwaway PostgreSQL cluster for the session, a fresh database per test.

The cluster is lab/postgres.py's (run as the `postgres` user in a /tmp/weft-pg-* dir,
listening on a unix socket only); benchmarks use the same code.

Fixtures, each a SQLAlchemy URL of a database no other test sees:
- `postgres_url` / `sqlite_url`: empty database.
- `migrated_postgres_url` / `migrated_sqlite_url`: schema at `alembic upgrade head`.
- `database_url` / `migrated_database_url`: the same, once for each database.
PostgreSQL's migrated databases are copies of one template migrated once per session.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_postgresql.janitor import DatabaseJanitor

from lab.postgres import PORT, SUPERUSER, Cluster, throwaway_cluster
from northbound import schema

TEMPLATE_DB = "weft_migrated"

_database_numbers = itertools.count(1)


def janitor(cluster: Cluster, dbname: str, template: str | None = None) -> DatabaseJanitor:
    """Creates database `dbname` (a copy of `template` if given) and drops it on exit."""
    return DatabaseJanitor(
        user=SUPERUSER,
        host=str(cluster.socket_dir),
        port=PORT,
        dbname=dbname,
        template_dbname=template,
    )


def _unique_dbname() -> str:
    return f"weft_test_{next(_database_numbers)}"


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    with throwaway_cluster() as cluster:
        yield cluster


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> Iterator[str]:
    dbname = _unique_dbname()
    with janitor(postgres_cluster, dbname):
        yield postgres_cluster.url(dbname)


@pytest.fixture(scope="session")
def _migrated_postgres_template(postgres_cluster: Cluster) -> Iterator[str]:
    with janitor(postgres_cluster, TEMPLATE_DB):
        schema.upgrade(postgres_cluster.url(TEMPLATE_DB))
        yield TEMPLATE_DB


@pytest.fixture
def migrated_postgres_url(
    postgres_cluster: Cluster, _migrated_postgres_template: str
) -> Iterator[str]:
    dbname = _unique_dbname()
    with janitor(postgres_cluster, dbname, template=_migrated_postgres_template):
        yield postgres_cluster.url(dbname)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'weft.db'}"


@pytest.fixture
def migrated_sqlite_url(tmp_path: Path) -> str:
    # Not sqlite_url's file: a test may want an empty and a migrated database at once.
    url = f"sqlite:///{tmp_path / 'weft-migrated.db'}"
    schema.upgrade(url)
    return url


@pytest.fixture(params=["postgres", "sqlite"])
def database_url(request) -> str:
    """An empty database, once on PostgreSQL and once on SQLite."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture(params=["postgres", "sqlite"])
def migrated_database_url(request) -> str:
    """A database at `alembic upgrade head`, once on PostgreSQL and once on SQLite."""
    return request.getfixturevalue(f"migrated_{request.param}_url")
