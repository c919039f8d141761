"""`weft trace`: where does a packet from this port go, and why? Printed from the flows, never
by sending one (controller/trace.py does the work; this module reads the state and prints).

By default the flows are the desired ones, compiled from the database; with --installed they
are those the switches hold, read through the controller's endpoint (controller/inspection.py),
so a switch that lacks a flow shows a different path.
"""

from __future__ import annotations

from typing import Annotated

import typer

from admin.audit import DEFAULT_CONTROLLER, ControllerUrl
from admin.errors import CommandError, reports_errors
from admin.options import DatabaseUrl, JsonFlag
from admin.output import print_json


def render(result) -> str:
    """A controller.trace.Trace as text: the packet, each host's steps, the verdict."""
    lines = ["packet: " + " ".join(f"{k}={v}" for k, v in result.packet.items())]
    for hop in result.hops:
        lines.append(f"{hop.host}: in from {hop.entered}")
        for step in hop.steps:
            priority = "-" if step.priority is None else step.priority
            lines.append(f"  {step.table:<13} priority {priority:<3} {step.match}")
            lines.append(f"  {'':<13} -> {step.actions}   [{step.owner}]")
        for output in hop.outputs:
            lines.append(f"  out to {output}")
        if hop.dropped:
            lines.append(f"  dropped: {hop.dropped}")
    lines.append(f"verdict: {result.verdict}: {result.reason}")
    return "\n".join(lines)


@reports_errors
def trace(
    source: Annotated[str, typer.Option("--from", help="The sending port (by name).")],
    to: Annotated[str, typer.Option("--to", help="A port name or an IP address (unicast or "
                                    "multicast).")],
    proto: Annotated[str, typer.Option("--proto", help="icmp, tcp or udp.")] = "icmp",
    dport: Annotated[int | None, typer.Option("--dport", help="Destination port.")] = None,
    src_mac: Annotated[str | None, typer.Option(
        "--src-mac", help="Send from this MAC instead of the port's own (spoofing).")] = None,
    src_ip: Annotated[str | None, typer.Option(
        "--src-ip", help="Send from this IP instead of the port's own.")] = None,
    installed: Annotated[bool, typer.Option(
        "--installed", help="Use the flows the switches hold (through the controller), not "
        "the desired ones.")] = False,
    controller: ControllerUrl = DEFAULT_CONTROLLER,
    json_output: JsonFlag = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Follow one packet from a port through every switch it crosses: each table, the flow
    that matched and its owner, and the verdict with its reason. Sends nothing.

    Examples:
      weft trace --from web-1 --to db-1 --proto tcp --dport 5432
      weft trace --from web-1 --to 239.1.1.1 --proto udp
      weft trace --from web-1 --to db-1 --src-mac 02:00:00:00:99:99 --installed
    """
    # Imported here: the compiler and networkx would slow down every other `weft` command.
    from controller.inspection import InspectionError, installed_tables
    from controller.trace import TraceError
    from controller.trace import trace as follow
    from models.snapshot import load_snapshot
    from northbound.session import reading

    with reading(database_url) as session:
        snapshot = load_snapshot(session)
    tables = None
    if installed:
        def tables(host):
            return installed_tables(controller, host.name)
    try:
        result = follow(snapshot, source, to, proto, dport, src_mac, src_ip, tables)
    except TraceError as error:
        raise CommandError(error.field, str(error).split(": ", 1)[1]) from None
    except InspectionError as error:
        raise CommandError("--controller", str(error)) from None
    if json_output:
        print_json(result.as_dict())
    else:
        typer.echo(render(result))
