"""What the manager wants on each host, computed from host views alone."""

from __future__ import annotations

import ipaddress

from models.snapshot import HostView
from ovsdb.desired import ControllerSpec, desired_switches, tunnel_port_name

CONTROLLER = ControllerSpec("tcp:198.18.0.254:6653")


def host(host_id: int, datapath_id: int | None = None) -> HostView:
    return HostView(
        id=host_id,
        name=f"host{host_id}",
        tunnel_ip=ipaddress.ip_address(f"203.0.113.{host_id}"),
        datapath_id=host_id if datapath_id is None else datapath_id,
        datapath_type="netdev",
        ovsdb_target=f"tcp:198.18.0.{host_id}:6640",
    )


def test_every_host_tunnels_to_every_other_by_a_stable_short_name():
    hosts = {i: host(i) for i in (3, 1, 2)}

    switches = desired_switches(hosts, set(), CONTROLLER)

    assert set(switches) == {1, 2, 3}
    tunnels = switches[2].tunnels
    assert [(t.port, t.peer_id, t.peer_name, t.remote_ip) for t in tunnels] == [
        ("wvx1", 1, "host1", "203.0.113.1"),
        ("wvx3", 3, "host3", "203.0.113.3"),
    ]
    assert tunnels[0].options == {"remote_ip": "203.0.113.1", "key": "flow"}
    assert tunnels[0].external_ids == {"weft-owner": "weft", "weft-peer": "host1"}
    assert len(tunnel_port_name(2**31 - 1)) <= 15  # the largest id the hosts table holds


def test_bfd_runs_once_the_peer_has_numbered_its_tunnel_back():
    hosts = {i: host(i) for i in (1, 2, 3)}

    switches = desired_switches(hosts, {(1, 2), (3, 1)}, CONTROLLER)

    bfd = {(h, t.peer_id): t.bfd for h, s in switches.items() for t in s.tunnels}
    assert bfd[(2, 1)] == {"enable": "true"}  # host1 numbered its tunnel to host2
    assert bfd[(1, 3)] == {"enable": "true"}
    assert bfd[(1, 2)] == bfd[(3, 1)] == bfd[(2, 3)] == bfd[(3, 2)] == {}


def test_bridge_settings_carry_the_datapath_id_as_sixteen_hex_digits():
    switch = desired_switches({1: host(1, datapath_id=0x5746_00AB)}, set(), CONTROLLER)[1]

    assert switch.other_config == {
        "datapath-id": "00000000574600ab",
        "disable-in-band": "true",
    }
    assert switch.external_ids == {"weft-owner": "weft"}
    assert switch.controller == CONTROLLER
    assert switch.tunnels == ()


def test_unchanged_hosts_give_equal_switches():
    hosts = {i: host(i) for i in (1, 2)}

    assert desired_switches(hosts, {(1, 2)}, CONTROLLER) == desired_switches(
        dict(hosts), {(1, 2)}, CONTROLLER
    )
    assert desired_switches(hosts, {(1, 2)}, CONTROLLER) != desired_switches(
        hosts, set(), CONTROLLER
    )
