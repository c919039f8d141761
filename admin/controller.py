"""`weft controller`: run the controller service in the foreground."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def option(*names: str, help: str, **kwargs):
    return typer.Option(*names, help=help, show_default=False, **kwargs)


def controller(
    config_file: Annotated[
        Path | None,
        option("--config", envvar="WEFT_CONFIG", help="TOML settings file (docs/operations.md)."),
    ] = None,
    database_url: Annotated[
        str | None, option("--database-url", help="Database URL (env WEFT_DATABASE_URL).")
    ] = None,
    listen: Annotated[
        str | None, option("--listen", help="HOST:PORT for switches (default 0.0.0.0:6653).")
    ] = None,
    controller_target: Annotated[
        str | None,
        option(
            "--controller-target",
            help="Where switches reach this controller, set on every br-int (e.g. "
            "tcp:198.18.0.254:6653). Default: tcp: and the --listen address, unless 0.0.0.0.",
        ),
    ] = None,
    no_ovsdb: Annotated[
        bool, option("--no-ovsdb", help="Do not manage the hosts' OVS over OVSDB.")
    ] = False,
    metrics: Annotated[
        str | None, option("--metrics", help="HOST:PORT to serve Prometheus /metrics and the "
                            "switch inspection of weft audit and weft trace --installed on.")
    ] = None,
    resync: Annotated[
        float | None, option("--resync", help="Seconds between full resyncs (default 30).")
    ] = None,
    audit_interval: Annotated[
        float | None,
        option("--audit-interval", help="Seconds between audits of each switch (default 60; "
               "0: never)."),
    ] = None,
    log_level: Annotated[
        str | None, option("--log-level", help="DEBUG, INFO (default), WARNING or ERROR.")
    ] = None,
    log_format: Annotated[
        str | None, option("--log-format", help="text (default) or json, one object a line.")
    ] = None,
) -> None:
    """Run the Weft controller: compile the database's desired state into flows on every
    registered host's br-int, provision the hosts' OVS over OVSDB, and keep both in step.

    Settings come from defaults, then --config FILE, then WEFT_* environment variables, then
    these options. It stops cleanly on SIGTERM or Ctrl-C; switches keep forwarding meanwhile.

    Example (in a lab's control namespace):

        weft lab exec ctl -- weft controller --listen 198.18.0.254:6653 --metrics 198.18.0.254:9464
    """
    # Imported here: os-ken and friends take most of a second to load, which every other
    # `weft` command would pay for otherwise.
    from controller import logs
    from controller.config import ConfigError, ControllerConfig

    overrides = {
        "database_url": database_url,
        "openflow_listen": listen,
        "controller_target": controller_target,
        "manage_ovsdb": False if no_ovsdb else None,
        "metrics_listen": metrics,
        "resync_interval": resync,
        "audit_interval": audit_interval,
        "log_level": log_level,
        "log_format": log_format,
    }
    try:
        config = ControllerConfig.load(config_file, overrides=overrides)
    except ConfigError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    logs.configure(config.log_level, config.log_format)
    from controller.service import ControllerService, run_forever  # after logging is set up

    run_forever(ControllerService(config))
