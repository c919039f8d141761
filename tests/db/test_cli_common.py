"""What every admin command shares: help with an example, errors as one line and an exit code,
the database untouched by a refused command, and the helpers the other test_cli_* files use.

Commands run in-process through typer's CliRunner on the real `weft` app (admin/cli.py),
against the throwaway PostgreSQL and a SQLite file. Other modules import the helpers as
`from test_cli_common import ...` (pytest puts this directory on sys.path).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import typer.main
from sqlalchemy import insert, select, update
from typer.testing import CliRunner, Result

from admin import cli
from models import tables as t
from models.db import make_engine
from models.tables import Base

pytestmark = pytest.mark.postgres


class Weft:
    """`weft ARGS...` against one database, in this process."""

    def __init__(self, url: str) -> None:
        self.url = url
        cli._register_areas()

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(cli.app, list(args), env={"WEFT_DATABASE_URL": self.url})

    def ok(self, *args: str) -> str:
        """Run a command that must succeed; return its standard output."""
        result = self.run(*args)
        assert result.exit_code == 0, f"weft {' '.join(args)}: {result.output}"
        assert result.stderr == ""
        return result.stdout

    def json(self, *args: str):
        return json.loads(self.ok(*args, "--json"))

    def refused(self, *args: str) -> str:
        """Run a command that must be refused: exit 1, one `error:` line on stderr, nothing on
        stdout, and every table exactly as before. Return the error line."""
        before = database_rows(self.url)
        result = self.run(*args)
        assert result.exit_code == 1, f"weft {' '.join(args)}: {result.output}"
        assert result.stdout == ""
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, (
            result.stderr
        )
        assert database_rows(self.url) == before
        return result.stderr.strip()


def database_rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every Weft table, in primary key order: a dump to compare."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                name: connection.execute(
                    select(table).order_by(*table.primary_key.columns)
                ).all()
                for name, table in Base.metadata.tables.items()
            }
    finally:
        engine.dispose()


def build_three_host_cluster(weft: Weft) -> None:
    """Three hosts, two networks and four ports made with `weft`, then what the OVSDB manager
    and the controller would write once all is up (done here by hand: no switches run in
    these tests): hosts connected, switches connected with flows, a full tunnel mesh, ports
    bound (blue-3 left unbound) and a fresh controller heartbeat."""
    for n in (1, 2, 3):
        weft.ok("host", "add", f"host-{n}", "--ovsdb", f"tcp:198.18.0.{n}:6640",
                "--tunnel-ip", f"203.0.113.{n}")
    weft.ok("network", "create", "blue", "--vni", "100", "--cidr", "198.51.100.0/24")
    weft.ok("network", "create", "red", "--vni", "200", "--cidr", "198.51.100.0/24")
    bindings = {"blue-1": 1, "blue-2": 2, "red-1": 3, "blue-3": None}
    for port in bindings:
        weft.ok("port", "create", port, "--network", port.split("-")[0])
    now = dt.datetime.now(dt.UTC)
    engine = make_engine(weft.url)
    with engine.begin() as db:
        hosts = dict(db.execute(select(t.Host.name, t.Host.id)).all())
        db.execute(update(t.Host).values(state="connected", last_seen=now))
        db.execute(insert(t.Switch), [
            {"datapath_id": dpid, "connected": True, "flows": 20, "address": None,
             "last_seen": now}
            for dpid in db.execute(select(t.Host.datapath_id)).scalars()
        ])
        db.execute(insert(t.Tunnel), [
            {"host_id": hosts[a], "peer_id": hosts[b], "ofport": 100 + int(b[-1]),
             "status": "up", "updated_at": now}
            for a in hosts for b in hosts if a != b
        ])
        for port, host in bindings.items():
            if host is not None:
                db.execute(update(t.Port).where(t.Port.name == port).values(
                    host_id=hosts[f"host-{host}"], ofport=10 + host, state="bound",
                    bound_at=now,
                ))
        db.execute(insert(t.Controller).values(
            hostname="ctl", pid=4242, version="0.1.0", started_at=now, last_seen=now
        ))
    engine.dispose()


def every_command() -> list[list[str]]:
    """Every command of `weft` (["host", "add"], ["status"], ...), read from the app itself
    so that none can be left out."""
    cli._register_areas()

    def walk(command, path: list[str]) -> list[list[str]]:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            return [path]
        return [found for name, sub in sorted(subcommands.items())
                for found in walk(sub, [*path, name])]

    return walk(typer.main.get_command(cli.app), [])


EVERY_COMMAND = every_command()
EMPTY_STATUS = {
    "healthy": False,  # no controller is running: "down"
    "problems": ["no controller heartbeat in the last 6 s (is `weft controller` running?)"],
    "controllers": [],
    "hosts": [],
    "unknown_datapaths": [],
    "ports": {"bound": 0, "unbound": 0},
    "tunnels": [],
    "tunnel_counts": {"up": 0, "down": 0, "unknown": 0},
    "warnings": [],
}
JSON_COMMANDS = [  # (command, exit code, its JSON on an empty database)
    (["host", "list"], 0, []),
    (["network", "list"], 0, []),
    (["port", "list"], 0, []),
    (["group", "list"], 0, []),
    (["status"], 3, EMPTY_STATUS),
    (["audit"], 0, []),  # no host, no switch to ask about
]


def test_every_area_is_walked():
    assert {command[0] for command in EVERY_COMMAND} == {
        "api", "audit", "cni", "controller", "db", "demo", "group", "host", "lab", "network",
        "port", "status", "token", "topology", "trace",
    }
    assert ["lab", "exec"] in EVERY_COMMAND and ["db", "upgrade"] in EVERY_COMMAND


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=" ".join)
def test_every_command_has_help_with_an_example(migrated_sqlite_url, command):
    help_text = Weft(migrated_sqlite_url).ok(*command, "--help")
    assert "Example" in help_text
    assert f"weft {' '.join(command)}" in help_text


@pytest.mark.parametrize(
    "command, exit_code, expected", JSON_COMMANDS, ids=[" ".join(c[0]) for c in JSON_COMMANDS]
)
def test_lists_on_an_empty_database_give_empty_json(weft, command, exit_code, expected):
    result = weft.run(*command, "--json")
    assert result.exit_code == exit_code
    assert json.loads(result.stdout) == expected


@pytest.mark.parametrize("command", [
    ["network", "list"], ["db", "upgrade"], ["db", "downgrade", "base"], ["db", "current"],
], ids=" ".join)
def test_an_unreachable_database_is_exit_4_with_a_message(tmp_path, command):
    url = f"postgresql://postgres@/weft?host={tmp_path}"  # no server on this socket dir
    result = Weft(url).run(*command)
    assert result.exit_code == 4
    assert result.stderr.startswith("error: cannot use the database:")
    assert "Traceback" not in result.output


def test_a_database_without_the_schema_says_to_upgrade(database_url):
    result = Weft(database_url).run("host", "add", "a", "--ovsdb", "tcp:198.18.0.1:6640",
                                    "--tunnel-ip", "203.0.113.1")
    assert result.exit_code == 4
    assert result.stderr.startswith("error: the database has no Weft schema")
    assert "run `weft db upgrade`" in result.stderr


def test_a_usage_error_is_exit_2_and_writes_nothing(weft):
    before = database_rows(weft.url)
    result = weft.run("network", "create", "blue", "--unregistered-multicast", "sometimes")
    assert result.exit_code == 2
    assert "--unregistered-multicast" in result.stderr
    assert database_rows(weft.url) == before
