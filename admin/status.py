"""`weft status`: is everything up? One screen (or one JSON object) and an exit code.

The report (what is read, and what counts as down) is northbound/status.py's.
"""

from __future__ import annotations

import typer

from admin.errors import EXIT_DEGRADED, reports_errors
from admin.options import DatabaseUrl, JsonFlag
from admin.output import connection, fields, print_json, table


@reports_errors
def status(as_json: JsonFlag = False, database_url: DatabaseUrl = None) -> None:
    """Show whether the controller, hosts, switches and tunnels are up.

    Exit code 0: everything is up.
    Exit code 3: something is down: no controller heartbeat for 6 s, a host (OVSDB) or
    its switch (OpenFlow) not connected, or a tunnel down.
    Unbound ports and tunnels in state "unknown" are shown but are not "down"; nor is a
    port whose interface MTU exceeds its network's, listed under warnings.

    Examples:
      weft status
      until weft status >/dev/null; do sleep 1; done   # wait until all is up
    """
    from northbound.session import reading
    from northbound.status import cluster_status

    with reading(database_url) as session:
        report = cluster_status(session)
    if as_json:
        print_json(report)
    else:
        _print_text(report)
    if not report["healthy"]:
        raise typer.Exit(EXIT_DEGRADED)


def _print_text(report: dict) -> None:
    live = [c for c in report["controllers"] if c["up"]]
    hosts_up = sum(h["up"] for h in report["hosts"])
    tunnels = report["tunnel_counts"]
    typer.echo(fields([
        ("controller", "up: " + ", ".join(f"{c['hostname']} pid {c['pid']}" for c in live)
         if live else "DOWN"),
        ("hosts", f"{hosts_up} of {len(report['hosts'])} up"),
        ("ports", f"{report['ports']['bound']} bound, {report['ports']['unbound']} unbound"),
        ("tunnels", f"{tunnels['up']} up, {tunnels['down']} down, {tunnels['unknown']} unknown"),
    ]))
    if report["hosts"] or report["unknown_datapaths"]:
        typer.echo("\n" + table(
            ["HOST", "OVSDB", "SWITCH", "FLOWS", "LAST_SEEN"],
            [[h["name"], h["state"], connection(h["switch_connected"]), h["flows"], h["last_seen"]]
             for h in report["hosts"]]
            + [[f"(unknown {d['datapath_id']})", None, connection(d["connected"]), None, None]
               for d in report["unknown_datapaths"]],
        ))
    if report["problems"]:
        typer.echo("\nproblems:\n" + "\n".join(f"  {p}" for p in report["problems"]))
    if report["warnings"]:
        typer.echo("\nwarnings:\n" + "\n".join(f"  {w}" for w in report["warnings"]))
