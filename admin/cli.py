"""The `weft` command line: one Typer app, one sub-app per area.

Each area (hosts, networks, ports, groups, ...) lives in its own module under admin/ and
exposes a `app = typer.Typer(...)`; this module only wires them together, so that adding an
area never touches another's code. Other front ends (`weft api`) and layers above the CLI
(the lab and its demo) add their commands as plug-ins: `weft.commands` entry points naming
a Typer app (a group of commands) or a function (one command), loaded here by name only.

Start-up is kept short: the area modules import only Typer at load time, and each command
imports the operations (northbound/, SQLAlchemy) when it runs; `weft --help` never loads the
database layer.
"""

from __future__ import annotations

import functools
import os
from importlib.metadata import entry_points

import typer

from admin.options import DATABASE_URL_ENV, DatabaseUrl

PLUGIN_GROUP = "weft.commands"

app = typer.Typer(
    name="weft",
    help="Weft: an Open vSwitch SDN controller for multi-host container networks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main_options(database_url: DatabaseUrl = None) -> None:
    """Weft: an Open vSwitch SDN controller for multi-host container networks.

    --database-url here holds for the command that follows (it may be given there too).
    """
    if database_url:
        os.environ[DATABASE_URL_ENV] = database_url


@functools.cache  # once per process, however many callers (main, tests)
def _register_areas() -> None:
    from admin import db, groups, hosts, networks, ports, tokens
    from admin.audit import audit
    from admin.controller import controller
    from admin.status import status
    from admin.topology import topology
    from admin.trace import trace

    app.add_typer(db.app, name="db")
    app.command()(controller)
    app.add_typer(hosts.app, name="host")
    app.add_typer(networks.app, name="network")
    app.add_typer(ports.app, name="port")
    app.add_typer(groups.app, name="group")
    app.add_typer(tokens.app, name="token")
    app.command()(status)
    app.command()(topology)
    app.command()(trace)
    app.command()(audit)
    for plugin in entry_points(group=PLUGIN_GROUP):
        try:
            command = plugin.load()
        except ImportError:  # a plug-in not installed here (e.g. the lab in a service image)
            continue
        if isinstance(command, typer.Typer):
            app.add_typer(command, name=plugin.name)
        else:
            app.command(plugin.name)(command)


def main() -> None:
    _register_areas()
    app()


if __name__ == "__main__":
    main()
