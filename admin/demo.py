"""`weft demo`: the whole overlay on one machine, checked end to end (see lab/demo.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


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
