"""What a host's OVSDB holds now, read from the IDL replica into plain frozen values.

Only the columns the manager reads or writes are replicated (see COLUMNS): not the
statistics OVS rewrites every few seconds, which would wake every host's agent for nothing.
Reading happens inside a transaction on the connection's own thread (ovsdb/writes.py), so
the replica cannot change half-way through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ovsdb.desired import INT_BRIDGE, OWNER, OWNER_KEY, ControllerSpec

IFACE_ID_KEY = "iface-id"

# Table -> the columns the IDL replicates.
COLUMNS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "Open_vSwitch": ("bridges",),
    "Bridge": (
        "name", "ports", "controller", "fail_mode", "protocols", "datapath_type",
        "other_config", "external_ids",
    ),
    "Port": ("name", "interfaces", "external_ids"),
    "Interface": (
        "name", "type", "options", "bfd", "bfd_status", "external_ids", "ofport",
    ),
    "Controller": ("target", "max_backoff", "inactivity_probe", "connection_mode"),
})


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class ObservedInterface:
    name: str
    type: str
    options: Mapping[str, str]
    bfd: Mapping[str, str]
    external_ids: Mapping[str, str]
    ofport: int | None  # None until ovs-vswitchd has numbered it (or could not: -1 -> None)
    bfd_state: str | None  # BFD's view of the peer: "up", "down", "init", "admin_down"


@dataclass(frozen=True)
class ObservedPort:
    name: str
    external_ids: Mapping[str, str]
    interfaces: tuple[ObservedInterface, ...]

    @property
    def owned(self) -> bool:
        return self.external_ids.get(OWNER_KEY) == OWNER


@dataclass(frozen=True)
class ObservedBridge:
    datapath_type: str
    fail_mode: str | None
    protocols: frozenset[str]
    other_config: Mapping[str, str]
    external_ids: Mapping[str, str]
    controllers: tuple[ControllerSpec, ...]
    ports: Mapping[str, ObservedPort]

    def bound_interfaces(self) -> dict[str, int]:
        """{iface-id: ofport} of the numbered interfaces that name a port (containers)."""
        return {
            iface.external_ids[IFACE_ID_KEY]: iface.ofport
            for port in self.ports.values()
            for iface in port.interfaces
            if IFACE_ID_KEY in iface.external_ids and iface.ofport is not None
        }


def read_bridge(tables: Mapping) -> ObservedBridge | None:
    """br-int as the IDL replica `tables` holds it, or None if there is none."""
    row = next((b for b in tables["Bridge"].rows.values() if b.name == INT_BRIDGE), None)
    if row is None:
        return None
    return ObservedBridge(
        datapath_type=row.datapath_type,
        fail_mode=_optional(row.fail_mode),
        protocols=frozenset(row.protocols),
        other_config=_frozen(row.other_config),
        external_ids=_frozen(row.external_ids),
        controllers=tuple(_read_controller(c) for c in row.controller),
        ports=MappingProxyType({p.name: _read_port(p) for p in row.ports}),
    )


def _read_port(row) -> ObservedPort:
    return ObservedPort(
        name=row.name,
        external_ids=_frozen(row.external_ids),
        interfaces=tuple(_read_interface(i) for i in row.interfaces),
    )


def _read_interface(row) -> ObservedInterface:
    ofport = _optional(row.ofport)
    return ObservedInterface(
        name=row.name,
        type=row.type,
        options=_frozen(row.options),
        bfd=_frozen(row.bfd),
        external_ids=_frozen(row.external_ids),
        ofport=ofport if ofport is not None and ofport > 0 else None,
        bfd_state=row.bfd_status.get("state"),
    )


def _read_controller(row) -> ControllerSpec:
    return ControllerSpec(
        target=row.target,
        max_backoff=_optional(row.max_backoff),
        inactivity_probe=_optional(row.inactivity_probe),
        connection_mode=_optional(row.connection_mode),
    )


def _optional(value):
    """OVSDB optional columns read as [] or [value] through the IDL."""
    return value[0] if value else None
