"""The lab: real Open vSwitch hosts, each in its own network namespace, on one machine.

`Lab` is the API (see lab/api.py and docs/lab.md); `require_isolated` is the guard the lab
applies before running any client (see lab/netns.py).

The names below are loaded on first use (PEP 562), so that `weft --help`, which imports
lab.cli and lab.layout, does not pay for the whole lab.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "Lab": "lab.api",
    "LabStatus": "lab.api",
    "CommandError": "lab.errors",
    "LabError": "lab.errors",
    "Host": "lab.layout",
    "NotIsolatedError": "lab.netns",
    "require_isolated": "lab.netns",
    "Container": "lab.state",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'lab' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
