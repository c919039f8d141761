"""What a host's OVSDB holds now, read from the IDL replica into plain frozen values.

Only the columns the manager reads or writes are replicated (see COLUMNS): not the
statistics OVS rewrites every few seconds, which would wake every host's agent for nothing.
Reading happens inside a transaction on the connection's own thread (ovsdb/writes.py), so
the replica cannot change half-way through, and through a RowCache, so that a pass converts
only the rows that changed since the last one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
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
        "name", "type", "options", "bfd", "bfd_status", "external_ids", "ofport", "mtu",
    ),
    "Controller": ("target", "max_backoff", "inactivity_probe", "connection_mode"),
})
# Columns OVS itself keeps rewriting: news to report, never a reason to reconcile.
STATUS_COLUMNS: Mapping[str, tuple[str, ...]] = MappingProxyType({"Interface": ("bfd_status",)})


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
    mtu: int | None = None  # as ovs-vswitchd reports it (None until it has)


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

    def interface_mtus(self) -> dict[str, int]:
        """{iface-id: MTU} of the interfaces that name a port and report an MTU."""
        return {
            iface.external_ids[IFACE_ID_KEY]: iface.mtu
            for port in self.ports.values()
            for iface in port.interfaces
            if IFACE_ID_KEY in iface.external_ids and iface.mtu is not None
        }


class RowCache:
    """What was read from each row, kept until the row changes (`forget`, called from the
    IDL's change notifications, except for STATUS_COLUMNS, which are read afresh). The ovs
    IDL converts a column on every access; re-reading every port on every pass made reading
    the most expensive part of reconciling a host."""

    def __init__(self) -> None:
        self._read: dict = {}

    def forget(self, uuid) -> None:
        self._read.pop(uuid, None)

    def get(self, row, read: Callable):
        found = self._read.get(row.uuid)
        if found is None:
            found = self._read[row.uuid] = read(row)
        return found


@dataclass(frozen=True)
class _BridgeRow:
    name: str
    columns: dict  # ObservedBridge's own fields
    port_rows: tuple
    controller_rows: tuple


@dataclass(frozen=True)
class _PortRow:
    name: str
    external_ids: Mapping[str, str]
    interface_rows: tuple


def read_bridge(tables: Mapping, cache: RowCache) -> ObservedBridge | None:
    """br-int as the IDL replica `tables` holds it, or None if there is none."""
    bridges = (cache.get(row, _read_bridge_row) for row in tables["Bridge"].rows.values())
    bridge = next((b for b in bridges if b.name == INT_BRIDGE), None)
    if bridge is None:
        return None
    ports = {}
    for port_row in bridge.port_rows:
        port = cache.get(port_row, _read_port_row)
        interfaces = tuple(_with_bfd_state(i, cache.get(i, _read_interface))
                           for i in port.interface_rows)
        ports[port.name] = ObservedPort(port.name, port.external_ids, interfaces)
    return ObservedBridge(
        **bridge.columns,
        controllers=tuple(cache.get(c, _read_controller) for c in bridge.controller_rows),
        ports=MappingProxyType(ports),
    )


def _read_bridge_row(row) -> _BridgeRow:
    return _BridgeRow(
        name=row.name,
        columns={
            "datapath_type": row.datapath_type,
            "fail_mode": _optional(row.fail_mode),
            "protocols": frozenset(row.protocols),
            "other_config": _frozen(row.other_config),
            "external_ids": _frozen(row.external_ids),
        },
        port_rows=tuple(row.ports),
        controller_rows=tuple(row.controller),
    )


def _read_port_row(row) -> _PortRow:
    return _PortRow(row.name, _frozen(row.external_ids), tuple(row.interfaces))


def _read_interface(row) -> ObservedInterface:
    """All but the BFD state, which changes too often to be worth caching."""
    ofport = _optional(row.ofport)
    return ObservedInterface(
        name=row.name,
        type=row.type,
        options=_frozen(row.options),
        bfd=_frozen(row.bfd),
        external_ids=_frozen(row.external_ids),
        ofport=ofport if ofport is not None and ofport > 0 else None,
        bfd_state=None,
        mtu=_optional(row.mtu),
    )


def _with_bfd_state(row, interface: ObservedInterface) -> ObservedInterface:
    if interface.bfd.get("enable") != "true":
        return interface
    return dataclasses.replace(interface, bfd_state=row.bfd_status.get("state"))


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
