"""`weft topology`: the text tree, Graphviz source, and SVG/PNG pictures drawn by `dot`, for a
3-host cluster in the database."""

from __future__ import annotations

import pytest
from test_cli_common import Weft

pytestmark = pytest.mark.postgres

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_text_is_a_tree_of_hosts_networks_ports_then_unbound_ports_and_tunnels(cluster):
    lines = cluster.ok("topology").splitlines()
    hosts = [line for line in lines if line.startswith("host-")]
    assert [h.split()[0] for h in hosts] == ["host-1", "host-2", "host-3"]
    start = lines.index(hosts[0])
    assert lines[start + 1] == "  blue  (vni 100)"
    assert lines[start + 2].split() == [
        "blue-1", "02:00:00:64:00:01", "198.51.100.1", "ofport", "11",
    ]
    host_3 = lines.index(hosts[2])
    assert lines[host_3 + 1] == "  red  (vni 200)"
    assert lines[lines.index("unbound ports:") + 1] == "  blue-3  (blue)"
    tunnels = lines[lines.index("tunnels:") + 1:]
    assert tunnels[0] == "  host-1 <-> host-2  (host-1: ofport 102 up, host-2: ofport 101 up)"
    assert len(tunnels) == 3


def test_dot_source_has_every_host_network_and_port(cluster):
    source = cluster.ok("topology", "--format", "dot")
    assert source.startswith("graph weft {")
    for name in ("host-1", "host-2", "host-3", "blue", "red", "blue-1", "blue-3", "red-1"):
        assert f'label="{name}' in source
    assert source.count("forestgreen") == 3 + 1  # three tunnels, all up; the legend's sample


def test_png_to_a_file_and_svg_to_stdout(cluster, tmp_path):
    picture = tmp_path / "cluster.png"
    assert cluster.ok("topology", "--format", "png", "--output", str(picture)) == ""
    assert picture.read_bytes().startswith(PNG_MAGIC)
    result = cluster.run("topology", "--format", "svg")
    assert result.exit_code == 0
    assert b"<svg" in result.stdout_bytes and b"203.0.113.1" in result.stdout_bytes


def test_an_empty_database_says_so(migrated_sqlite_url):
    assert Weft(migrated_sqlite_url).ok("topology") == "no hosts, no ports\n"


def test_html_is_one_page_with_the_drawing_inline(cluster, tmp_path):
    page = tmp_path / "cluster.html"
    assert cluster.ok("topology", "--format", "html", "--output", str(page)) == ""
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and text.count("<svg") == 1
    assert "203.0.113.1" in text and "Legend" in text
