"""A throwaway PostgreSQL cluster: for the tests' fixtures and for benchmarks.

PostgreSQL refuses to run as root and tests and labs run as root (they create network
namespaces), so the cluster is created and started as the `postgres` system user that
Debian's package adds, in a temp dir owned by that user. It listens on a unix socket in that
dir only (`listen_addresses=''`), so nothing can reach it from outside and clusters of
parallel runs cannot collide. The binaries come from Debian's
/usr/lib/postgresql/<highest version>/bin. fsync is off: nothing here must survive a crash.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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

    def create_database(self, dbname: str) -> str:
        """Create an empty database; return its URL."""
        self.run("createdb", "-h", str(self.socket_dir), "-p", str(PORT), "-U", SUPERUSER,
                 dbname)
        return self.url(dbname)


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """A started cluster in a fresh /tmp/weft-pg-* dir, stopped and removed on exit."""
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
