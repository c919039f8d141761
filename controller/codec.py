"""OpenFlow 1.4 bytes for the flow and group values of controller/flows.py.

Why not os-ken's message classes: building and serialising an OFPFlowMod runs ~12k/s on one
core, and a host's full table is tens of thousands of flows that must be re-sent on every
reconnect. Here a flow-mod is a few `struct.pack` calls and joins, and its bytes are cached
per flow value, so re-encoding an unchanged flow is a dict lookup plus an 8-byte header.
os-ken still parses everything the switch sends; tests check these bytes against its
serialisation (tests/unit/test_codec_oracle.py) and against a real OVS (tests/lab/).

The wire constants below are written out from the OpenFlow 1.4.0 specification rather than
imported from os-ken, whose ofproto package takes ~0.2 s to import and would make the oracle
tests compare os-ken with itself.

Identity: a flow's cookie and a group's id are hashes of their encoded bytes, so equal values
get equal ids in every process, and the controller can diff installed against desired state by
cookie alone. Cookie layout (controller/pipeline.py): WEFT_COOKIE | category << 48 | hash48.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from hashlib import blake2b

from controller.flows import (
    FIELDS,
    Action,
    ApplyActions,
    Flow,
    GotoTable,
    Group,
    Instruction,
    Match,
    Move,
    Output,
    SetField,
    ToGroup,
    WriteMetadata,
)
from controller.pipeline import (
    COOKIE_CATEGORY_SHIFT,
    COOKIE_HASH_BITS,
    GROUP_ID_MARK,
    OFPG_MAX,
    WEFT_COOKIE,
)

# ---------------------------------------------------------------- wire constants (OF 1.4.0)

OFP_VERSION = 0x05
OFPT_PACKET_OUT = 13
OFPT_FLOW_MOD = 14
OFPT_GROUP_MOD = 15
OFPT_MULTIPART_REQUEST = 18
OFPT_BARRIER_REQUEST = 20
OFPT_BUNDLE_CONTROL = 33
OFPT_BUNDLE_ADD_MESSAGE = 34

OFPFC_ADD = 0
OFPFC_DELETE = 3
OFPFC_DELETE_STRICT = 4
OFPGC_ADD = 0
OFPGC_MODIFY = 1
OFPGC_DELETE = 2
OFPGT_ALL = 0

OFPBCT_OPEN_REQUEST = 0
OFPBCT_COMMIT_REQUEST = 4
OFPBCT_DISCARD_REQUEST = 6
OFPBF_ATOMIC = 1
OFPBF_ORDERED = 2
BUNDLE_FLAGS = OFPBF_ATOMIC | OFPBF_ORDERED

OFPMP_FLOW = 1
OFPMP_GROUP_DESC = 7

OFP_NO_BUFFER = 0xFFFF_FFFF
OFPP_ANY = 0xFFFF_FFFF
OFPG_ANY = 0xFFFF_FFFF
OFPTT_ALL = 0xFF
OFPMT_OXM = 1

OFPAT_OUTPUT = 0
OFPAT_GROUP = 22
OFPAT_SET_FIELD = 25
OFPAT_EXPERIMENTER = 0xFFFF
NX_VENDOR_ID = 0x0000_2320
NXAST_REG_MOVE = 6

OFPIT_GOTO_TABLE = 1
OFPIT_WRITE_METADATA = 2
OFPIT_APPLY_ACTIONS = 4

_HEADER = struct.Struct("!BBHI")  # version, type, length, xid
_FLOW_MOD = struct.Struct("!QQBBHHHIIIHH")  # ofp_flow_mod from cookie to importance
_MATCH_HEAD = struct.Struct("!HH")  # type, length (of the unpadded match)
_OUTPUT = struct.Struct("!HHIH6x")
_GROUP_ACTION = struct.Struct("!HHI")
_ACTION_HEAD = struct.Struct("!HH")
_REG_MOVE = struct.Struct("!HHIHHHHII")
_INSTRUCTION_HEAD = struct.Struct("!HH4x")
_GOTO_TABLE = struct.Struct("!HHB3x")
_WRITE_METADATA = struct.Struct("!HH4xQQ")
_GROUP_MOD = struct.Struct("!HBxI")
_BUCKET = struct.Struct("!HHII4x")  # len, weight, watch_port, watch_group
_BUNDLE_CONTROL = struct.Struct("!BBHIIHH")  # header + bundle_id, type, flags
_BUNDLE_ADD = struct.Struct("!BBH4sIxxH")  # header (xid as raw bytes) + bundle_id, flags
_MULTIPART = struct.Struct("!HH4x")
_FLOW_STATS_REQUEST = struct.Struct("!B3xII4xQQ")
_PACKET_OUT = struct.Struct("!IIH6x")

_EMPTY_MATCH = _MATCH_HEAD.pack(OFPMT_OXM, 4) + bytes(4)


def _padding(length: int) -> bytes:
    """Zero bytes that round `length` up to OpenFlow's 8-byte alignment."""
    return bytes(-length % 8)


