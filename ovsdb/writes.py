"""One reconcile of one host as an ovsdbapp command: read the replica, plan, write.

`ReconcileCommand` runs on the connection's own thread inside ovsdbapp's transaction, so
the replica it reads is the one the transaction is checked against, and an empty plan sends
nothing to the server at all (the IDL reports an unchanged transaction). Map columns of rows
that already exist are changed key by key (mutations), and ports are added to and removed
from br-int by mutating its port set: whatever others wrote there meanwhile is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ovsdbapp.backend.ovs_idl.command import BaseCommand

from ovsdb.desired import INT_BRIDGE, ControllerSpec, DesiredSwitch, TunnelSpec
from ovsdb.observed import ObservedBridge, read_bridge
from ovsdb.plan import Plan, TunnelFix, plan


@dataclass(frozen=True)
class Outcome:
    """What a reconcile saw (before its own writes) and what it wrote."""

    observed: ObservedBridge | None
    plan: Plan


class ReconcileCommand(BaseCommand):
    """Bring br-int to `desired` in the transaction this command runs in. After the
    transaction, `result` is an Outcome and `committed` says whether it wrote anything."""

    def __init__(self, api, desired: DesiredSwitch) -> None:
        super().__init__(api)
        self.desired = desired
        self.committed = False

    def run_idl(self, txn) -> None:
        tables = self.api.tables
        observed = read_bridge(tables, self.api.cache)
        changes = plan(self.desired, observed)
        if changes.writes:
            txn.add_comment(f"weft: reconcile {self.desired.host_name}")
            apply(txn, tables, changes)
        self.result = Outcome(observed, changes)

    def __str__(self) -> str:
        """Short: ovsdbapp puts the commands of a failed transaction in its error message."""
        return f"ReconcileCommand({self.desired.host_name})"

    def post_commit(self, txn) -> None:
        # ovsdbapp calls this only for a transaction the server committed, never for an
        # unchanged one: it is the count of transactions that wrote.
        self.committed = True


def apply(txn, tables: Mapping, changes: Plan) -> None:
    """Write `changes` into the IDL transaction `txn`."""
    if changes.create_bridge:
        bridge = _create_bridge(txn, tables, changes)
    else:
        bridge = next(b for b in tables["Bridge"].rows.values() if b.name == INT_BRIDGE)
        for column, keys in changes.bridge_keys.items():
            for key, value in keys.items():
                bridge.setkey(column, key, value)
        for tunnel in changes.add_tunnels:
            bridge.addvalue("ports", _insert_tunnel(txn, tables, tunnel))
        if changes.fix_tunnels or changes.delete_ports:
            ports = {port.name: port for port in bridge.ports}
            for fix in changes.fix_tunnels:
                _fix_tunnel(ports[fix.port], fix)
            for name in changes.delete_ports:
                bridge.delvalue("ports", ports[name])
    for column, setting in changes.bridge_columns.items():
        setattr(bridge, column, _column_value(setting))
    if changes.controller is not None:
        bridge.controller = [_insert_controller(txn, tables, changes.controller)]
    else:
        for column, setting in changes.controller_settings.items():
            setattr(bridge.controller[0], column, setting)


def _create_bridge(txn, tables: Mapping, changes: Plan):
    """br-int with its internal port (unmarked: it comes and goes with the bridge) and its
    tunnels, registered in the Open_vSwitch root row (created too on a blank database)."""
    internal = txn.insert(tables["Interface"])
    internal.name, internal.type = INT_BRIDGE, "internal"
    port = txn.insert(tables["Port"])
    port.name, port.interfaces = INT_BRIDGE, [internal]
    bridge = txn.insert(tables["Bridge"])
    bridge.name = INT_BRIDGE
    for column, keys in changes.bridge_keys.items():
        setattr(bridge, column, dict(keys))
    bridge.ports = [port, *(_insert_tunnel(txn, tables, t) for t in changes.add_tunnels)]
    root = next(iter(tables["Open_vSwitch"].rows.values()), None) or txn.insert(
        tables["Open_vSwitch"]
    )
    root.addvalue("bridges", bridge)
    return bridge


def _insert_tunnel(txn, tables: Mapping, tunnel: TunnelSpec):
    iface = txn.insert(tables["Interface"])
    iface.name, iface.type = tunnel.port, "vxlan"
    iface.options, iface.bfd, iface.external_ids = tunnel.options, tunnel.bfd, tunnel.external_ids
    port = txn.insert(tables["Port"])
    port.name, port.interfaces, port.external_ids = tunnel.port, [iface], tunnel.external_ids
    return port


def _fix_tunnel(port, fix: TunnelFix) -> None:
    iface = port.interfaces[0]
    for column, value in fix.interface.items():
        setattr(iface, column, value)
    for key, value in fix.external_ids.items():
        iface.setkey("external_ids", key, value)
        port.setkey("external_ids", key, value)


def _insert_controller(txn, tables: Mapping, spec: ControllerSpec):
    controller = txn.insert(tables["Controller"])
    controller.target = spec.target
    for column, value in spec.settings.items():
        setattr(controller, column, value)
    return controller


def _column_value(value: Any) -> Any:
    """The IDL takes sets as lists, sets or tuples, not frozensets."""
    return sorted(value) if isinstance(value, frozenset) else value
