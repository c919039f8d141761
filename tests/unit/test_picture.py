"""`weft topology` pictures of the demo's layout: PNG and SVG drawn by Graphviz, with a
legend and the multicast groups (the SVG is parsed, not grepped), and the HTML page."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from admin.picture import dot_graph, html_page
from lab.demo import GROUP, MEMBERS, PORTS
from models.topology import Topology
from tests.support.cluster import ClusterSpec, GroupSpec, PortSpec, snapshot

SVG = "{http://www.w3.org/2000/svg}"


def demo_topology() -> Topology:
    spec = ClusterSpec(
        hosts=["host1", "host2", "host3"],
        networks={"blue": 100, "red": 200},
        ports=[PortSpec(name, network, f"02:00:00:00:00:{i + 1:02x}", (ip,), host, i + 1)
               for i, (name, network, host, ip) in enumerate(PORTS)],
        groups=[GroupSpec("blue", GROUP, MEMBERS)],
    )
    return Topology.from_snapshot(snapshot(spec))


def svg_parts(svg: bytes) -> dict[str, dict[str, list[str]]]:
    """{class: {title: [texts]}} of the SVG's node, edge and cluster groups."""
    parts: dict[str, dict[str, list[str]]] = {"node": {}, "edge": {}, "cluster": {}}
    for g in ET.fromstring(svg).iter(f"{SVG}g"):
        kind = g.get("class")
        if kind in parts:
            title = g.find(f"{SVG}title").text
            parts[kind][title] = [t.text for t in g.iter(f"{SVG}text")]
    return parts


def test_the_svg_has_a_legend_and_the_group_with_its_members():
    parts = svg_parts(dot_graph(demo_topology()).pipe(format="svg"))
    assert parts["cluster"]["cluster_legend"] == ["Legend"]
    legend = {text for title, texts in parts["node"].items() if title.startswith("legend_")
              for text in texts}
    assert {"tunnel up (BFD)", "tunnel down", "port in a network", "multicast group member",
            "multicast group", "host"} <= legend
    [group] = [title for title in parts["node"] if title.startswith("group")]
    assert parts["node"][group] == [GROUP, f"{len(MEMBERS)} members"]
    names = {texts[0]: title for title, texts in parts["node"].items() if texts}
    member_edges = {title for title in parts["edge"] if title.startswith(f"{group}--port")}
    assert member_edges == {f"{group}--{names[m]}" for m in MEMBERS}
    assert f"{group}--{names['blue']}" in parts["edge"]
    assert {names[name] for name, *_ in PORTS} <= parts["node"].keys()


def test_the_png_is_drawn_and_the_html_page_is_self_contained():
    graph = dot_graph(demo_topology())
    png = graph.pipe(format="png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    page = html_page(graph.pipe(format="svg")).decode()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 1
    assert "addEventListener(\"wheel\"" in page
    assert " src=" not in page and "<link" not in page  # nothing to fetch
    svg = page[page.index("<svg"):page.index("</svg>") + 6]
    assert svg_parts(svg.encode())["cluster"]["cluster_legend"] == ["Legend"]
