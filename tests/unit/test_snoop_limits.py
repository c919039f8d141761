"""The snooping thread's defences, without switches: the bounded fair queue of reports and
the membership mirror that turns away duplicates and joins over a cap."""

from __future__ import annotations

import ipaddress
import threading
import time

import pytest

from controller.memberships import DUPLICATE, NETWORK_CAP, PORT_CAP, Memberships
from controller.reportqueue import ReportQueue

FLOODER, QUIET = (1, 1), (1, 2)


def group(n: int) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(f"239.0.{n // 256}.{n % 256}")


def test_a_flooding_port_fills_its_own_backlog_only():
    q = ReportQueue(per_port=4, total=100)
    accepted = [q.put(FLOODER, n) for n in range(1000)]
    assert accepted.count(True) == 4
    assert q.put(QUIET, "join") is True
    assert q.shed_if_full(FLOODER) is True and q.shed_if_full(QUIET) is False
    assert q.shed == 997
    assert q.collect_shed() == {FLOODER: 997}
    assert q.collect_shed() == {}


def test_when_the_queue_is_full_the_longest_backlog_loses_its_oldest():
    q = ReportQueue(per_port=8, total=8)
    for n in range(8):
        q.put(FLOODER, n)
    assert q.put(QUIET, "join") is True  # evicts the flooder's oldest
    assert q.put(FLOODER, 99) is False  # the flooder's own report cannot push anyone out
    taken = q.take(limit=100, timeout=0)
    assert "join" in taken and 0 not in taken and 99 not in taken
    assert q.depth == 0 and q.shed == 2


def test_take_serves_ports_round_robin_up_to_the_limit():
    q = ReportQueue(per_port=10, total=100)
    for n in range(10):
        q.put(FLOODER, ("f", n))
    q.put(QUIET, ("q", 0))
    assert q.take(limit=3, timeout=0) == [("f", 0), ("q", 0), ("f", 1)]
    assert q.depth == 8


def test_take_waits_for_the_first_report_then_the_window():
    q = ReportQueue(per_port=10, total=100)
    assert q.take(limit=10, timeout=0.01) == []
    threading.Timer(0.05, q.put, (QUIET, "a")).start()
    threading.Timer(0.07, q.put, (FLOODER, "b")).start()
    assert q.take(limit=10, timeout=5, window=0.1) == ["a", "b"]


def test_take_waits_longer_while_reports_keep_arriving_but_not_forever():
    q = ReportQueue(per_port=10_000, total=10_000)
    q.put(QUIET, 0)
    stop = threading.Event()

    def trickle():  # a report every 5 ms, as a burst spread over many senders arrives
        n = 1
        while not stop.wait(0.005):
            q.put(FLOODER, n)
            n += 1

    threading.Thread(target=trickle, daemon=True).start()
    taken = q.take(limit=10_000, timeout=1, window=0.02)  # returns although it goes on
    stop.set()
    assert len(taken) > 4  # more than one window's worth


def test_bounds_must_be_positive():
    with pytest.raises(ValueError):
        ReportQueue(per_port=0, total=1)


def test_a_refresh_of_a_recent_membership_is_a_duplicate():
    m = Memberships(port_limit=10, network_limit=10, refresh_after=60)
    assert m.join(1, 7, group(1), now=100.0) is None
    assert m.join(1, 7, group(1), now=130.0) == DUPLICATE
    assert m.join(1, 7, group(1), now=161.0) is None  # old enough: refresh its expiry
    assert m.leave(1, 7, group(1)) is None
    assert m.leave(1, 7, group(1)) == DUPLICATE
    assert len(m) == 0


def test_port_cap_refuses_new_groups_but_not_refreshes():
    m = Memberships(port_limit=3, network_limit=100, refresh_after=1)
    assert [m.join(1, 7, group(n), now=0.0) for n in range(5)] == [None] * 3 + [PORT_CAP] * 2
    assert m.join(1, 7, group(0), now=5.0) is None
    assert m.join(1, 8, group(4), now=0.0) is None  # another port has its own allowance
    assert m.groups_of(7) == 3
    m.leave(1, 7, group(0))
    assert m.join(1, 7, group(3), now=0.0) is None


def test_network_cap_counts_groups_not_members():
    m = Memberships(port_limit=100, network_limit=2, refresh_after=1)
    assert m.join(1, 7, group(1), now=0.0) is None
    assert m.join(1, 7, group(2), now=0.0) is None
    assert m.join(1, 8, group(2), now=0.0) is None  # an existing group adds nothing
    assert m.join(1, 8, group(3), now=0.0) == NETWORK_CAP
    assert m.join(2, 9, group(3), now=0.0) is None  # another network
    m.leave(1, 7, group(2))
    assert m.join(1, 8, group(3), now=0.0) == NETWORK_CAP  # group 2 still has port 8
    m.leave(1, 8, group(2))
    assert m.join(1, 8, group(3), now=0.0) is None


def test_replace_makes_the_mirror_the_databases():
    m = Memberships(port_limit=2, network_limit=100, refresh_after=10)
    m.join(1, 7, group(1), now=0.0)
    now = time.monotonic()
    m.replace([(1, 8, group(5), now), (1, 8, group(6), now - 20)])
    assert len(m) == 2 and m.groups_of(7) == 0
    assert m.join(1, 8, group(5), now=now) == DUPLICATE
    assert m.join(1, 8, group(6), now=now) is None
    assert m.join(1, 8, group(7), now=now) == PORT_CAP
