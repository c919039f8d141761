"""Cookies, group ids, caching and bundle framing of the codec (bytes: test_codec_oracle.py)."""

from __future__ import annotations

import dataclasses
import os
import struct
import subprocess
import sys

import pytest

from controller import codec
from controller.flows import (
    ApplyActions,
    Flow,
    GotoTable,
    Group,
    Move,
    Output,
    SetField,
    ToGroup,
    WriteMetadata,
    match,
)
from controller.pipeline import (
    COOKIE_MARK_MASK,
    GROUP_ID_MARK,
    OFPG_MAX,
    WEFT_COOKIE,
    Category,
    Table,
    cookie_category,
)
from lab.deployment import WEFT_FLOWS

FLOW = Flow(
    Table.L2_LOOKUP, 100,
    match(metadata=5000, eth_dst="02:00:00:00:00:01", reg0=(0, 1)),
    (ApplyActions((SetField("tunnel_id", 5000), Output(10))), GotoTable(Table.FLOOD)),
    Category.PORT,
)
GROUP = Group(((Output(1),), (SetField("tunnel_id", 7), Output(10))))


def header(message: bytes) -> tuple[int, int, int, int]:
    return struct.unpack_from("!BBHI", message)


# ---------------------------------------------------------------- cookies


def test_cookie_layout():
    cookie = codec.Codec().cookie(FLOW)
    assert cookie >> 56 == 0x57
    assert cookie_category(cookie) is Category.PORT
    assert struct.unpack_from("!Q", codec.Codec().flow_add(FLOW, 1), 8) == (cookie,)


def test_the_labs_filter_for_weft_flows_is_the_cookie_mark():
    """lab/ writes the filter out (it does not import the controller): it must stay this."""
    assert f"cookie={WEFT_COOKIE:#x}/{COOKIE_MARK_MASK:#x}" == WEFT_FLOWS


def test_cookie_is_pinned():
    """Cookies must not change between releases: a changed cookie makes every controller
    replace every flow of every switch after an upgrade. Change this value only on purpose."""
    assert codec.Codec().cookie(FLOW) == 0x5704_CE06_D748_F0D6


def test_equal_flows_built_separately_share_a_cookie():
    twin = Flow(
        30, 100, match(reg0=(0, 1), eth_dst=0x0200_0000_0001, metadata=5000),
        (ApplyActions((SetField("tunnel_id", 5000), Output(10))), GotoTable(40)), 4,
    )
    assert twin is not FLOW
    assert codec.Codec().cookie(twin) == codec.Codec().cookie(FLOW)


def test_cookie_is_the_same_in_other_processes():
    """Python's hash() differs per process; the cookie must not."""
    program = (
        "from tests.unit.test_codec import FLOW, GROUP; from controller import codec;"
        "print(codec.Codec().cookie(FLOW), codec.group_id(GROUP))"
    )
    for seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", program], check=True, capture_output=True, text=True,
            env={**os.environ, "PYTHONHASHSEED": seed}, cwd=os.getcwd(),
        ).stdout.split()
        assert [int(x) for x in out] == [codec.Codec().cookie(FLOW), codec.group_id(GROUP)]


VARIANTS = {
    "table": dataclasses.replace(FLOW, table=31),
    "priority": dataclasses.replace(FLOW, priority=101),
    "category": dataclasses.replace(FLOW, category=Category.NETWORK),
    "match value": dataclasses.replace(
        FLOW, match=match(metadata=5001, eth_dst="02:00:00:00:00:01", reg0=(0, 1))),
    "match mask": dataclasses.replace(
        FLOW, match=match(metadata=5000, eth_dst="02:00:00:00:00:01", reg0=(0, 3))),
    "match exact vs masked": dataclasses.replace(
        FLOW, match=match(metadata=5000, eth_dst="02:00:00:00:00:01", reg0=0)),
    "match field dropped": dataclasses.replace(
        FLOW, match=match(metadata=5000, eth_dst="02:00:00:00:00:01")),
    "action value": dataclasses.replace(FLOW, instructions=(
        ApplyActions((SetField("tunnel_id", 5001), Output(10))), GotoTable(40))),
    "action order": dataclasses.replace(FLOW, instructions=(
        ApplyActions((Output(10), SetField("tunnel_id", 5000))), GotoTable(40))),
    "output max_len": dataclasses.replace(FLOW, instructions=(
        ApplyActions((SetField("tunnel_id", 5000), Output(10, max_len=64))), GotoTable(40))),
    "goto": dataclasses.replace(FLOW, instructions=(
        ApplyActions((SetField("tunnel_id", 5000), Output(10))), GotoTable(41))),
    "no goto": dataclasses.replace(FLOW, instructions=(
        ApplyActions((SetField("tunnel_id", 5000), Output(10))),)),
    "write metadata": dataclasses.replace(FLOW, instructions=(
        ApplyActions((SetField("tunnel_id", 5000), Output(10))), WriteMetadata(1),
        GotoTable(40))),
    "drop": dataclasses.replace(FLOW, instructions=()),
}


