"""Database fixtures: a throwaway PostgreSQL cluster for the session, a fresh database per test.

PostgreSQL refuses to run as root and the suite runs as root (it creates network namespaces),
so the cluster is created and started as the `postgres` system user that Debian's package
adds, in a temp dir owned by that user. It listens on a unix socket in that dir only
(`listen_addresses=''`), so nothing can reach it from outside and clusters of parallel runs
cannot collide. The binaries come from Debian's /usr/lib/postgresql/<highest version>/bin.

Fixtures, each a SQLAlchemy URL of a database no other test sees:
- `postgres_url` / `sqlite_url`: empty database.
- `migrated_postgres_url` / `migrated_sqlite_url`: schema at `alembic upgrade head`.
- `database_url` / `migrated_database_url`: the same, once for each database.
PostgreSQL's migrated databases are copies of one template migrated once per session.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_postgresql.janitor import DatabaseJanitor

from admin.db import upgrade_database

POSTGRES_LIBS = Path("/usr/lib/postgresql")
SUPERUSER = "postgres"
PORT = 5432  # names the socket file only: nothing listens on TCP
SERVER_SETTINGS = {
    "listen_addresses": "''",
    # A throwaway cluster need not survive a crash: skip the disk flushes.
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
}
TEMPLATE_DB = "weft_migrated"

_database_numbers = itertools.count(1)


def postgres_bin_dir() -> Path:
    """The bin dir of the highest PostgreSQL major version installed by Debian's packages."""
    installed = [p for p in POSTGRES_LIBS.glob("*") if (p / "bin" / "initdb").is_file()]
    if not installed:
        raise RuntimeError(f"no PostgreSQL server under {POSTGRES_LIBS}: run scripts/setup")
    newest = max(installed, key=lambda p: tuple(int(part) for part in p.name.split(".")))
    return newest / "bin"


@dataclass(frozen=True)
class Cluster:
    base_dir: Path
    bin_dir: Path

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir

    def url(self, dbname: str) -> str:
        return f"postgresql://{SUPERUSER}@/{dbname}?host={self.socket_dir}"

    def janitor(self, dbname: str, template: str | None = None) -> DatabaseJanitor:
        """Creates database `dbname` (a copy of `template` if given) and drops it on exit."""
        return DatabaseJanitor(
            user=SUPERUSER,
            host=str(self.socket_dir),
            port=PORT,
            dbname=dbname,
            template_dbname=template,
        )

    def run(self, program: str, *args: str) -> None:
        """Run one PostgreSQL program as the `postgres` user; its output goes in the error."""
        result = subprocess.run(
            [str(self.bin_dir / program), *args],
            user=SUPERUSER,
            group=SUPERUSER,
            extra_groups=[],
            cwd=self.base_dir,  # the caller's cwd may not be readable by `postgres`
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            log = self.base_dir / "server.log"
            raise RuntimeError(
                f"{program} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
                + (f"\nserver log:\n{log.read_text()}" if log.exists() else "")
            )

    def start(self) -> None:
        self.run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--no-locale",
            "--encoding=UTF8",
            "--no-sync",
        )
        settings = dict(
            SERVER_SETTINGS, port=str(PORT), unix_socket_directories=f"'{self.socket_dir}'"
        )
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        self.run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.base_dir / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        """Stop the server if it runs (also after a start that failed half-way)."""
        if not (self.data_dir / "postmaster.pid").exists():
            return
        self.run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60", "stop")


def _unique_dbname() -> str:
    return f"weft_test_{next(_database_numbers)}"


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    # In /tmp, not $TMPDIR: `postgres` must be able to reach it and the socket path must stay
    # under the 107 characters a unix socket name may have.
    base_dir = Path(tempfile.mkdtemp(prefix="weft-pg-", dir="/tmp"))
    shutil.chown(base_dir, SUPERUSER, SUPERUSER)
    cluster = Cluster(base_dir=base_dir, bin_dir=postgres_bin_dir())
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(base_dir, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> Iterator[str]:
    dbname = _unique_dbname()
    with postgres_cluster.janitor(dbname):
        yield postgres_cluster.url(dbname)


@pytest.fixture(scope="session")
def _migrated_postgres_template(postgres_cluster: Cluster) -> Iterator[str]:
    with postgres_cluster.janitor(TEMPLATE_DB):
        upgrade_database(postgres_cluster.url(TEMPLATE_DB))
        yield TEMPLATE_DB


@pytest.fixture
def migrated_postgres_url(
    postgres_cluster: Cluster, _migrated_postgres_template: str
) -> Iterator[str]:
    dbname = _unique_dbname()
    with postgres_cluster.janitor(dbname, template=_migrated_postgres_template):
        yield postgres_cluster.url(dbname)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'weft.db'}"


@pytest.fixture
def migrated_sqlite_url(tmp_path: Path) -> str:
    # Not sqlite_url's file: a test may want an empty and a migrated database at once.
    url = f"sqlite:///{tmp_path / 'weft-migrated.db'}"
    upgrade_database(url)
    return url


@pytest.fixture(params=["postgres", "sqlite"])
def database_url(request) -> str:
    """An empty database, once on PostgreSQL and once on SQLite."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture(params=["postgres", "sqlite"])
def migrated_database_url(request) -> str:
    """A database at `alembic upgrade head`, once on PostgreSQL and once on SQLite."""
    return request.getfixturevalue(f"migrated_{request.param}_url")
