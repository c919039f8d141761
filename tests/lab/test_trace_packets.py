"""`weft trace` against real packets: for each verdict the tracer gives, the same packet
sent by a container in the same lab meets the same fate.
"""

from __future__ import annotations

import json

import pytest

from lab import frames, mcast
from lab.deployment import WEFT, Deployment, wait_for
from northbound.groups import create_group, join_group
from northbound.session import writing

pytestmark = [pytest.mark.lab, pytest.mark.postgres]

PORT = 9464
CIDR = "10.50.0.0/24"
GROUP = "239.5.5.5"
SPOOFED_MAC = "02:00:00:00:99:99"


@pytest.fixture
def d(make_lab, migrated_postgres_url, tmp_path):
    """Blue: a on host1, b and n on host2; red: r on host2 (same CIDR, other addresses);
    b is a member of GROUP, n is not. No audits: what a test does to a switch stays."""
    lab = make_lab(2)
    deployment = Deployment(lab, migrated_postgres_url, tmp_path, (
        "--metrics", f"{lab.controller_ip}:{PORT}", "--audit-interval", "0"))
    deployment.register_hosts()
    deployment.start_controller()
    deployment.wait_programmed()
    deployment.network("blue", CIDR)
    deployment.network("red", CIDR)
    for name, network, host, ip in [("a", "blue", "host1", "10.50.0.11"),
                                    ("b", "blue", "host2", "10.50.0.12"),
                                    ("n", "blue", "host2", "10.50.0.13"),
                                    ("r", "red", "host2", "10.50.0.21")]:
        deployment.port(name, network, host, ip=ip)
    with writing(migrated_postgres_url) as session:
        create_group(session, "blue", GROUP)
        join_group(session, GROUP, "b")
    deployment.wait_bound("a", "b", "n", "r")
    yield deployment
    deployment.close()


def trace(d: Deployment, *args: str) -> dict:
    done = d.lab.exec("ctl", [
        WEFT, "trace", *args, "--json", "--database-url", d.database_url,
        "--controller", f"http://{d.lab.controller_ip}:{PORT}",
    ])
    return json.loads(done.stdout)


def test_each_verdict_is_what_the_real_packet_meets(d, tmp_path):
    a, b, r = d.ports["a"], d.ports["b"], d.ports["r"]

    delivered = trace(d, "--from", "a", "--to", "b")
    assert (delivered["verdict"], delivered["delivered_to"]) == ("delivered", ["host2/b"])
    assert [hop["host"] for hop in delivered["hops"]] == ["host1", "host2"]
    assert d.ping("a", "b")

    cross = trace(d, "--from", "a", "--to", "r")
    assert cross["verdict"] == "dropped"
    assert cross["reason"] == (f"destination MAC {r.mac} is port r's, in network red, "
                               "not in network blue")
    d.lab.exec("a", ["ip", "neigh", "replace", r.ip, "lladdr", r.mac, "dev", "eth0"])
    with frames.Capture(d.lab, "r") as capture:
        assert not d.ping("a", "r", deadline=1)
    assert [f for f in capture.frames if f[:6] == frames.mac_bytes(r.mac)] == []

    spoofed = trace(d, "--from", "a", "--to", "b", "--src-mac", SPOOFED_MAC)
    assert spoofed["verdict"] == "dropped"
    assert spoofed["reason"] == f"port security: source MAC {SPOOFED_MAC} is not port a's"
    d.lab.exec("a", ["ip", "link", "set", "eth0", "address", SPOOFED_MAC])
    assert not d.ping("a", "b", deadline=1.5)
    d.lab.exec("a", ["ip", "link", "set", "eth0", "address", a.mac])
    assert d.ping("a", "b")

    multicast = trace(d, "--from", "a", "--to", GROUP, "--proto", "udp",
                      "--dport", str(mcast.PORT))
    assert (multicast["verdict"], multicast["delivered_to"]) == ("delivered", ["host2/b"])
    receiver = mcast.Receiver(d.lab, "b", b.ip, GROUP, tmp_path)
    wait_for(receiver.joined, what="b to join")
    with frames.Capture(d.lab, "n") as non_member:
        wait_for(lambda: mcast.send(d.lab, "a", a.ip, GROUP, 0, 3) or receiver.numbers(),
                 what="b to receive the datagrams")
    groups = bytes(map(int, GROUP.split(".")))
    assert [f for f in non_member.frames if f[30:34] == groups] == []


def test_installed_shows_a_flow_deleted_by_hand_where_desired_does_not(d):
    b = d.ports["b"]
    assert d.ping("a", "b")
    [delivery] = [line.split(",")[0].strip() for line in d.switch_flows("host2")
                  if "table=30" in line and f"dl_dst={b.mac}" in line]
    d.lab.ofctl("host2", "del-flows", f"{delivery}/-1")

    desired = trace(d, "--from", "a", "--to", "b")
    installed = trace(d, "--from", "a", "--to", "b", "--installed")
    assert desired["verdict"] == "delivered"
    assert installed["verdict"] == "dropped"
    assert installed["reason"] == "no flow in L2_LOOKUP for port b (bound on host2): host2 lacks it"
    last = installed["hops"][-1]
    assert (last["host"], last["steps"][-1]["table"]) == ("host2", "L2_LOOKUP")
    assert last["steps"][-1]["owner"] == "pipeline (table miss)"
    assert not d.ping("a", "b", deadline=1.5)  # the real packet agrees with --installed
