"""Rendering command results: aligned text for people, JSON for scripts.

Commands build plain dicts and lists (the JSON keys documented in docs/cli.md) and render
their text from the same data, so the two outputs never disagree (the records' values:
northbound/records.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import typer


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2))


def connection(connected: bool | None) -> str | None:
    """A switch's OpenFlow connection as text; None for a switch that never connected."""
    return None if connected is None else ("connected" if connected else "disconnected")


def count(number: int) -> str:
    """A count people read at a glance: 1,234,567 up to a billion, then 1.8e19 (the free
    addresses of an IPv6 /64 are 18,446,744,073,709,551,614). JSON keeps the exact number."""
    return f"{number:,}" if number < 10**9 else f"{number:.2g}".replace("e+", "e")


def cell(value: Any) -> str:
    """One value as table text: '-' for nothing, lists comma-separated."""
    if value is None or value == []:
        return "-"
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Left-aligned columns separated by two spaces, headers first."""
    lines = [list(headers)] + [[cell(v) for v in row] for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    return "\n".join(
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def fields(pairs: Sequence[tuple[str, Any]]) -> str:
    """`label: value` lines with the values aligned, for `show` commands."""
    width = max(len(label) for label, _ in pairs) + 1
    return "\n".join(f"{label + ':':<{width}} {cell(value)}" for label, value in pairs)
