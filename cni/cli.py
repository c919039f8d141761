"""`weft cni install` and `weft cni gc`: a plug-in of the `weft` command line (the
`weft.commands` entry points in pyproject.toml), run on each container host (docs/cni.md)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from cni import config
from cni.errors import CniError

app = typer.Typer(help="The CNI plugin weft-cni on this host: install it, reap what it left.",
                  no_args_is_help=True)

DEFAULT_BIN_DIR = Path("/opt/cni/bin")
DEFAULT_CONF_DIR = Path("/etc/cni/net.d")


def _option(*names: str, help: str, **kwargs):
    return typer.Option(*names, help=help, **kwargs)


def _fail(error: CniError) -> typer.Exit:
    typer.echo(f"error: {error.msg}", err=True)
    return typer.Exit(1)


@app.command()
def install(
    api: Annotated[str, _option("--api", help="The Weft API's URL, e.g. http://198.18.0.1:8080.")],
    host_token_file: Annotated[Path, _option(
        "--host-token-file", help="File holding this host's token (weft token create NAME "
        "--role host:HOSTNAME).")],
    network: Annotated[list[str] | None, _option(
        "--network", help="Only this Weft network (repeatable; default: every network).")] = None,
    bin_dir: Annotated[Path, _option("--bin-dir", help="CNI plugin directory.")] = DEFAULT_BIN_DIR,
    conf_dir: Annotated[Path, _option(
        "--conf-dir", help="CNI network configuration directory.")] = DEFAULT_CONF_DIR,
    ovs_rundir: Annotated[str, _option(
        "--ovs-rundir", help="This host's OVS run directory (db.sock, br-int.mgmt).")
    ] = config.DEFAULT_OVS_RUNDIR,
    state_dir: Annotated[str, _option(
        "--state-dir", help="Where the plugin records its containers.")] = config.DEFAULT_STATE_DIR,
    timeout: Annotated[float, _option(
        "--timeout", help="Seconds ADD waits for the port's flows.")] = config.DEFAULT_TIMEOUT,
    chain: Annotated[list[str] | None, _option(
        "--chain", help='A plugin to run after weft-cni, as JSON, e.g. \'{"type": "tuning"}\' '
        "(repeatable, in order).")] = None,
) -> None:
    """Link weft-cni into the CNI bin dir and write a network configuration list
    (weft-NETWORK.conflist) for every Weft network this host's token may read, or those given.
    Run it again to pick up new networks; it is idempotent.

    Examples:
      weft cni install --api https://198.18.0.30:8080 --host-token-file /etc/weft/host-token
      weft cni install --api http://198.18.0.30:8080 --host-token-file /etc/weft/host-token \
          --network blue --chain '{"type": "tuning"}'
    """
    from cni.install import install as run_install

    try:
        chained = [json.loads(text) for text in chain or []]
    except ValueError as error:
        typer.echo(f"error: --chain: not JSON: {error}", err=True)
        raise typer.Exit(1) from None
    template = config.Settings(api=api.rstrip("/"), token_file=str(host_token_file.resolve()),
                               network="-", ovs_rundir=ovs_rundir, state_dir=state_dir,
                               timeout=timeout)
    try:
        written = run_install(template, network, bin_dir, conf_dir, chained)
    except CniError as error:
        raise _fail(error) from None
    typer.echo(f"installed {bin_dir / config.PLUGIN_TYPE}")
    for path in written:
        typer.echo(f"wrote {path}")


@app.command()
def gc(
    conf_dir: Annotated[Path, _option(
        "--conf-dir", help="CNI network configuration directory.")] = DEFAULT_CONF_DIR,
    grace: Annotated[float, _option(
        "--grace", help="Seconds a port may stay unplugged after its ADD began.")] = 60.0,
    every: Annotated[float | None, _option(
        "--every", help="Run again every this many seconds, until stopped.")] = None,
) -> None:
    """Remove ports, OVS interfaces, veths and records that weft-cni created on this host for
    containers that are gone (docs/cni.md, "Garbage collection").

    Examples:
      weft cni gc
      weft cni gc --every 60   # keep reaping, once a minute
    """
    from cni.client import ApiClient
    from cni.install import installed_settings
    from cni.reaper import reap

    while True:
        failed = False
        for settings in installed_settings(conf_dir):
            api = ApiClient(settings.api, "")
            try:
                api.token = settings.token()
                for port in reap(settings, api, grace):
                    typer.echo(f"removed {port}")
            except CniError as error:
                typer.echo(f"error: {error.msg}", err=True)
                failed = True
            finally:
                api.close()
        if every is None:
            raise typer.Exit(1 if failed else 0)
        time.sleep(every)