def _header(msg_type: int, length: int, xid: int) -> bytes:
    return _HEADER.pack(OFP_VERSION, msg_type, length, xid)


# ---------------------------------------------------------------- match fields (OXM)


def _oxm_header(name: str, masked: bool) -> bytes:
    spec = FIELDS[name]
    length = spec.n_bytes * (2 if masked else 1)
    return struct.pack("!I", spec.oxm_class << 16 | spec.oxm_field << 9 | masked << 8 | length)


# name -> (exact header, masked header, width in bytes)
_OXM = {name: (_oxm_header(name, False), _oxm_header(name, True), spec.n_bytes)
        for name, spec in FIELDS.items()}


def _oxm(name: str, value: int, mask: int | None) -> bytes:
    exact, masked, width = _OXM[name]
    if mask is None:
        return exact + value.to_bytes(width, "big")
    return masked + value.to_bytes(width, "big") + mask.to_bytes(width, "big")


def encode_match(m: Match) -> bytes:
    """ofp_match with its padding. Fields go in the Match's own order (flows.FIELD_ORDER),
    which puts every prerequisite before the fields needing it, as OVS requires."""
    fields = b"".join([_oxm(name, value, mask) for name, value, mask in m])
    length = 4 + len(fields)
    return _MATCH_HEAD.pack(OFPMT_OXM, length) + fields + _padding(length)


# ---------------------------------------------------------------- actions and instructions


def _set_field(action: SetField) -> bytes:
    oxm = _oxm(action.field, action.value, None)
    body = oxm + _padding(4 + len(oxm))
    return _ACTION_HEAD.pack(OFPAT_SET_FIELD, 4 + len(body)) + body


def _reg_move(action: Move) -> bytes:
    """NXAST_REG_MOVE of all bits (flows.Move checks both fields have the same width)."""
    src_header, dst_header = _OXM[action.src][0], _OXM[action.dst][0]
    return _REG_MOVE.pack(
        OFPAT_EXPERIMENTER, 24, NX_VENDOR_ID, NXAST_REG_MOVE,
        8 * FIELDS[action.src].n_bytes, 0, 0,  # n_bits, src_ofs, dst_ofs
        int.from_bytes(src_header, "big"), int.from_bytes(dst_header, "big"),
    )


def _encode_action(action: Action) -> bytes:
    if type(action) is Output:
        return _OUTPUT.pack(OFPAT_OUTPUT, 16, action.port, action.max_len)
    if type(action) is SetField:
        return _set_field(action)
    if type(action) is Move:
        return _reg_move(action)
    if type(action) is ToGroup:
        return _GROUP_ACTION.pack(OFPAT_GROUP, 8, action.group_id)
    raise TypeError(f"not an action: {action!r}")


def encode_actions(actions: tuple[Action, ...]) -> bytes:
    return b"".join([_encode_action(a) for a in actions])


def _encode_instruction(instruction: Instruction) -> bytes:
    if type(instruction) is ApplyActions:
        actions = encode_actions(instruction.actions)
        return _INSTRUCTION_HEAD.pack(OFPIT_APPLY_ACTIONS, 8 + len(actions)) + actions
    if type(instruction) is GotoTable:
        return _GOTO_TABLE.pack(OFPIT_GOTO_TABLE, 8, instruction.table)
    if type(instruction) is WriteMetadata:
        return _WRITE_METADATA.pack(OFPIT_WRITE_METADATA, 24, instruction.value, instruction.mask)
    raise TypeError(f"not an instruction: {instruction!r}")


def _hash(data: bytes, n_bytes: int) -> int:
    """A hash that is the same in every process and run (unlike hash())."""
    return int.from_bytes(blake2b(data, digest_size=n_bytes).digest(), "big")


# ---------------------------------------------------------------- groups, and deletes by id

_GROUP_ID_RANGE = OFPG_MAX - GROUP_ID_MARK + 1  # ids GROUP_ID_MARK..OFPG_MAX are usable


