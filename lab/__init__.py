"""The lab: real Open vSwitch hosts, each in its own network namespace, on one machine.

`Lab` is the API (see lab/api.py and docs/lab.md); `require_isolated` is the guard the lab
applies before running any client (see lab/netns.py).
"""

from lab.api import Lab, LabStatus
from lab.errors import CommandError, LabError
from lab.layout import Host
from lab.netns import NotIsolatedError, require_isolated
from lab.state import Container

__all__ = [
    "CommandError",
    "Container",
    "Host",
    "Lab",
    "LabError",
    "LabStatus",
    "NotIsolatedError",
    "require_isolated",
]