def test_any_change_gives_a_new_cookie():
    c = codec.Codec()
    cookies = {name: c.cookie(flow) for name, flow in VARIANTS.items()}
    cookies["original"] = c.cookie(FLOW)
    assert len(set(cookies.values())) == len(cookies), cookies


# ---------------------------------------------------------------- group ids


def test_group_id_is_marked_deterministic_and_in_range():
    gid = codec.group_id(GROUP)
    assert GROUP_ID_MARK <= gid <= OFPG_MAX
    assert gid == codec.group_id(Group(((Output(1),), (SetField("tunnel_id", 7), Output(10)))))
    assert gid == 0xC928_C600, "group ids must not change between releases"


def test_group_id_differs_when_buckets_differ():
    variants = [
        GROUP,
        Group(((Output(1),), (SetField("tunnel_id", 8), Output(10)))),
        Group(((SetField("tunnel_id", 7), Output(10)), (Output(1),))),
        Group(((Output(1),),)),
        Group(((Output(1), ToGroup(GROUP_ID_MARK)),)),
        Group(()),
    ]
    assert len({codec.group_id(g) for g in variants}) == len(variants)


def test_group_id_never_exceeds_ofpg_max(monkeypatch):
    """OFPG_MAX is 0xffffff00; the ids above it are reserved (ALL, ANY)."""
    monkeypatch.setattr(codec, "_hash", lambda data, n_bytes: (1 << (8 * n_bytes)) - 1)
    highest = codec.group_id(Group(((Output(0xFFFF_FEFF),),)))  # not cached by other tests
    assert GROUP_ID_MARK <= highest <= OFPG_MAX


def test_group_add_carries_the_group_id():
    message = codec.Codec().group_add(GROUP, 3)
    assert struct.unpack_from("!HBxI", message, 8) == (0, 0, codec.group_id(GROUP))


# ---------------------------------------------------------------- caching


def test_cached_flow_add_differs_only_in_xid():
    c = codec.Codec()
    first, second = c.flow_add(FLOW, 1), c.flow_add(FLOW, 0xFFFF_FFFF)
    assert first[8:] == second[8:]
    assert header(first) == (5, 14, len(first), 1)
    assert header(second) == (5, 14, len(second), 0xFFFF_FFFF)


def test_recent_cache_forgets_old_entries_but_keeps_recent_ones():
    calls = []
    cache = codec._RecentCache(lambda key: calls.append(key) or key * 2, limit=2)
    assert [cache(k) for k in (1, 2, 1, 2)] == [2, 4, 2, 4]
    assert calls == [1, 2]
    cache(3)  # young generation full: {1, 2} becomes old, 3 starts a new one
    cache(1)  # found in the old generation, moved to the young one
    cache(4)  # young {3, 1} full again: {1, 2} is forgotten
    calls.clear()
    assert [cache(k) for k in (1, 3, 4, 2)] == [2, 6, 8, 4]
    assert calls == [2]


# ---------------------------------------------------------------- bundles and deletes


def test_bundle_add_takes_the_inner_xid_and_wraps_unchanged():
    inner = codec.Codec().flow_add(FLOW, 0xCAFE_F00D)
    outer = codec.bundle_add(0x42, inner)
    assert header(outer) == (5, 34, 16 + len(inner), 0xCAFE_F00D)
    assert struct.unpack_from("!IxxH", outer, 8) == (0x42, codec.BUNDLE_FLAGS)
    assert outer[16:] == inner


def test_flow_delete_matches_the_exact_cookie_everywhere():
    message = codec.flow_delete(0x5704_0000_0000_0001, 9)
    cookie, mask, table, command = struct.unpack_from("!QQBB", message, 8)
    assert (cookie, mask, table, command) == (0x5704_0000_0000_0001, 2**64 - 1, 0xFF, 3)


# ---------------------------------------------------------------- values the codec relies on


def test_move_between_fields_of_different_width_is_refused():
    with pytest.raises(ValueError, match="widths differ"):
        Move("eth_src", "ipv4_dst")


def test_set_field_value_must_fit():
    with pytest.raises(ValueError, match="does not fit"):
        SetField("reg0", 1 << 32)
    with pytest.raises(KeyError):
        SetField("reg9", 1)


def test_all_ones_mask_is_an_exact_match():
    assert match(eth_type=(0x0806, 0xFFFF), arp_op=1) == match(eth_type=0x0806, arp_op=1)
