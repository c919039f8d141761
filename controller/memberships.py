"""The snooped memberships the database holds, mirrored in memory to judge reports cheaply.

Before a report costs a transaction, `Memberships` decides whether it would change
anything: a join for a membership written less than `refresh_after` seconds ago is a
duplicate (the row's expiry is still far off); a leave for a membership that does not exist
is one too; a join for a new group is refused once the port holds `port_limit` snooped
groups, or once the network holds `network_limit` of them (a group counts while at least
one port is a snooped member). Accepted changes are applied to the mirror at once, so the
caps hold within a batch; the snooping thread replaces the mirror from the database every
second (`replace`), which also catches rows that went away by cascade.

Only the snooping thread uses it: no lock.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable

Group = ipaddress.IPv4Address

DUPLICATE, PORT_CAP, NETWORK_CAP = "duplicate", "port-cap", "network-cap"


class Memberships:
    def __init__(self, port_limit: int, network_limit: int, refresh_after: float) -> None:
        self.port_limit = port_limit
        self.network_limit = network_limit
        self.refresh_after = refresh_after
        self._written: dict[int, dict[Group, float]] = {}  # port -> group -> when written
        self._groups: dict[int, Counter] = {}  # network -> group -> snooped members

    def __len__(self) -> int:
        return sum(map(len, self._written.values()))

    def groups_of(self, port_id: int) -> int:
        return len(self._written.get(port_id, ()))

    def join(self, network_id: int, port_id: int, group: Group, now: float) -> str | None:
        """None if the join is to be written (and is now in the mirror), else why not."""
        groups = self._written.setdefault(port_id, {})
        written = groups.get(group)
        if written is not None:
            if now - written < self.refresh_after:
                return DUPLICATE
            groups[group] = now
            return None
        if len(groups) >= self.port_limit:
            return PORT_CAP
        in_network = self._groups.setdefault(network_id, Counter())
        if group not in in_network and len(in_network) >= self.network_limit:
            return NETWORK_CAP
        groups[group] = now
        in_network[group] += 1
        return None

    def leave(self, network_id: int, port_id: int, group: Group) -> str | None:
        """None if the leave is to be written (and is now in the mirror), else why not."""
        groups = self._written.get(port_id, {})
        if groups.pop(group, None) is None:
            return DUPLICATE
        in_network = self._groups[network_id]
        in_network[group] -= 1
        if in_network[group] <= 0:
            del in_network[group]
        return None

    def replace(self, rows: Iterable[tuple[int, int, Group, float]]) -> None:
        """The mirror becomes exactly `rows`: (network id, port id, group, when written)."""
        self._written, self._groups = {}, {}
        for network_id, port_id, group, written in rows:
            self._written.setdefault(port_id, {})[group] = written
            self._groups.setdefault(network_id, Counter())[group] += 1
