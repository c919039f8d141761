"""Join-to-installed latency: a committed batch is timed by the first reconcile pass whose
changes touch its networks' memberships (or reload everything), not by any other pass."""

from __future__ import annotations

import time

from controller.changes import EVERYTHING, Change
from controller.joinclock import JoinClock


def test_the_pass_with_the_batchs_rows_times_its_joins():
    seen: list[float] = []
    clock = JoinClock(seen.append)
    arrived = time.monotonic() - 0.5
    clock.committed({7}, [arrived, arrived + 0.1])
    clock.pass_started([Change("group_members", "INSERT", network_id=8)])  # another network
    clock.pass_ended()
    clock.pass_started([Change("ports", "UPDATE", id=3, network_id=7)])  # not memberships
    clock.pass_ended()
    assert seen == []
    clock.pass_started([Change("group_members", "INSERT", network_id=7)])
    clock.pass_ended()
    assert len(seen) == 2 and min(seen) > 0.4 and max(seen) < 5
    clock.pass_started([EVERYTHING])
    clock.pass_ended()
    assert len(seen) == 2  # observed once


def test_a_full_reload_times_every_pending_batch_and_leaves_add_nothing():
    seen: list[float] = []
    clock = JoinClock(seen.append)
    clock.committed({1}, [time.monotonic()])
    clock.committed({2}, [])  # only leaves
    clock.pass_started([EVERYTHING])
    clock.pass_ended()
    assert len(seen) == 1
