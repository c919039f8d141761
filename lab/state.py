"""The lab's state file: what separate invocations must share (host count, containers,
spawned processes), as JSON in the lab directory.

Changes go through `StateFile.update()`, which holds an exclusive flock for the whole
read-modify-write, so parallel `attach` calls (threads or processes) never lose each other's
records. Each call opens the lock file anew, so threads of one process exclude each other too.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lab.errors import LabError
from lab.layout import CONTAINER_MTU


@dataclass(frozen=True)
class Container:
    """A container: a netns whose eth0 is a veth plugged into a host's br-int."""

    port: str  # the logical port name, external_ids:iface-id of the OVS interface
    host: str
    number: int
    netns: str
    veth: str  # host-side veth, also the OVS port name
    mac: str
    ips: tuple[str, ...]  # with prefix length, e.g. "198.51.100.1/24"
    mtu: int = CONTAINER_MTU  # of both ends of the veth: its network's MTU


@dataclass(frozen=True)
class Spawned:
    """A long-running process started by the lab; (pid, start_time) identifies it for good."""

    pid: int
    start_time: int
    target: str
    argv: tuple[str, ...]
    log: str


@dataclass
class LabState:
    hosts: int
    next_container: int = 1
    containers: dict[str, Container] = field(default_factory=dict)
    spawned: list[Spawned] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict) -> LabState:
        return cls(
            hosts=data["hosts"],
            next_container=data["next_container"],
            containers={
                port: Container(**{**c, "ips": tuple(c["ips"])})
                for port, c in data["containers"].items()
            },
            spawned=[Spawned(**{**s, "argv": tuple(s["argv"])}) for s in data["spawned"]],
        )


class StateFile:
    def __init__(self, lab_dir: Path, lab_name: str) -> None:
        self.path = lab_dir / "lab.json"
        self._lock_path = lab_dir / "lab.lock"
        self._lab_name = lab_name

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> LabState:
        """The current state; LabError if the lab is not up."""
        try:
            return LabState.from_json(json.loads(self.path.read_text()))
        except FileNotFoundError:
            raise LabError(f"lab {self._lab_name} is not up (no {self.path})") from None

    def write(self, state: LabState) -> None:
        """Replace the state atomically (readers never see half a file)."""
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(asdict(state), indent=1))
        tmp.replace(self.path)

    @contextmanager
    def update(self) -> Iterator[LabState]:
        """Lock, read, let the caller change the state, write it back (only if no exception)."""
        if not self._lock_path.parent.is_dir():
            raise LabError(f"lab {self._lab_name} is not up")
        with open(self._lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self.read()
            yield state
            self.write(state)
