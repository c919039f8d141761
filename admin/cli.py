"""The `weft` command line: one Typer app, one sub-app per area.

Each area (hosts, networks, ports, groups, lab, ...) lives in its own module under admin/ and
exposes a `app = typer.Typer(...)`; this module only wires them together, so that adding an
area never touches another's code.
"""

from __future__ import annotations

import functools

import typer

app = typer.Typer(
    name="weft",
    help="Weft: an Open vSwitch SDN controller for multi-host container networks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@functools.cache  # once per process, however many callers (main, tests)
def _register_areas() -> None:
    from admin import db, groups, hosts, lab, networks, ports
    from admin.audit import audit
    from admin.controller import controller
    from admin.demo import demo
    from admin.status import status
    from admin.topology import topology
    from admin.trace import trace

    app.add_typer(db.app, name="db")
    app.add_typer(lab.app, name="lab")
    app.command()(controller)
    app.add_typer(hosts.app, name="host")
    app.add_typer(networks.app, name="network")
    app.add_typer(ports.app, name="port")
    app.add_typer(groups.app, name="group")
    app.command()(status)
    app.command()(topology)
    app.command()(demo)
    app.command()(trace)
    app.command()(audit)


def main() -> None:
    _register_areas()
    app()


if __name__ == "__main__":
    main()
