"""`weft topology`: the cluster as the controller sees it: hosts, the networks present on
each, their bound ports, and the tunnels between hosts.

Both the text tree and the pictures (admin/picture.py) are drawn from the networkx graph of
models/topology.py, built from the same snapshot the controller compiles flows from, so what
is shown here is what the controller works with (not what OVS happens to hold).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from admin.errors import CommandError, reports_errors
from admin.options import DatabaseUrl

if TYPE_CHECKING:  # the models, networkx and graphviz load only when something is drawn
    from models.snapshot import PortView
    from models.topology import Topology


class Format(StrEnum):
    text = "text"
    dot = "dot"
    svg = "svg"
    png = "png"
    html = "html"


def _ports_by_id(topology: Topology) -> dict[int, PortView]:
    return {p.id: p for view in topology.snapshot.networks.values() for p in view.ports}


def _port_line(port: PortView) -> str:
    addresses = " ".join(str(a) for a in port.addresses) or "-"
    return f"{port.name}  {port.mac}  {addresses}  ofport {port.ofport}"


def _tunnels(topology: Topology) -> list[tuple[str, str, str]]:
    """(host, peer, "ofport/status on each end") for every tunnel, by host names."""
    graph = topology.graph
    lines = []
    for a, b, edge in graph.edges(data=True):
        if edge["kind"] != "tunnel":
            continue
        ends = sorted((graph.nodes[n]["name"], n[1]) for n in (a, b))
        state = ", ".join(
            f"{name}: ofport {edge['ofport'].get(host_id)} {edge['status'].get(host_id, 'absent')}"
            for name, host_id in ends
        )
        lines.append((ends[0][0], ends[1][0], state))
    return sorted(lines)


def text_tree(topology: Topology) -> str:
    """Hosts > networks present there > ports bound there; then unbound ports and tunnels."""
    from models.identity import datapath_id_text

    snapshot, graph = topology.snapshot, topology.graph
    ports = _ports_by_id(topology)
    lines = []
    for host in sorted(snapshot.hosts.values(), key=lambda h: h.name):
        lines.append(f"{host.name}  (tunnel ip {host.tunnel_ip}, "
                     f"datapath id {datapath_id_text(host.datapath_id)})")
        by_network: dict[int, list[PortView]] = defaultdict(list)
        for node in graph.neighbors(("host", host.id)):
            if node[0] == "port":
                by_network[ports[node[1]].network_id].append(ports[node[1]])
        for network_id in sorted(by_network, key=lambda n: snapshot.networks[n].name):
            network = snapshot.networks[network_id]
            lines.append(f"  {network.name}  (vni {network.vni})")
            lines += [f"    {_port_line(p)}" for p in sorted(by_network[network_id],
                                                              key=lambda p: p.name)]
    unbound = sorted(
        (p for p in ports.values() if graph.nodes[("port", p.id)]["host_id"] is None),
        key=lambda p: p.name,
    )
    if unbound:
        lines.append("unbound ports:")
        lines += [f"  {p.name}  ({snapshot.networks[p.network_id].name})" for p in unbound]
    tunnels = _tunnels(topology)
    if tunnels:
        lines.append("tunnels:")
        lines += [f"  {a} <-> {b}  ({state})" for a, b, state in tunnels]
    return "\n".join(lines) or "no hosts, no ports"


@reports_errors
def topology(
    output_format: Annotated[Format, typer.Option(
        "--format", help="text (a tree), dot (Graphviz source), svg or png (drawn by dot), "
        "html (one page, the SVG with zoom and pan).")
    ] = Format.text,
    output: Annotated[Path | None, typer.Option(
        "--output", help="Write to this file instead of standard output.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show hosts, the networks present on each, their ports, and the tunnels between hosts.

    Examples:
      weft topology
      weft topology --format png --output cluster.png
      weft topology --format html --output cluster.html
      weft topology --format dot | dot -Tpdf -o cluster.pdf
    """
    from admin.picture import dot_graph, html_page
    from models.snapshot import load_snapshot
    from models.topology import Topology
    from northbound.session import reading

    with reading(database_url) as session:
        graph = Topology.from_snapshot(load_snapshot(session))
    if output_format is Format.text:
        data = (text_tree(graph) + "\n").encode()
    elif output_format is Format.dot:
        data = dot_graph(graph).source.encode()
    else:
        if output_format is Format.png and output is None and sys.stdout.isatty():
            raise CommandError("--output", "a PNG would garble the terminal: give a file "
                               "(or redirect standard output)")
        image = "svg" if output_format is Format.html else output_format.value
        data = dot_graph(graph).pipe(format=image)
        if output_format is Format.html:
            data = html_page(data)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(data)
