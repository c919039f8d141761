"""Attaching and detaching containers: clear failures, parallel attach, nothing left over."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from lab import LabError, netns
from tests.support.labs import create_br_int

pytestmark = pytest.mark.lab


def test_attach_needs_br_int_and_leaves_nothing_when_refused(make_lab):
    lab = make_lab(hosts=1)
    with pytest.raises(LabError, match="host1 has no br-int yet"):
        lab.attach("p", "host1", "02:00:00:00:00:01", ["198.51.100.1/24"])
    assert lab.containers == []
    assert not [ns for ns in netns.existing() if re.fullmatch(rf"{lab.name}-c[0-9]+", ns)]


def test_attach_checks_its_arguments(make_lab):
    lab = make_lab(hosts=1)
    create_br_int(lab)
    lab.attach("p", "host1", "02:00:00:00:00:01", ["198.51.100.1/24"])
    with pytest.raises(LabError, match="already attached"):
        lab.attach("p", "host1", "02:00:00:00:00:02", ["198.51.100.2/24"])
    with pytest.raises(LabError, match="no host2"):
        lab.attach("q", "host2", "02:00:00:00:00:02", ["198.51.100.2/24"])
    with pytest.raises(ValueError, match="prefix length"):
        lab.attach("q", "host1", "02:00:00:00:00:02", ["198.51.100.2"])
    with pytest.raises(ValueError, match="unicast MAC"):
        lab.attach("q", "host1", "03:00:00:00:00:02", ["198.51.100.2/24"])
    with pytest.raises(ValueError, match="shadow"):
        lab.attach("host1", "host1", "02:00:00:00:00:02", ["198.51.100.2/24"])
    assert [c.port for c in lab.containers] == ["p"]


def test_parallel_attach_then_detach(make_lab):
    lab = make_lab(hosts=2)
    create_br_int(lab)
    ports = [f"p{i}" for i in range(8)]

    def attach(i: int):
        host = f"host{i % 2 + 1}"
        return lab.attach(ports[i], host, f"02:00:00:00:00:{i + 1:02x}", [f"198.51.100.{i + 1}/24"])

    with ThreadPoolExecutor(8) as pool:
        attached = list(pool.map(attach, range(8)))

    assert sorted(c.number for c in attached) == list(range(1, 9))
    status = lab.status()
    assert all(entry.plugged for entry in status.containers)
    assert sorted(c.container.port for c in status.containers) == ports
    on_host1 = {c.veth for c in attached if c.host == "host1"}
    assert set(status.hosts[0].ports) == on_host1 | {"vx2"}

    gone = attached[0]
    lab.detach(gone.port)
    assert gone.port not in [c.port for c in lab.containers]
    assert gone.netns not in netns.existing()
    assert gone.veth not in lab.vsctl(gone.host, "list-ports", "br-int").split()
    assert gone.veth not in lab.exec(gone.host, ["ip", "-br", "link"]).stdout.split()
    with pytest.raises(LabError, match="no container"):
        lab.detach(gone.port)


def test_containers_survive_in_state_across_lab_objects(make_lab):
    """A second Lab object (another CLI invocation, say) sees what the first attached."""
    lab = make_lab(hosts=1)
    create_br_int(lab)
    lab.attach("p", "host1", "02:00:00:00:00:01", ["198.51.100.1/24"])
    again = type(lab)(lab.name)
    assert again.container("p") == lab.container("p")
    assert again.exec("p", ["ip", "-br", "addr", "show", "eth0"]).stdout.split()[2] == (
        "198.51.100.1/24"
    )
