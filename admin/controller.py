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

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    host, _, port = listen.rpartition(":")
    service = ControllerService(
        make_engine(database_url), OpenFlowSettings(host or "0.0.0.0", int(port)), resync
    )
    run_forever(service)
