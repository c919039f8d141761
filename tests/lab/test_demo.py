"""The README's demo command: every check passes, twice in a row, and nothing is left."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lab.demo import LAB_NAME
from tests.support.labs import leftovers

pytestmark = pytest.mark.lab  # the demo builds its lab; its database is SQLite

WEFT = str(Path(sys.executable).with_name("weft"))


def test_the_demo_passes_twice_in_a_row_and_leaves_nothing_behind(tmp_path):
    picture = tmp_path / "topology.png"
    for attempt in (1, 2):
        result = subprocess.run(
            [WEFT, "demo", "--picture", str(picture)], capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"attempt {attempt}:\n{result.stdout}\n{result.stderr}"
        assert "5/5 checks: every check passed" in result.stdout
        assert leftovers(LAB_NAME) == []
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
