"""What the plugin is doing on this host, one small JSON file per port in the state dir.

ADD writes the record before it asks the API for the port, and DEL removes it after
everything else is gone, so a plugin killed at any step leaves a record for the reaper
(cni/reaper.py) to find: which container, which namespace, since when.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Record:
    port: str
    container_id: str
    ifname: str
    netns: str
    network: str
    started: float  # time.time() of the ADD that wrote it


def _path(state_dir: str, port: str) -> Path:
    return Path(state_dir, f"{port}.json")


def write(state_dir: str, record: Record) -> None:
    Path(state_dir).mkdir(parents=True, exist_ok=True)
    path = _path(state_dir, record.port)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(asdict(record)))
    temporary.replace(path)


def remove(state_dir: str, port: str) -> None:
    _path(state_dir, port).unlink(missing_ok=True)


def read_all(state_dir: str) -> dict[str, Record]:
    found = {}
    for path in Path(state_dir).glob("*.json"):
        try:
            record = Record(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            continue  # not ours, or damaged: the port is judged without it
        found[record.port] = record
    return found


def age(record: Record) -> float:
    return time.time() - record.started
