"""The controller's copy of the desired state, reloaded part by part as the database changes.

`StateStore` owns the current Snapshot and its Topology. Each reload says which hosts it
affects, so the reconciler recompiles those hosts only: a network's change affects the hosts
where that network was or is present; a host or tunnel change affects hosts whose tunnels or
existence changed. Unchanged parts keep their old objects (views compare by value), which is
what lets the compiler's SectionCache skip them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models.snapshot import HostView, Snapshot, load_host_layer, load_networks
from models.topology import Topology


class StateStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.topology = Topology()
        # Reloads come from the reconciler thread; readers on other threads (the switch
        # connections, snooping, metrics) take the lock.
        self.lock = threading.Lock()

    @property
    def snapshot(self) -> Snapshot:
        return self.topology.snapshot

    def host_for_datapath(self, datapath_id: int) -> HostView | None:
        """The registered host whose br-int has this datapath id (None: an unknown switch)."""
        with self.lock:
            hosts = self.snapshot.hosts.values()
            return next((h for h in hosts if h.datapath_id == datapath_id), None)

    def reload_all(self) -> set[int]:
        """Reload everything; return the hosts whose configuration may have changed."""
        with Session(self._engine) as session, session.begin():
            hosts, tunnels = load_host_layer(session)
            networks = load_networks(session)
        old = self.snapshot
        affected = self._apply_host_layer(hosts, tunnels)
        affected |= self._apply_networks(networks, set(old.networks) | set(networks))
        return affected

    def reload_networks(self, network_ids: Iterable[int]) -> set[int]:
        ids = set(network_ids)
        if not ids:
            return set()
        with Session(self._engine) as session, session.begin():
            networks = load_networks(session, ids)
        return self._apply_networks(networks, ids)

    def reload_hosts(self) -> set[int]:
        with Session(self._engine) as session, session.begin():
            hosts, tunnels = load_host_layer(session)
        return self._apply_host_layer(hosts, tunnels)

    # ------------------------------------------------------------ applying reloads

    def _apply_networks(self, loaded: dict, requested: set[int]) -> set[int]:
        snapshot = self.snapshot
        affected: set[int] = set()
        changes = {}
        for network_id in requested:
            old, new = snapshot.networks.get(network_id), loaded.get(network_id)
            if old == new:
                continue
            for view in (old, new):
                if view is not None:
                    affected |= view.host_ids()
            changes[network_id] = new
        if changes:
            with self.lock:
                self.topology.update(snapshot.with_networks(changes))
        return affected

    def _apply_host_layer(self, hosts: dict, tunnels: dict) -> set[int]:
        old = self.snapshot
        if dict(old.hosts) == hosts and dict(old.tunnels) == tunnels:
            return set()
        before = {h: self.topology.tunnel_ports(h) for h in old.hosts}
        with self.lock:
            self.topology.update(old.with_hosts(hosts, tunnels))
        after = {h: self.topology.tunnel_ports(h) for h in hosts}
        changed_hosts = {
            h for h in old.hosts.keys() | hosts.keys() if old.hosts.get(h) != hosts.get(h)
        }
        changed_tunnels = {h for h in after if before.get(h) is not after[h]}
        return changed_hosts | changed_tunnels
