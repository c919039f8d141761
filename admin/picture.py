"""The pictures of `weft topology`: Graphviz drawings of the cluster, and an HTML page.

Drawn from the networkx graph of models/topology.py and the multicast groups of its
snapshot: hosts (3-D boxes) joined by tunnels coloured by their BFD state, networks
(blue ellipses), ports (rounded boxes) bound to a host and members of a network, multicast
groups (orange hexagons) of a network with a dotted line to each member port. A legend
says what each shape, colour and line style means. `html_page` wraps the SVG in one
self-contained page (no server, no external file) with zoom (wheel) and pan (drag).
"""

from __future__ import annotations

import html

import graphviz

from models.snapshot import PortView
from models.topology import Topology

TUNNEL_COLOURS = {"up": "forestgreen", "down": "red3", "unknown": "grey50"}
NETWORK_STYLE = {"shape": "ellipse", "style": "filled", "fillcolor": "lightblue"}
PORT_STYLE = {"shape": "box", "style": "rounded"}
GROUP_STYLE = {"shape": "hexagon", "style": "filled", "fillcolor": "orange"}
MEMBER_EDGE = {"style": "dotted", "color": "darkorange", "penwidth": "1.5"}
IN_NETWORK_EDGE = {"style": "dashed", "color": "grey60"}


def _node_id(node: tuple[str, int]) -> str:
    return f"{node[0]}{node[1]}"


def _tunnel_status(a, b, edge: dict) -> str:
    """Down if either end is down, up if both are up, else unknown (e.g. one end missing)."""
    ends = [edge["status"].get(node[1]) for node in (a, b)]
    if "down" in ends:
        return "down"
    return "up" if ends == ["up", "up"] else "unknown"


def dot_graph(topology: Topology, legend: bool = True) -> graphviz.Graph:
    """The cluster as a Graphviz graph (see the module's docstring for the drawing)."""
    ports = {p.id: p for view in topology.snapshot.networks.values() for p in view.ports}
    dot = graphviz.Graph("weft", graph_attr={"overlap": "false", "fontname": "Helvetica"},
                         node_attr={"fontname": "Helvetica", "fontsize": "10"},
                         edge_attr={"fontname": "Helvetica"})
    for node, data in sorted(topology.graph.nodes(data=True)):
        if data["kind"] == "host":
            dot.node(_node_id(node), f"{data['name']}\n{data['tunnel_ip']}", shape="box3d")
        elif data["kind"] == "network":
            dot.node(_node_id(node), f"{data['name']}\nvni {data['vni']}", **NETWORK_STYLE)
        else:
            dot.node(_node_id(node), _port_label(ports[node[1]]), **PORT_STYLE)
    for a, b, data in topology.graph.edges(data=True):
        if data["kind"] == "tunnel":
            dot.edge(_node_id(a), _node_id(b), color=TUNNEL_COLOURS[_tunnel_status(a, b, data)],
                     penwidth="2")
        elif data["kind"] == "bound":
            dot.edge(_node_id(a), _node_id(b), label=f"ofport {data['ofport']}", fontsize="8")
        else:
            dot.edge(_node_id(a), _node_id(b), **IN_NETWORK_EDGE)
    _draw_groups(dot, topology)
    if legend:
        dot.subgraph(_legend())
    return dot


def _port_label(port: PortView) -> str:
    addresses = "\n".join(str(a) for a in port.addresses)
    return f"{port.name}\n{addresses}".strip()


def _draw_groups(dot: graphviz.Graph, topology: Topology) -> None:
    for network in topology.snapshot.networks.values():
        for group in network.groups:
            node = f"group{group.id}"
            dot.node(node, f"{group.address}\n{len(group.member_port_ids)} members",
                     tooltip=f"multicast group {group.address} of {network.name}",
                     **GROUP_STYLE)
            dot.edge(node, _node_id(("network", network.id)), color="darkorange")
            for port_id in sorted(group.member_port_ids):
                dot.edge(node, _node_id(("port", port_id)), **MEMBER_EDGE)


