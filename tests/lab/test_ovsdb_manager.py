"""The OVSDB manager on real OVS hosts, driven by the real reconciler and PostgreSQL.

Hosts are registered with `weft host add`'s own operation; the manager runs in the
lab's ctl namespace, fed by a Reconciler whose change feed LISTENs on PostgreSQL, exactly as
in `weft controller` (minus OpenFlow: no controller listens, which br-int does not mind).
Waits poll for a state with a generous upper bound (WAIT_SECONDS); nothing asserts on time.
"""

from __future__ import annotations

import functools
import re
import socket
import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.changes import start_feed
from controller.reconciler import Reconciler
from controller.state import StateStore
from lab import Lab, deployment
from lab.layout import CONTROLLER_TARGET, Host
from models import tables as t
from models.db import make_engine
from models.identity import datapath_id_for
from northbound.hosts import add_host, delete_host
from ovsdb.desired import ControllerSpec, tunnel_port_name
from ovsdb.manager import OvsdbManager

pytestmark = [pytest.mark.lab, pytest.mark.postgres]

WAIT_SECONDS = 30  # an upper bound on waiting for a state, not a timing assertion
wait_for = functools.partial(deployment.wait_for, timeout=WAIT_SECONDS)


class Rig:
    """A lab, a database and a running manager with its reconciler."""

    def __init__(self, lab: Lab, database_url: str, connect_timeout: float = 5.0) -> None:
        self.lab = lab
        self.engine = make_engine(database_url)
        self.stop_event = threading.Event()
        self.manager = OvsdbManager(
            self.engine, ControllerSpec(CONTROLLER_TARGET), connect_timeout=connect_timeout
        )
        self.reconciler = Reconciler(
            StateStore(self.engine), lambda host, config: None, self.stop_event
        )
        self.reconciler.add_listener(self.manager.on_pass)

    def start(self) -> Rig:
        self.reconciler.start()
        self.reconciler.ready.wait()
        self.feed = start_feed(self.engine, self.reconciler.submit, self.stop_event)
        self.feed.ready.wait()
        with self.lab.entered("ctl"):
            self.manager.start()
        return self

    def stop(self) -> None:
        """Stop every thread before the fixture drops the database under them."""
        self.stop_event.set()
        self.manager.stop()
        self.feed.join()
        self.reconciler.join()
        self.engine.dispose()

    # ------------------------------------------------------------ database

    def register(self, *hosts: Host) -> dict[str, int]:
        """Add lab hosts (all in one transaction); {name: id}."""
        return self.register_targets({h.name: (h.ovsdb_target, h.tunnel_ip) for h in hosts})

    def register_targets(self, hosts: dict[str, tuple[str, str]]) -> dict[str, int]:
        """Add hosts {name: (OVSDB target, tunnel IP)} as `weft host add` does, all in one
        transaction; {name: id}."""
        with Session(self.engine) as session, session.begin():
            return {
                name: add_host(session, name, target, tunnel_ip).id
                for name, (target, tunnel_ip) in hosts.items()
            }

    def delete_host(self, name: str) -> None:
        """As `weft host del` does."""
        with Session(self.engine) as session, session.begin():
            delete_host(session, name)

    def add_port(self, name: str, mac: str) -> int:
        """A port row (in network "blue", created on first use); its id."""
        with Session(self.engine) as session, session.begin():
            network = session.scalar(select(t.Network).where(t.Network.name == "blue"))
            if network is None:
                network = t.Network(name="blue", vni=100)
                session.add(network)
                session.flush()
            port = t.Port(name=name, network_id=network.id, mac=mac)
            session.add(port)
            session.flush()
            return port.id

    def binding(self, port_id: int) -> tuple[str, int | None, int | None]:
        """(state, host id, ofport) of a port row."""
        with Session(self.engine) as session:
            port = session.get(t.Port, port_id)
            return port.state, port.host_id, port.ofport

    def strays(self) -> dict[tuple[int, str], int | None]:
        with Session(self.engine) as session:
            rows = session.execute(
                select(t.StrayInterface.host_id, t.StrayInterface.iface_id,
                       t.StrayInterface.ofport)
            )
            return {(row.host_id, row.iface_id): row.ofport for row in rows}

    def tunnels(self) -> dict[tuple[int, int], int | None]:
        """{(host id, peer id): ofport} as recorded."""
        return {pair: ofport for pair, (ofport, _) in self.tunnel_rows().items()}

    def tunnel_rows(self) -> dict[tuple[int, int], tuple[int | None, str]]:
        """{(host id, peer id): (ofport, BFD status)} as recorded."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(t.Tunnel.host_id, t.Tunnel.peer_id, t.Tunnel.ofport, t.Tunnel.status)
            )
            return {(row.host_id, row.peer_id): (row.ofport, row.status) for row in rows}

    def host_state(self, host_id: int) -> tuple[str, str | None]:
        with Session(self.engine) as session:
            row = session.get(t.Host, host_id)
            return row.state, row.state_reason

    # ------------------------------------------------------------ OVS

    def mesh_ready(self, ids: dict[str, int]) -> bool:
        """Every host has a numbered tunnel to every other, recorded in the database."""
        tunnels = self.tunnels()
        return all(
            tunnels.get((ids[a], ids[b])) is not None for a in ids for b in ids if a != b
        )

    def ports(self, host: str) -> set[str]:
        return set(self.lab.vsctl(host, "list-ports", "br-int").split())

    def get(self, host: str, table: str, record: str, column: str) -> str:
        """One value as ovs-vsctl prints it, without the quotes it puts around some."""
        return self.lab.vsctl(host, "get", table, record, column).strip().strip('"')

    def weft_transactions(self, host: str) -> int:
        """Transactions the manager committed to `host`'s database, counted by ovsdb-server
        itself: every one carries the comment "weft: reconcile <host>" in the database log."""
        db_file = str(self.lab.host(host).db_file)
        log = self.lab.exec(host, ["ovsdb-tool", "-mm", "show-log", db_file]).stdout
        return len(re.findall(rf'"weft: reconcile {host}"', log))


@pytest.fixture
def rigs(make_lab, migrated_postgres_url):
    started: list[Rig] = []

    def make(hosts: int, connect_timeout: float = 5.0) -> Rig:
        rig = Rig(make_lab(hosts), migrated_postgres_url, connect_timeout)
        started.append(rig)
        return rig.start()

    yield make
    for rig in started:
        rig.stop()


# ---------------------------------------------------------------- provisioning


def test_three_hosts_get_br_int_and_a_full_mesh_and_a_second_reconcile_writes_nothing(rigs):
    rig = rigs(hosts=3)
    ids = rig.register(*rig.lab.hosts)
    wait_for(lambda: rig.mesh_ready(ids), what="full mesh recorded")
    # BFD comes on once both ends of a tunnel exist, and is recorded when up at both ends.
    wait_for(
        lambda: len(rig.tunnel_rows()) == 6
        and all(status == "up" for _, status in rig.tunnel_rows().values()),
        what="BFD up on every tunnel",
    )

    for host in rig.lab.hosts:
        name = host.name
        assert rig.get(name, "Bridge", "br-int", "fail_mode") == "secure"
        assert rig.get(name, "Bridge", "br-int", "datapath_type") == "netdev"
        assert rig.get(name, "Bridge", "br-int", "protocols") == "[OpenFlow13, OpenFlow14]"
        assert rig.get(name, "Bridge", "br-int", "other_config:datapath-id") == (
            f"{datapath_id_for(name):016x}"
        )
        assert rig.get(name, "Bridge", "br-int", "other_config:disable-in-band") == "true"
        assert rig.get(name, "Bridge", "br-int", "external_ids:weft-owner") == "weft"
        assert rig.lab.vsctl(name, "get-controller", "br-int").split() == [CONTROLLER_TARGET]
        controller = rig.lab.vsctl(
            name, "--columns=max_backoff,inactivity_probe,connection_mode", "list", "Controller"
        )
        assert re.findall(r":\s*(\S+)", controller) == ["1000", "5000", "out-of-band"]
        peers = [p for p in rig.lab.hosts if p != host]
        assert rig.ports(name) == {tunnel_port_name(ids[p.name]) for p in peers}
        for peer in peers:
            port = tunnel_port_name(ids[peer.name])
            assert rig.get(name, "Interface", port, "type") == "vxlan"
            assert rig.get(name, "Interface", port, "options") == (
                f'{{key=flow, remote_ip="{peer.tunnel_ip}"}}'
            )
            assert rig.get(name, "Interface", port, "bfd:enable") == "true"
            assert rig.get(name, "Interface", port, "external_ids:weft-peer") == peer.name
            ofport = int(rig.get(name, "Interface", port, "ofport"))
            assert rig.tunnels()[(ids[name], ids[peer.name])] == ofport

    writes = rig.manager.writes
    logged = {h.name: rig.weft_transactions(h.name) for h in rig.lab.hosts}
    assert writes >= 3 and all(count >= 1 for count in logged.values())
    assert rig.manager.reconcile_now()
    assert rig.manager.reconcile_now()
    assert rig.manager.writes == writes
    assert {h.name: rig.weft_transactions(h.name) for h in rig.lab.hosts} == logged


def test_a_deleted_host_loses_its_tunnels_on_the_others(rigs):
    rig = rigs(hosts=3)
    ids = rig.register(*rig.lab.hosts)
    wait_for(lambda: rig.mesh_ready(ids), what="full mesh recorded")
    gone = tunnel_port_name(ids["host3"])
    assert all(gone in rig.ports(host) for host in ("host1", "host2"))

    rig.delete_host("host3")

    wait_for(
        lambda: all(gone not in rig.ports(host) for host in ("host1", "host2")),
        what="tunnels to host3 removed",
    )
    assert rig.ports("host1") == {tunnel_port_name(ids["host2"])}
    assert rig.ports("host2") == {tunnel_port_name(ids["host1"])}
    assert set(rig.tunnels()) == {(ids["host1"], ids["host2"]), (ids["host2"], ids["host1"])}


def test_a_host_restarted_with_an_empty_database_is_provisioned_again(rigs):
    rig = rigs(hosts=2)
    ids = rig.register(*rig.lab.hosts)
    wait_for(lambda: rig.mesh_ready(ids), what="full mesh recorded")
    tunnel = tunnel_port_name(ids["host2"])
    old_uuid = rig.get("host1", "Interface", tunnel, "_uuid")

    rig.lab.restart("host1", fresh_db=True)

    def provisioned_anew() -> bool:
        ports = rig.lab.vsctl("host1", "--bare", "--columns=_uuid,ofport",
                              "find", "Interface", f"name={tunnel}").split()
        return len(ports) == 2 and ports[0] != old_uuid and int(ports[1]) > 0

    wait_for(provisioned_anew, what="host1 has br-int and its tunnel again")
    assert rig.get("host1", "Bridge", "br-int", "fail_mode") == "secure"
    assert rig.lab.vsctl("host1", "get-controller", "br-int").split() == [CONTROLLER_TARGET]
    wait_for(lambda: rig.host_state(ids["host1"]) == ("connected", None), what="host1 connected")
    wait_for(
        lambda: rig.tunnels()[(ids["host1"], ids["host2"])]
        == int(rig.get("host1", "Interface", tunnel, "ofport")),
        what="the new tunnel's ofport recorded",
    )


def test_ports_the_manager_does_not_own_survive_reconciles(rigs):
    rig = rigs(hosts=2)
    ids = rig.register(*rig.lab.hosts)
    wait_for(lambda: rig.mesh_ready(ids), what="full mesh recorded")
    rig.lab.vsctl(
        "host1", "add-port", "br-int", "by-hand",
        "--", "set", "Interface", "by-hand", "type=vxlan", "options:remote_ip=203.0.113.99",
    )
    writes = rig.manager.writes

    assert rig.manager.reconcile_now()

    assert rig.ports("host1") == {"by-hand", tunnel_port_name(ids["host2"])}
    assert rig.manager.writes == writes


# ---------------------------------------------------------------- bindings


def test_a_container_binds_its_port_and_unbinds_it_when_it_goes(rigs):
    rig = rigs(hosts=2)
    ids = rig.register(*rig.lab.hosts)
    wait_for(lambda: rig.mesh_ready(ids), what="full mesh recorded")
    port_id = rig.add_port("web", "02:00:00:00:01:01")
    assert rig.binding(port_id) == ("unbound", None, None)

    container = rig.lab.attach("web", "host2", "02:00:00:00:01:01", ["198.51.100.11/24"])
    ofport = int(rig.get("host2", "Interface", container.veth, "ofport"))
    wait_for(lambda: rig.binding(port_id) == ("bound", ids["host2"], ofport), what="web bound")

    rig.lab.detach("web")
    wait_for(lambda: rig.binding(port_id) == ("unbound", None, None), what="web unbound")


def test_an_unknown_iface_id_is_a_stray_until_its_port_is_created(rigs):
    rig = rigs(hosts=1)
    ids = rig.register(*rig.lab.hosts)
    wait_for(lambda: rig.host_state(ids["host1"]) == ("connected", None), what="host1 connected")
    wait_for(lambda: "br-int" in rig.lab.vsctl("host1", "list-br").split(), what="br-int")

    container = rig.lab.attach("ghost", "host1", "02:00:00:00:01:02", ["198.51.100.12/24"])
    ofport = int(rig.get("host1", "Interface", container.veth, "ofport"))
    wait_for(lambda: rig.strays() == {(ids["host1"], "ghost"): ofport}, what="ghost is a stray")

    port_id = rig.add_port("ghost", "02:00:00:00:01:02")
    wait_for(lambda: rig.binding(port_id) == ("bound", ids["host1"], ofport), what="ghost bound")
    assert rig.strays() == {}


# ---------------------------------------------------------------- unreachable hosts


def test_unreachable_hosts_are_disconnected_with_a_reason_and_never_hold_up_the_others(rigs):
    """"hung" accepts TCP connections but never answers: its agent waits out the (long)
    connect timeout, while the real hosts are provisioned and the others report why not."""
    rig = rigs(hosts=2, connect_timeout=120)
    with rig.lab.entered("ctl"):
        hung_server = socket.create_server((rig.lab.controller_ip, 6642))
    try:
        bad = rig.register_targets({
            "refused": (f"tcp:{rig.lab.controller_ip}:6641", "203.0.113.201"),
            "absent": ("tcp:198.18.0.200:6640", "203.0.113.202"),
            "hung": (f"tcp:{rig.lab.controller_ip}:6642", "203.0.113.203"),
        })
        ids = rig.register(*rig.lab.hosts)

        wait_for(lambda: rig.mesh_ready(ids), what="the real hosts have their mesh")
        wait_for(
            lambda: rig.host_state(bad["refused"]) == ("disconnected", "connection refused"),
            what="refused reported",
        )
        wait_for(
            lambda: rig.host_state(bad["absent"]) == ("disconnected", "no route to host"),
            what="absent reported",
        )
        assert rig.host_state(bad["hung"]) == ("pending", None)
        assert all(rig.host_state(i) == ("connected", None) for i in ids.values())
    finally:
        hung_server.close()
    wait_for(lambda: rig.host_state(bad["hung"])[0] == "disconnected", what="hung reported")
    assert rig.host_state(bad["hung"])[1] == "connection reset by peer"
