"""The plan holds exactly what differs between desired and observed, and nothing it must
not touch: a converged host gives an empty plan, a right controller is never replaced, and
ports without Weft's marker are left alone."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from ovsdb.desired import (
    PROTOCOLS,
    ControllerSpec,
    DesiredSwitch,
    TunnelSpec,
    tunnel_port_name,
)
from ovsdb.observed import ObservedBridge, ObservedInterface, ObservedPort
from ovsdb.plan import Plan, TunnelFix, plan

CONTROLLER = ControllerSpec("tcp:198.18.0.254:6653")


def tunnel(peer_id: int, bfd: bool = True) -> TunnelSpec:
    return TunnelSpec(
        port=tunnel_port_name(peer_id), peer_id=peer_id, peer_name=f"host{peer_id}",
        remote_ip=f"203.0.113.{peer_id}", bfd_enabled=bfd,
    )


DESIRED = DesiredSwitch(
    host_name="host1", datapath_type="netdev", datapath_id=0x1234, controller=CONTROLLER,
    tunnels=(tunnel(2), tunnel(3)),
)


def port(name: str, port_ids: dict, **interface) -> ObservedPort:
    """A port with one interface; `port_ids` are the port's external_ids."""
    iface = {
        "name": name, "type": "vxlan", "options": {}, "bfd": {}, "external_ids": {},
        "ofport": 7, "bfd_state": None, **interface,
    }
    return ObservedPort(name, MappingProxyType(port_ids), (ObservedInterface(**iface),))


def tunnel_port(spec: TunnelSpec) -> ObservedPort:
    return port(
        spec.port, spec.external_ids, options=spec.options, bfd=spec.bfd,
        external_ids=spec.external_ids,
    )


def converged(desired: DesiredSwitch = DESIRED, *extra: ObservedPort) -> ObservedBridge:
    """br-int exactly as `desired` wants it, plus `extra` ports."""
    ports = {p.name: p for p in (*map(tunnel_port, desired.tunnels), *extra)}
    return ObservedBridge(
        datapath_type=desired.datapath_type,
        fail_mode="secure",
        protocols=PROTOCOLS,
        other_config=MappingProxyType(desired.other_config),
        external_ids=MappingProxyType(desired.external_ids),
        controllers=(CONTROLLER,),
        ports=MappingProxyType(ports),
    )


def test_a_missing_bridge_is_created_with_everything_in_one_plan():
    changes = plan(DESIRED, None)

    assert changes.create_bridge
    assert changes.bridge_columns == {
        "datapath_type": "netdev", "fail_mode": "secure", "protocols": PROTOCOLS,
    }
    assert changes.bridge_keys == {
        "other_config": {"datapath-id": "0000000000001234", "disable-in-band": "true"},
        "external_ids": {"weft-owner": "weft"},
    }
    assert changes.controller == CONTROLLER
    assert changes.add_tunnels == DESIRED.tunnels


def test_a_converged_host_gives_an_empty_plan():
    internal = port("br-int", {}, type="internal")

    changes = plan(DESIRED, converged(DESIRED, internal))

    assert changes == Plan()
    assert not changes.writes


def test_a_right_controller_is_fixed_in_place_never_replaced():
    observed = dataclasses.replace(
        converged(), controllers=(dataclasses.replace(CONTROLLER, max_backoff=8000),)
    )

    changes = plan(DESIRED, observed)

    assert changes.controller is None
    assert changes.controller_settings == {"max_backoff": 1000}


def test_a_wrong_or_extra_controller_is_replaced_by_ours():
    other = ControllerSpec("tcp:192.0.2.9:6653")
    for controllers in [(), (other,), (CONTROLLER, other)]:
        changes = plan(DESIRED, dataclasses.replace(converged(), controllers=controllers))
        assert changes.controller == CONTROLLER
        assert changes.controller_settings == {}


def test_only_differing_bridge_settings_are_written_and_other_keys_stay():
    observed = dataclasses.replace(
        converged(),
        fail_mode=None,
        other_config=MappingProxyType(
            {"datapath-id": "0000000000009999", "disable-in-band": "true", "hwaddr": "x"}
        ),
    )

    changes = plan(DESIRED, observed)

    assert changes.bridge_columns == {"fail_mode": "secure"}
    assert changes.bridge_keys == {"other_config": {"datapath-id": "0000000000001234"}}


def test_ports_without_the_marker_are_never_touched():
    by_hand = port("by-hand", {}, options={"remote_ip": "203.0.113.99"})
    squatter = port(tunnel_port_name(3), {}, options={"remote_ip": "203.0.113.99"})
    ports = {p.name: p for p in (tunnel_port(tunnel(2)), by_hand, squatter)}
    observed = dataclasses.replace(converged(), ports=MappingProxyType(ports))

    changes = plan(DESIRED, observed)

    assert changes.delete_ports == ()
    assert changes.add_tunnels == changes.fix_tunnels == ()
    assert changes.blocked == (tunnel_port_name(3),)
    assert not changes.writes


def test_tunnels_to_deleted_hosts_are_removed_and_new_peers_added():
    observed = converged(dataclasses.replace(DESIRED, tunnels=(tunnel(2), tunnel(9))))

    changes = plan(DESIRED, observed)

    assert changes.delete_ports == (tunnel_port_name(9),)
    assert changes.add_tunnels == (tunnel(3),)


def test_only_what_drifted_on_a_tunnel_is_rewritten():
    moved = dataclasses.replace(tunnel(3), remote_ip="203.0.113.33")
    without_bfd = tunnel(2, bfd=False)
    observed = converged(dataclasses.replace(DESIRED, tunnels=(without_bfd, moved)))
    renamed = dataclasses.replace(tunnel(3), peer_name="host3-new")

    changes = plan(dataclasses.replace(DESIRED, tunnels=(tunnel(2), renamed)), observed)

    assert changes.fix_tunnels == (
        TunnelFix("wvx2", interface={"bfd": {"enable": "true"}}),
        TunnelFix(
            "wvx3",
            interface={"options": {"remote_ip": "203.0.113.3", "key": "flow"}},
            external_ids={"weft-peer": "host3-new"},
        ),
    )
    assert changes.add_tunnels == changes.delete_ports == ()
