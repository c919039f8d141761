"""`weft controller`: run the controller service in the foreground."""

from __future__ import annotations

import logging

import typer


def controller(
    database_url: str = typer.Option(
        None,
        "--database-url",
        envvar="WEFT_DATABASE_URL",
        help="Database to read desired state from.",
    ),
    listen: str = typer.Option(
        "0.0.0.0:6653", "--listen", help="HOST:PORT where switches connect (OpenFlow)."
    ),
    resync: float = typer.Option(30.0, help="Seconds between full resyncs (the safety net)."),
    log_level: str = typer.Option("INFO", "--log-level", help="DEBUG, INFO, WARNING or ERROR."),
    controller_target: str = typer.Option(
        None,
        "--controller-target",
        help="Where switches reach this controller, set on every br-int (e.g. "
        "tcp:198.18.0.254:6653). Default: tcp: and the --listen address, unless that is 0.0.0.0.",
    ),
    no_ovsdb: bool = typer.Option(
        False, "--no-ovsdb", help="Do not manage the hosts' OVS (br-int, tunnels, bindings)."
    ),
) -> None:
    """Run the Weft controller: compile the database's desired state into flows on every
    registered host's br-int, and keep them in step.

    Example (in a lab's control namespace):

        weft lab exec ctl -- weft controller --listen 198.18.0.254:6653
    """
    # Imported here: os-ken and friends take most of a second to load, which every other
    # `weft` command would pay for otherwise.
    from controller.runner import OpenFlowSettings
    from controller.service import ControllerService, run_forever
    from models.db import make_engine
    from ovsdb.desired import ControllerSpec

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    host, _, port = listen.rpartition(":")
    ovsdb = None
    if not no_ovsdb:
        if controller_target is None and host in ("", "0.0.0.0"):
            raise typer.BadParameter(
                "switches cannot reach 0.0.0.0: give --controller-target, or --listen an "
                "address, or --no-ovsdb",
                param_hint="--controller-target",
            )
        ovsdb = ControllerSpec(controller_target or f"tcp:{host}:{port}")
    service = ControllerService(
        make_engine(database_url), OpenFlowSettings(host or "0.0.0.0", int(port)), resync,
        ovsdb=ovsdb,
    )
    run_forever(service)
