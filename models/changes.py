"""What the controller hears when the database changes: one `Change` per row written.

The migrations' triggers send each as JSON on PostgreSQL's `weft_changes` channel
(docs/development.md); controller/changes.py turns those, or SQLite's polling, into batches
of Change, which the reconciler and the OVSDB manager read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

NETWORK_TABLES = frozenset(
    {"networks", "subnets", "ports", "port_addresses", "multicast_groups", "group_members"}
)
HOST_TABLES = frozenset({"hosts", "tunnels"})


@dataclass(frozen=True, slots=True)
class Change:
    """One row written: `table` and `op` as the trigger saw them. `table` "*" means
    "something changed, reload everything"."""

    table: str
    op: str = ""
    id: int | None = None
    network_id: int | None = None

    @classmethod
    def from_payload(cls, payload: str) -> Change:
        data = json.loads(payload)
        return cls(data["table"], data.get("op", ""), data.get("id"), data.get("network_id"))

    @property
    def affected_network(self) -> int | None:
        if self.table == "networks":
            return self.id
        return self.network_id if self.table in NETWORK_TABLES else None


EVERYTHING = Change("*")
