"""`weft api`: serve the HTTP API in the foreground (docs/api.md).

A plug-in of the `weft` command line (the `weft.commands` entry points in pyproject.toml),
like the lab's commands: admin/ and api/ are sibling front ends and never import each other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def _option(*names: str, help: str, **kwargs):
    return typer.Option(*names, help=help, show_default=False, **kwargs)


def api(
    config_file: Annotated[Path | None, _option(
        "--config", envvar="WEFT_API_CONFIG", help="TOML settings file (docs/api.md).")] = None,
    database_url: Annotated[str | None, _option(
        "--database-url", help="Database URL (env WEFT_DATABASE_URL).")] = None,
    listen: Annotated[str | None, _option(
        "--listen", help="HOST:PORT to serve on (default 127.0.0.1:8080).")] = None,
    cert: Annotated[str | None, _option(
        "--cert", help="TLS certificate (PEM); with --key the API serves HTTPS.")] = None,
    key: Annotated[str | None, _option("--key", help="TLS private key (PEM).")] = None,
    log_level: Annotated[str | None, _option(
        "--log-level", help="DEBUG, INFO (default), WARNING or ERROR.")] = None,
) -> None:
    """Serve the HTTP API: hosts, networks, ports, groups and status as JSON, for bearer
    tokens made with `weft token create`. OpenAPI at /openapi.json, a docs page at /docs.

    Settings come from defaults, then --config FILE, then WEFT_* environment variables, then
    these options. Run any number of them against one PostgreSQL. Stops on SIGTERM.

    Examples:
      weft api --listen 0.0.0.0:8080 --database-url postgresql://weft@db/weft
      weft api --listen 0.0.0.0:8443 --cert api.crt --key api.key
    """
    from api.config import ApiConfig
    from controller.config import ConfigError

    overrides = {"database_url": database_url, "api_listen": listen, "tls_cert": cert,
                 "tls_key": key, "log_level": log_level}
    try:
        config = ApiConfig.load(config_file, overrides=overrides)
    except ConfigError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    from api.server import serve

    serve(config)
