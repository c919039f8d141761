"""The network's MTU reaches the container's interface, and an interface above it is named.

The lab plugs containers the way a runtime would, with both ends of the veth at the
network's MTU; the OVSDB manager records each bound interface's MTU as OVS reports it, the
controller logs one above the network's, and `weft status` lists it under warnings.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from lab.deployment import WEFT, Deployment, wait_for
from models import tables as t
from models.db import transaction

pytestmark = [pytest.mark.lab, pytest.mark.postgres]


@pytest.fixture
def d(make_lab, migrated_postgres_url, tmp_path):
    deployment = Deployment(make_lab(2), migrated_postgres_url, tmp_path)
    deployment.register_hosts()
    deployment.start_controller()
    deployment.wait_programmed()
    yield deployment
    deployment.close()


def link_mtu(d: Deployment, target: str, interface: str) -> int:
    out = d.lab.exec(target, ["ip", "-o", "link", "show", interface]).stdout
    return int(re.search(r" mtu (\d+) ", out)[1])


def recorded_mtu(d: Deployment, port: str) -> int | None:
    with transaction(d.engine) as session:
        return session.scalar(select(t.Port.mtu).where(t.Port.name == port))


def status(d: Deployment) -> dict:
    done = d.lab.exec("ctl", [WEFT, "status", "--json", "--database-url", d.database_url],
                      check=False)
    return json.loads(done.stdout)


def test_the_networks_mtu_is_applied_and_a_larger_interface_mtu_is_named(d):
    d.network("small", "10.60.0.0/24", mtu=1400)
    a, b = d.port("a", "small", "host1"), d.port("b", "small", "host2")
    d.wait_bound("a", "b")
    veth = d.lab.container("a").veth
    assert link_mtu(d, "a", "eth0") == link_mtu(d, "host1", veth) == 1400
    wait_for(lambda: recorded_mtu(d, "a") == 1400, what="a's interface MTU to be recorded")
    assert d.lab.ping("a", b.ip) and status(d)["warnings"] == []
    # A packet of the network's MTU goes through; the containers cannot send a larger one.
    assert d.lab.exec("a", ["ping", "-c", "1", "-w", "3", "-M", "do", "-s", "1372", b.ip],
                      check=False).returncode == 0

    d.lab.exec("host1", ["ip", "link", "set", veth, "mtu", "1500"])
    wait_for(lambda: recorded_mtu(d, "a") == 1500, what="the larger MTU to be recorded")
    assert status(d)["warnings"] == [
        'port "a" on host1: interface MTU 1500 exceeds network "small"\'s 1400'
    ]
    assert "port a: its interface's MTU 1500 exceeds network small's 1400" in (
        d.controller_log.read_text())
    assert a.mtu == 1400
