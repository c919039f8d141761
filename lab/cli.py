"""`weft lab` and `weft demo`: build and drive the lab (real OVS hosts in network namespaces).

A thin layer over lab.Lab; docs/lab.md describes the layout. Every `weft lab` command takes
--name (env WEFT_LAB, default "weft"), so several labs can live side by side. Like every lab
command, these refuse to run in the machine's root network namespace.

The lab sits above the CLI's own layer: admin/ never imports it. These commands join `weft`
as a plug-in, through the `weft.commands` entry points in pyproject.toml (admin/cli.py loads
them), so an installation without the lab (the controller image) has no `weft lab`.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer

from admin.output import print_json
from lab.layout import DEFAULT_NAME, MAX_HOSTS

app = typer.Typer(help="Real OVS hosts in network namespaces, for tests and demos.",
                  no_args_is_help=True)

LabName = Annotated[
    str,
    typer.Option("--name", envvar="WEFT_LAB", help="Lab name: netns prefix and /run/weft-lab/NAME"),
]


def _lab(name: str):
    """The lab named `name` (imported here: `weft --help` need not load the lab)."""
    from lab import Lab

    return Lab(name)


def _reports_errors(command):
    """Turn the lab's expected failures into one line on stderr and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from lab import LabError

        try:
            return command(*args, **kwargs)
        except (LabError, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None

    return wrapper


@app.command()
@_reports_errors
def up(
    hosts: Annotated[int, typer.Option(min=1, max=MAX_HOSTS, help="Number of hosts")] = 3,
    name: LabName = DEFAULT_NAME,
) -> None:
    """Build the lab (after sweeping leftovers of a lab with the same name).

    Examples:
      weft lab up
      weft lab up --hosts 10 --name big
    """
    lab = _lab(name).up(hosts)
    typer.echo(f"lab {name}: {hosts} hosts up; controller address {lab.controller_ip}, "
               f"run clients with `weft lab exec ctl -- ...`")


@app.command()
@_reports_errors
def down(name: LabName = DEFAULT_NAME) -> None:
    """Remove every process, namespace, link and file of the lab.

    Example:
      weft lab down --name big
    """
    _lab(name).down()


@app.command()
@_reports_errors
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
    name: LabName = DEFAULT_NAME,
) -> None:
    """Hosts (daemons, br-int, ports) and containers.

    Examples:
      weft lab status
      weft lab status --json
    """
    report = _lab(name).status()
    if as_json:
        print_json(report.to_dict())
        return
    if not report.up:
        typer.echo(f"lab {name} is not up")
        return
    for host in report.hosts:
        daemons = " ".join(f"{d}={'up' if alive else 'DOWN'}" for d, alive in host.daemons.items())
        bridge = f"br-int ports: {' '.join(host.ports) or '-'}" if host.br_int else "no br-int"
        typer.echo(f"{host.name}  {host.netns}  ovsdb={host.ovsdb_target}  "
                   f"vtep={host.tunnel_ip}  {daemons}  {bridge}")
    for entry in report.containers:
        c = entry.container
        typer.echo(f"{c.port}  on {c.host}  {c.netns}  {c.veth}  {c.mac}  {' '.join(c.ips)}"
                   f"{'' if entry.plugged else '  (NOT PLUGGED)'}")


@app.command()
@_reports_errors
def attach(
    port: Annotated[str, typer.Argument(help="Logical port name (external_ids:iface-id)")],
    host: Annotated[str, typer.Option(help="host1, host2, ...")],
    mac: Annotated[str, typer.Option(help="MAC of the container's eth0")],
    ip: Annotated[list[str], typer.Option(help="IP/PREFIX, repeatable")],
    name: LabName = DEFAULT_NAME,
) -> None:
    """Create a container and plug it into HOST's br-int (which must exist).

    Example:
      weft lab attach web-1 --host host1 --mac 02:00:00:00:01:01 --ip 198.51.100.11/24
    """
    container = _lab(name).attach(port, host, mac, ip)
    typer.echo(f"{port}: {container.netns}, {container.veth} on {host}")


@app.command()
@_reports_errors
def detach(port: str, name: LabName = DEFAULT_NAME) -> None:
    """Remove a container: its OVS port, veth and namespace.

    Example:
      weft lab detach web-1
    """
    _lab(name).detach(port)


@app.command()
@_reports_errors
def restart(
    host: str,
    vswitchd_only: Annotated[bool, typer.Option(help="Restart ovs-vswitchd only")] = False,
    fresh_db: Annotated[bool, typer.Option(help="Start over with an empty database")] = False,
    name: LabName = DEFAULT_NAME,
) -> None:
    """Stop and start a host's OVS daemons; reports containers that lost their port.

    Examples:
      weft lab restart host1 --vswitchd-only
      weft lab restart host2 --fresh-db
    """
    lost = _lab(name).restart(host, vswitchd_only=vswitchd_only, fresh_db=fresh_db)
    if lost:
        typer.echo(f"containers without an OVS port now: {' '.join(lost)}")


@app.command("exec")
@_reports_errors
def exec_(
    target: Annotated[str, typer.Argument(help="ctl, a host name, or a container's port")],
    command: Annotated[list[str], typer.Argument(help="Command and arguments, after --")],
    name: LabName = DEFAULT_NAME,
) -> None:
    """Run a command in TARGET's namespace, with this terminal's stdio and exit status.

    In a host, plain `ovs-vsctl show` / `ovs-appctl dpif/show` reach that host's daemons.

    Examples:
      weft lab exec host1 -- ovs-ofctl -O OpenFlow13 dump-flows br-int
      weft lab exec web-1 -- ping -c 1 198.51.100.12
    """
    result = _lab(name).exec(target, command, check=False, capture=False, timeout=None)
    raise typer.Exit(result.returncode)


def demo(
    picture: Annotated[
        Path, typer.Option("--picture", help="Where to write the topology picture (PNG).")
    ] = Path("weft-demo-topology.png"),
) -> None:
    """Build a 3-host lab, run the controller on SQLite, create two networks with containers
    on every host and a multicast group, check reachability, isolation, multicast and a
    controller restart with real packets, print a report, and remove everything.

    Exit status 0 only if every check passed. Run it inside an isolated network namespace
    (scripts/demo does).

    Example:
      unshare --net sh -c 'ip link set lo up && weft demo'
    """
    from lab.demo import run

    if not run(picture.resolve()):
        raise typer.Exit(1)
