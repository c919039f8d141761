"""Multicast across hosts with real sockets: IGMP snooping, static groups, the querier.

Blue has a sender on host1, members on host2 and host3 and a non-member on host2; red has a
member of the same group address on host3. Receivers join with IP_ADD_MEMBERSHIP, so the
kernel's own IGMP reports are what Weft snoops.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from lab import frames, mcast
from lab.deployment import Deployment, wait_for
from models import tables as t
from models.db import transaction
from northbound.groups import create_group, join_group

pytestmark = [pytest.mark.lab, pytest.mark.postgres]

GROUP = "239.1.1.1"
CIDR = "10.30.0.0/24"
SNOOPING_CONFIG = "igmp_query_interval = 2.0\nigmp_query_response = 1.0\n"


@dataclass
class Scene:
    d: Deployment
    receivers: dict[str, mcast.Receiver]

    def send(self, first: int, count: int, group: str = GROUP, gap: float = 0.005) -> None:
        mcast.send(self.d.lab, "s", self.d.ports["s"].ip, group, first, count, gap)

    def snooped(self) -> set[str]:
        with transaction(self.d.engine) as session:
            return set(
                session.scalars(
                    select(t.Port.name)
                    .join(t.GroupMember, t.GroupMember.port_id == t.Port.id)
                    .where(t.GroupMember.origin == "snooped")
                )
            )

    def wait_delivering(self, *members: str) -> None:
        """Send probes (negative numbers) until every member has received one."""
        probe = iter(range(-10_000, 0, 5))

        def delivered():
            self.send(next(probe), 5, gap=0.01)
            return all(any(n < 0 for n in self.receivers[m].numbers()) for m in members)

        wait_for(delivered, timeout=20, what=f"{members} to receive probes")


@pytest.fixture
def scene(make_lab, migrated_postgres_url, tmp_path):
    config = tmp_path / "weft.toml"
    config.write_text(SNOOPING_CONFIG)
    d = Deployment(make_lab(3), migrated_postgres_url, tmp_path, ("--config", str(config)))
    d.register_hosts()
    d.start_controller()
    d.wait_programmed()
    d.network("blue", CIDR)
    d.network("red", CIDR)
    for name, network, host, ip in [
        ("s", "blue", "host1", "10.30.0.10"),
        ("r2", "blue", "host2", "10.30.0.12"),
        ("n2", "blue", "host2", "10.30.0.13"),
        ("r3", "blue", "host3", "10.30.0.14"),
        ("x3", "red", "host3", "10.30.0.21"),
    ]:
        d.port(name, network, host, ip=ip)
    d.wait_bound("s", "r2", "n2", "r3", "x3")
    receivers = {
        name: mcast.Receiver(d.lab, name, d.ports[name].ip, GROUP, tmp_path)
        for name in ("r2", "r3", "x3")
    }
    wait_for(lambda: all(r.joined() for r in receivers.values()), what="receivers to join")
    scene = Scene(d, receivers)
    wait_for(lambda: scene.snooped() == {"r2", "r3", "x3"}, what="joins to be snooped")
    scene.wait_delivering("r2", "r3")
    yield scene
    d.close()


def multicast_frames(captured: list[bytes], group: str = GROUP) -> list[bytes]:
    """UDP frames to `group` among `captured`."""
    octets = bytes(map(int, group.split(".")))
    return [f for f in captured if f[12:14] == b"\x08\x00" and f[23] == 17 and f[30:34] == octets]


def test_members_on_other_hosts_get_every_datagram_and_nobody_else_gets_any(scene):
    with frames.Capture(scene.d.lab, "n2") as non_member:
        scene.send(0, 300)
    expected = list(range(300))
    assert [n for n in scene.receivers["r2"].numbers() if n >= 0] == expected
    assert [n for n in scene.receivers["r3"].numbers() if n >= 0] == expected
    assert scene.receivers["x3"].numbers() == []  # same group address, other network
    assert multicast_frames(non_member.frames) == []  # not even on the wire


def test_after_a_leave_delivery_to_that_receiver_stops(scene):
    scene.receivers["r3"].stop()  # closing the socket makes the kernel send a leave
    wait_for(lambda: "r3" not in scene.snooped(), what="r3's leave to be snooped")
    with frames.Capture(scene.d.lab, "r3") as left:
        scene.send(1000, 100)
    assert multicast_frames(left.frames) == []
    assert [n for n in scene.receivers["r2"].numbers() if n >= 1000] == list(range(1000, 1100))


def test_a_controller_restart_does_not_interrupt_delivery(scene):
    sender = mcast.start_sending(
        scene.d.lab, "s", scene.d.ports["s"].ip, GROUP, 2000, 500, scene.d.log_dir
    )
    scene.d.restart_controller()
    scene.d.wait_programmed()
    assert sender.poll() is None, "the restart must happen while datagrams flow"
    sender.wait(timeout=60)
    for member in ("r2", "r3"):
        got = [n for n in scene.receivers[member].numbers() if n >= 2000]
        assert got == list(range(2000, 2500)), member


def test_static_members_receive_without_sending_igmp(scene):
    d = scene.d
    d.port("st", "blue", "host3", ip="10.30.0.30")
    d.wait_bound("st")
    with transaction(d.engine) as session:
        create_group(session, "blue", "239.2.2.2")
        join_group(session, "239.2.2.2", "st")

    def static_delivery():
        with frames.Capture(d.lab, "st", linger=0.2) as capture:
            scene.send(3000, 5, group="239.2.2.2")
        return multicast_frames(capture.frames, "239.2.2.2")

    wait_for(static_delivery, what="the static member to receive")
    with frames.Capture(d.lab, "st") as capture, frames.Capture(d.lab, "n2") as non_member:
        scene.send(4000, 100, group="239.2.2.2")
    assert len(multicast_frames(capture.frames, "239.2.2.2")) == 100
    assert multicast_frames(non_member.frames, "239.2.2.2") == []
    assert "st" not in scene.snooped()


def test_weft_queries_and_silent_members_age_out(scene):
    with frames.Capture(scene.d.lab, "r2", linger=0) as capture:
        wait_for(lambda: capture_has_query(capture), timeout=10, what="an IGMP query")
    # r3 goes silent (its link is down, so it can answer no query): it ages out
    scene.d.lab.exec("r3", ["ip", "link", "set", "eth0", "down"])
    wait_for(lambda: "r3" not in scene.snooped(), timeout=15, what="r3 to age out")
    assert "r2" in scene.snooped()  # r2 keeps answering queries


def capture_has_query(capture: frames.Capture) -> bool:
    return any(f[12:14] == b"\x08\x00" and f[23] == 2 and f[38] == 0x11 for f in capture.frames)
