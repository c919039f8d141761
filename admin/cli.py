"""The `weft` command line: one Typer app, one sub-app per area.

Each area (hosts, networks, ports, groups, lab, ...) lives in its own module under admin/ and
exposes a `app = typer.Typer(...)`; this module only wires them together, so that adding an
area never touches another's code.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="weft",
    help="Weft: an Open vSwitch SDN controller for multi-host container networks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_areas() -> None:
    from admin import db, lab
    from admin.controller import controller

    app.add_typer(db.app, name="db")
    app.add_typer(lab.app, name="lab")
    app.command()(controller)


def main() -> None:
    _register_areas()
    app()


if __name__ == "__main__":
    main()
