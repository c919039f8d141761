"""The difference between a host's desired and observed br-int: what one transaction must do.

Pure, and minimal on purpose: a plan only holds what differs, so an unchanged host gives an
empty plan and no transaction is sent at all. Two rules from the platform shape it:
- the controller is replaced only when it is not already exactly our target (setting a
  controller makes OVS flush every flow); its other settings are fixed in place;
- ports without Weft's marker are never touched, not even when one takes a name we want.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ovsdb.desired import FAIL_MODE, PROTOCOLS, ControllerSpec, DesiredSwitch, TunnelSpec
from ovsdb.observed import ObservedBridge, ObservedPort


@dataclass(frozen=True)
class TunnelFix:
    """What to rewrite on one of Weft's tunnel ports: whole interface columns (type, options,
    bfd: Weft's alone) and the marker keys, on the port and its interface."""

    port: str
    interface: Mapping[str, object] = field(default_factory=dict)
    external_ids: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    create_bridge: bool = False
    # Bridge columns to set (datapath_type, fail_mode, protocols).
    bridge_columns: Mapping[str, object] = field(default_factory=dict)
    # Map column (other_config, external_ids) -> the keys to set in it; other keys stay.
    bridge_keys: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # Replace the bridge's controllers by this one (None: leave the controller alone).
    controller: ControllerSpec | None = None
    # Settings to fix on the existing controller, whose target is already right.
    controller_settings: Mapping[str, object] = field(default_factory=dict)
    add_tunnels: tuple[TunnelSpec, ...] = ()
    # Weft's tunnel ports whose settings drifted (or whose BFD goes on or off).
    fix_tunnels: tuple[TunnelFix, ...] = ()
    delete_ports: tuple[str, ...] = ()
    # Port names we want that a port Weft does not own already has: reported, not touched.
    blocked: tuple[str, ...] = ()

    @property
    def writes(self) -> bool:
        return any((
            self.create_bridge, self.bridge_columns, self.bridge_keys, self.controller,
            self.controller_settings, self.add_tunnels, self.fix_tunnels, self.delete_ports,
        ))


def plan(desired: DesiredSwitch, bridge: ObservedBridge | None) -> Plan:
    """What to change so that `bridge` (None: there is no br-int) becomes `desired`."""
    if bridge is None:
        return Plan(
            create_bridge=True,
            bridge_columns=_bridge_columns(desired),
            bridge_keys={
                "other_config": desired.other_config, "external_ids": desired.external_ids,
            },
            controller=desired.controller,
            add_tunnels=desired.tunnels,
        )
    ports = bridge.ports
    add, fix, blocked = [], [], []
    for tunnel in desired.tunnels:
        existing = ports.get(tunnel.port)
        if existing is None:
            add.append(tunnel)
        elif not existing.owned:
            blocked.append(tunnel.port)
        elif fixes := _tunnel_fix(existing, tunnel):
            fix.append(fixes)
    wanted = {tunnel.port for tunnel in desired.tunnels}
    ours = [c.target for c in bridge.controllers] == [desired.controller.target]
    return Plan(
        bridge_columns={
            column: value
            for column, value in _bridge_columns(desired).items()
            if getattr(bridge, column) != value
        },
        bridge_keys=_key_changes(
            {"other_config": bridge.other_config, "external_ids": bridge.external_ids},
            {"other_config": desired.other_config, "external_ids": desired.external_ids},
        ),
        controller=None if ours else desired.controller,
        controller_settings=_controller_settings(bridge, desired.controller) if ours else {},
        add_tunnels=tuple(add),
        fix_tunnels=tuple(fix),
        delete_ports=tuple(
            sorted(name for name, port in ports.items() if port.owned and name not in wanted)
        ),
        blocked=tuple(blocked),
    )


def _bridge_columns(desired: DesiredSwitch) -> dict[str, object]:
    return {
        "datapath_type": desired.datapath_type,
        "fail_mode": FAIL_MODE,
        "protocols": PROTOCOLS,
    }


def _key_changes(
    observed: Mapping[str, Mapping[str, str]], desired: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    """Per map column, the desired keys whose observed value differs (others are kept)."""
    changes = {}
    for column, keys in desired.items():
        differing = {k: v for k, v in keys.items() if observed[column].get(k) != v}
        if differing:
            changes[column] = differing
    return changes


def _controller_settings(bridge: ObservedBridge, controller: ControllerSpec) -> dict:
    """Settings of our controller row (the bridge's only one) to fix in place."""
    observed = bridge.controllers[0].settings
    return {k: v for k, v in controller.settings.items() if observed[k] != v}


def _tunnel_fix(port: ObservedPort, tunnel: TunnelSpec) -> TunnelFix | None:
    """What differs between Weft's port and the tunnel `tunnel` describes, or None (OVSDB
    gives every port at least one interface; Weft's have exactly one)."""
    iface = port.interfaces[0]
    wanted = {"type": "vxlan", "options": tunnel.options, "bfd": tunnel.bfd}
    interface = {c: v for c, v in wanted.items() if getattr(iface, c) != v}
    external_ids = {
        k: v
        for k, v in tunnel.external_ids.items()
        if port.external_ids.get(k) != v or iface.external_ids.get(k) != v
    }
    if interface or external_ids:
        return TunnelFix(tunnel.port, interface, external_ids)
    return None
