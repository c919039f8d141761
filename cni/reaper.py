"""The reaper: removes what the plugin created for containers that are gone.

A runtime that crashes, a plugin killed between two steps of ADD, a host that restarts: each
can leave a port row (with its MAC and addresses), an OVS interface, a host veth or a
record. `weft cni gc` (run every minute or so on each host, docs/cni.md) finds them all and
removes them the way DEL would.

A port of this host named `cni-...` is alive while its record says which namespace it is in,
that namespace exists, and the host end of its veth is plugged into the bridge as that port
(the veth dies with the namespace). Anything else is dead once its record is older than
`grace` seconds (an ADD in progress is younger than its timeout) or has no record at all
(ADD writes the record before anything else, so a port without one is not being added).
"""

from __future__ import annotations

import time
from pathlib import Path

from cni import link, ovs, records
from cni.client import ApiClient
from cni.config import Settings

DEFAULT_GRACE = 60.0


def _alive(record: records.Record | None, plugged: dict[str, str], port: str) -> bool:
    veth = link.host_veth(port)
    return (record is not None and link.netns_alive(record.netns) and link.exists(veth)
            and plugged.get(veth) == port)


def reap(settings: Settings, api: ApiClient, grace: float = DEFAULT_GRACE) -> list[str]:
    """Remove every dead port of this host and all of its parts; return their names."""
    plugged = ovs.plugged(settings)
    known = records.read_all(settings.state_dir)
    ports = {p["name"] for p in api.ports() if p["name"].startswith(link.PORT_PREFIX)}
    removed = []
    for port in sorted(ports | set(known) | set(plugged.values())):
        record = known.get(port)
        if record is not None and records.age(record) < grace:
            continue
        if _alive(record, plugged, port):
            continue
        veth = link.host_veth(port)
        ovs.unplug(settings, veth)
        link.delete(veth)
        api.delete_port(port)
        records.remove(settings.state_dir, port)
        removed.append(port)
    _remove_stale_temporaries(settings.state_dir, grace)
    return removed


def _remove_stale_temporaries(state_dir: str, grace: float) -> None:
    """Records a killed plugin was writing (records.write's temporary files)."""
    for path in Path(state_dir).glob("*.tmp"):
        try:
            if time.time() - path.stat().st_mtime >= grace:
                path.unlink()
        except FileNotFoundError:
            pass