def _legend() -> graphviz.Graph:
    """A boxed legend: one sample of each node kind, and one labelled line per edge kind."""
    legend = graphviz.Graph("cluster_legend", graph_attr={
        "label": "Legend", "fontsize": "12", "style": "rounded", "color": "grey70"})
    legend.node("legend_host", "host\ntunnel IP", shape="box3d")
    legend.node("legend_network", "network\nVNI", **NETWORK_STYLE)
    legend.node("legend_port", "port\naddresses", **PORT_STYLE)
    legend.node("legend_group", "multicast group\nmember count", **GROUP_STYLE)
    lines = [
        ("tunnel up (BFD)", {"color": TUNNEL_COLOURS["up"], "penwidth": "2"}),
        ("tunnel down", {"color": TUNNEL_COLOURS["down"], "penwidth": "2"}),
        ("tunnel state unknown", {"color": TUNNEL_COLOURS["unknown"], "penwidth": "2"}),
        ("port bound to a host (ofport)", {}),
        ("port in a network", IN_NETWORK_EDGE),
        ("multicast group member", MEMBER_EDGE),
    ]
    previous = "legend_host"
    for index, (label, style) in enumerate(lines):
        a, b = f"legend_line{index}a", f"legend_line{index}b"
        with legend.subgraph() as row:  # a short horizontal line, then its meaning
            row.attr(rank="same")
            row.node(a, "", shape="point", width="0.05")
            row.node(b, label, shape="plaintext")
            row.edge(a, b, minlen="2", **style)
        legend.edge(previous, a, style="invis")  # rows one below the other
        previous = a
    return legend


def html_page(svg: bytes, title: str = "Weft topology") -> bytes:
    """One self-contained HTML page showing `svg`, with wheel zoom and drag to pan."""
    body = svg.decode()
    body = body[body.index("<svg"):]  # drop the XML declaration and doctype
    return _PAGE.replace("TITLE", html.escape(title)).replace("SVG", body).encode()


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>TITLE</title>
<style>
  html, body { margin: 0; height: 100%; font-family: Helvetica, sans-serif; }
  #view { width: 100%; height: 100%; cursor: grab; }
  #view svg { width: 100%; height: 100%; }
  #help { position: fixed; top: 6px; right: 10px; color: #666; font-size: 12px; }
</style></head>
<body><div id="help">wheel: zoom, drag: pan, double-click: reset</div>
<div id="view">SVG</div>
<script>
(function () {
  var svg = document.querySelector("#view svg");
  svg.removeAttribute("width"); svg.removeAttribute("height");
  var start = svg.viewBox.baseVal, home = [start.x, start.y, start.width, start.height];
  var box = home.slice(), drag = null;
  function show() { svg.setAttribute("viewBox", box.join(" ")); }
  function point(e) {
    var r = svg.getBoundingClientRect();
    return [box[0] + (e.clientX - r.left) / r.width * box[2],
            box[1] + (e.clientY - r.top) / r.height * box[3]];
  }
  svg.addEventListener("wheel", function (e) {
    e.preventDefault();
    var p = point(e), k = e.deltaY < 0 ? 0.8 : 1.25;
    box = [p[0] - (p[0] - box[0]) * k, p[1] - (p[1] - box[1]) * k, box[2] * k, box[3] * k];
    show();
  }, {passive: false});
  svg.addEventListener("mousedown", function (e) { drag = [e.clientX, e.clientY]; });
  window.addEventListener("mouseup", function () { drag = null; });
  window.addEventListener("mousemove", function (e) {
    if (!drag) return;
    var r = svg.getBoundingClientRect();
    box[0] -= (e.clientX - drag[0]) / r.width * box[2];
    box[1] -= (e.clientY - drag[1]) / r.height * box[3];
    drag = [e.clientX, e.clientY];
    show();
  });
  svg.addEventListener("dblclick", function () { box = home.slice(); show(); });
})();
</script></body></html>
"""