def encode_buckets(group: Group) -> bytes:
    parts: list[bytes] = []
    for bucket in group.buckets:
        actions = encode_actions(bucket)
        parts += (_BUCKET.pack(16 + len(actions), 0, OFPP_ANY, OFPG_ANY), actions)
    return b"".join(parts)


@lru_cache(maxsize=1 << 16)
def group_id(group: Group) -> int:
    """The group's id: GROUP_ID_MARK plus a 31-bit hash of its encoded buckets.

    The hash is reduced into GROUP_ID_MARK..OFPG_MAX (2^31 - 255 values), so two different
    groups of one switch share an id with probability about n^2 / 2^32 for n groups: 2e-6
    for 100 groups, 2e-4 for 1,000. Avoiding that is left to the compiler, which sees all
    groups of a switch at once.
    """
    return _group_id_of(encode_buckets(group))


def _group_id_of(buckets: bytes) -> int:
    return GROUP_ID_MARK + _hash(buckets, 8) % _GROUP_ID_RANGE


def group_delete(group_id: int, xid: int) -> bytes:
    return _header(OFPT_GROUP_MOD, 16, xid) + _GROUP_MOD.pack(OFPGC_DELETE, OFPGT_ALL, group_id)


_FLOW_DELETE_LENGTH = 8 + _FLOW_MOD.size + len(_EMPTY_MATCH)


def flow_delete(cookie: int, xid: int) -> bytes:
    """Delete, in every table, exactly the flows whose cookie is `cookie`."""
    return _header(OFPT_FLOW_MOD, _FLOW_DELETE_LENGTH, xid) + _FLOW_MOD.pack(
        cookie, 0xFFFF_FFFF_FFFF_FFFF, OFPTT_ALL, OFPFC_DELETE, 0, 0, 0,
        OFP_NO_BUFFER, OFPP_ANY, OFPG_ANY, 0, 0,
    ) + _EMPTY_MATCH


def flow_delete_strict(table: int, priority: int, cookie: int, match: bytes, xid: int) -> bytes:
    """Delete the one flow of `table` with exactly this priority, encoded ofp_match (padded)
    and cookie: how a flow that is not Weft's, hence has no cookie of its own, is removed."""
    body = _FLOW_MOD.pack(
        cookie, 0xFFFF_FFFF_FFFF_FFFF, table, OFPFC_DELETE_STRICT, 0, 0, priority,
        OFP_NO_BUFFER, OFPP_ANY, OFPG_ANY, 0, 0,
    ) + match
    return _header(OFPT_FLOW_MOD, 8 + len(body), xid) + body


def group_modify(group: Group, xid: int) -> bytes:
    """Give the group with `group`'s id `group`'s buckets again (someone changed them)."""
    buckets = encode_buckets(group)
    body = _GROUP_MOD.pack(OFPGC_MODIFY, OFPGT_ALL, _group_id_of(buckets)) + buckets
    return _header(OFPT_GROUP_MOD, 8 + len(body), xid) + body


# ---------------------------------------------------------------- the cache


class _RecentCache:
    """A dict that forgets entries not used lately, in two generations instead of an LRU
    list so that it needs no lock.

    Lookups and stores are single dict operations, atomic under the GIL. Two threads missing
    the same key both compute it and store equal values; a generation swap racing a store
    can drop an entry, which only costs a recomputation. Either way callers see correct
    values, which is all a cache of pure functions needs.
    """

    def __init__(self, compute, limit: int):
        self._compute = compute
        self._limit = limit
        self._young: dict = {}
        self._old: dict = {}

    def __call__(self, key):
        value = self._young.get(key)
        if value is None:
            value = self._old.get(key)
            if value is None:
                value = self._compute(key)
            if len(self._young) >= self._limit:
                self._old, self._young = self._young, {}
            self._young[key] = value
        return value


