"""`weft audit`: compare each switch's flows and groups with the desired state, now.

The controller reads the switches (they connect to it, not to us) and answers on its HTTP
endpoint (controller/inspection.py); this command asks it, host by host, and prints the
differences with their owners. It repairs nothing: the controller's periodic audit does
(`audit_interval`, docs/operations.md).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import typer

from admin.errors import EXIT_DEGRADED, CommandError, reports_errors
from admin.options import DatabaseUrl, JsonFlag
from admin.output import print_json, table

ControllerUrl = Annotated[str, typer.Option(
    "--controller", envvar="WEFT_CONTROLLER_URL",
    help="The controller's HTTP endpoint: http:// and its metrics_listen address.")]
DEFAULT_CONTROLLER = "http://127.0.0.1:9464"


def audit_hosts(controller: str, hosts: list[str]) -> list[dict]:
    """The controller's audit of each host: {"host", "flows_read", "bytes_read",
    "differences"} or {"host", "error"}."""
    from controller.inspection import InspectionError, fetch_json  # not for other commands

    results = []
    for name in hosts:
        try:
            results.append(fetch_json(controller, f"/switches/{quote(name, safe='')}/audit"))
        except InspectionError as error:
            results.append({"host": name, "error": str(error)})
    return results


def _text(result: dict) -> str:
    if "error" in result:
        return f"{result['host']}: cannot audit: {result['error']}"
    differences = result["differences"]
    head = (f"{result['host']}: {result['flows_read']} flows read ({result['bytes_read']} bytes), "
            f"{len(differences) or 'no'} difference{'s' if len(differences) != 1 else ''}")
    if not differences:
        return head
    rows = [
        (d["kind"], d["what"], d.get("table", d.get("group_id", "")), d.get("priority", ""),
         d.get("match", d.get("buckets", "")), d.get("actions", d.get("installed", "")),
         d.get("owner", ""))
        for d in differences
    ]
    body = table(["KIND", "WHAT", "TABLE/ID", "PRIO", "MATCH/BUCKETS", "ACTIONS/INSTALLED",
                  "OWNER"], rows)
    return head + "\n" + "\n".join("  " + line for line in body.splitlines())


@reports_errors
def audit(
    host: Annotated[str | None, typer.Option("--host", help="Audit this host only.")] = None,
    controller: ControllerUrl = DEFAULT_CONTROLLER,
    json_output: JsonFlag = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Compare every switch's installed flows and groups with the desired state and print
    the differences (missing, extra, rogue, foreign flows; missing, changed, extra groups).
    Exit code 3 when there is any difference or a switch cannot be read.

    Examples:
      weft audit --controller http://198.18.0.254:9464
      weft audit --host host2 --json
    """
    from models.snapshot import load_host_layer
    from northbound.session import reading

    with reading(database_url) as session:
        hosts, _tunnels = load_host_layer(session)
    names = sorted(h.name for h in hosts.values())
    if host is not None:
        if host not in names:
            raise CommandError("--host", f"no host named {host!r}")
        names = [host]
    results = audit_hosts(controller, names)
    if json_output:
        print_json(results)
    else:
        typer.echo("\n".join(_text(r) for r in results) or "no hosts")
    if any("error" in r or r["differences"] for r in results):
        raise typer.Exit(EXIT_DEGRADED)