class Codec:
    """Encodes flow and group mods, caching each value's bytes (see _RecentCache for why it
    is safe to share between threads). One per controller process: flows that several
    switches have in common are encoded once.

    `cache_size` bounds each of the two cache generations, so memory stays bounded while the
    desired state churns: at most about 2 * cache_size flows (and as many groups) are kept.
    """

    def __init__(self, cache_size: int = 500_000):
        self._flows = _RecentCache(self._encode_flow, cache_size)
        self._groups = _RecentCache(self._encode_group, cache_size)

    @staticmethod
    def _encode_flow(flow: Flow) -> tuple[int, int, bytes]:
        """(cookie, message length, message after the 8-byte header) of the flow's ADD."""
        match = encode_match(flow.match)
        instructions = b"".join([_encode_instruction(i) for i in flow.instructions])
        identity = struct.pack("!BH", flow.table, flow.priority) + match + instructions
        digest = _hash(identity, COOKIE_HASH_BITS // 8)
        cookie = WEFT_COOKIE | int(flow.category) << COOKIE_CATEGORY_SHIFT | digest
        body = _FLOW_MOD.pack(
            cookie, 0, flow.table, OFPFC_ADD, 0, 0, flow.priority,  # no timeouts
            OFP_NO_BUFFER, OFPP_ANY, OFPG_ANY, 0, 0,  # flags, importance
        ) + match + instructions
        return cookie, 8 + len(body), body

    @staticmethod
    def _encode_group(group: Group) -> tuple[int, int, bytes]:
        buckets = encode_buckets(group)
        gid = _group_id_of(buckets)
        body = _GROUP_MOD.pack(OFPGC_ADD, OFPGT_ALL, gid) + buckets
        return gid, 8 + len(body), body

    # Deletes need no cache; they are here too so that code holding a Codec has the whole
    # API, and at module level for code that has none.
    flow_delete = staticmethod(flow_delete)
    group_delete = staticmethod(group_delete)

    def cookie(self, flow: Flow) -> int:
        """WEFT_COOKIE | category << 48 | 48-bit blake2b of (table, priority, match,
        instructions) as encoded: equal flows share a cookie, any change gives a new one."""
        return self._flows(flow)[0]

    def flow_add(self, flow: Flow, xid: int) -> bytes:
        _cookie, length, body = self._flows(flow)
        return _header(OFPT_FLOW_MOD, length, xid) + body

    def group_add(self, group: Group, xid: int) -> bytes:
        _gid, length, body = self._groups(group)
        return _header(OFPT_GROUP_MOD, length, xid) + body


# ---------------------------------------------------------------- bundles and other messages


def _bundle_control(xid: int, bundle_id: int, control_type: int) -> bytes:
    return _BUNDLE_CONTROL.pack(
        OFP_VERSION, OFPT_BUNDLE_CONTROL, 16, xid, bundle_id, control_type, BUNDLE_FLAGS
    )


def bundle_open(xid: int, bundle_id: int) -> bytes:
    return _bundle_control(xid, bundle_id, OFPBCT_OPEN_REQUEST)


def bundle_commit(xid: int, bundle_id: int) -> bytes:
    return _bundle_control(xid, bundle_id, OFPBCT_COMMIT_REQUEST)


def bundle_discard(xid: int, bundle_id: int) -> bytes:
    return _bundle_control(xid, bundle_id, OFPBCT_DISCARD_REQUEST)


def bundle_add(bundle_id: int, inner_message: bytes, flags: int = BUNDLE_FLAGS) -> bytes:
    """Wrap an encoded message for the bundle. The outer xid is the inner message's own
    (OpenFlow 1.4.0 7.3.9.2 wants them equal), copied as raw bytes: no re-encoding.
    `flags` must equal the flags the bundle was opened with (OVS checks)."""
    return _BUNDLE_ADD.pack(
        OFP_VERSION, OFPT_BUNDLE_ADD_MESSAGE, 16 + len(inner_message), inner_message[4:8],
        bundle_id, flags,
    ) + inner_message


def barrier_request(xid: int) -> bytes:
    return _header(OFPT_BARRIER_REQUEST, 8, xid)


def flow_stats_request(xid: int, cookie: int, cookie_mask: int) -> bytes:
    """Flow stats of every table, for flows whose cookie matches under the mask."""
    body = _MULTIPART.pack(OFPMP_FLOW, 0) + _FLOW_STATS_REQUEST.pack(
        OFPTT_ALL, OFPP_ANY, OFPG_ANY, cookie, cookie_mask
    ) + _EMPTY_MATCH
    return _header(OFPT_MULTIPART_REQUEST, 8 + len(body), xid) + body


def group_desc_request(xid: int) -> bytes:
    return _header(OFPT_MULTIPART_REQUEST, 16, xid) + _MULTIPART.pack(OFPMP_GROUP_DESC, 0)


def packet_out(xid: int, in_port: int, actions: tuple[Action, ...], data: bytes) -> bytes:
    """Send `data` through `actions` as if it had entered on `in_port` (OFPP_CONTROLLER for
    a packet of the controller's own)."""
    encoded = encode_actions(actions)
    body = _PACKET_OUT.pack(OFP_NO_BUFFER, in_port, len(encoded)) + encoded + data
    return _header(OFPT_PACKET_OUT, 8 + len(body), xid) + body
