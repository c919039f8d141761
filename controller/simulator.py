"""What the flows of controller/flows.py do to a packet, without a switch.

Property tests of the compiler run millions of packets through compiled tables; a real OVS
per example would be far too slow, so this executes the same values with OVS's semantics:

- each table picks its highest-priority matching flow; a miss drops the packet;
- a flow runs ApplyActions, then WriteMetadata, then GotoTable (forward only);
- metadata and registers start at 0 on every switch;
- actions run in order on the packet as it is at that point; Output to the port the packet
  came in on is dropped unless the port is OFPP_IN_PORT; OFPP_CONTROLLER is reported as an
  output to that port number;
- a group of type ALL runs each bucket on its own copy of the packet.

It refuses tables OVS would reject or run ambiguously: two overlapping flows of equal
priority in one table (OVS would pick either), a ToGroup to a missing group, a GotoTable
backwards. Tables read back from a real switch may be any of that (someone else's flows),
so `strict=False` runs them anyway: the first of overlapping flows wins and a missing group
sends nothing. `Fabric` joins several switches by tunnels and follows packets across them;
a `Watcher` sees each table lookup and each switch a packet crosses (controller/trace.py).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import combinations
from typing import Any, NamedTuple, Protocol

from controller.flows import (
    FIELDS,
    OFPP_IN_PORT,
    Action,
    ApplyActions,
    Flow,
    GotoTable,
    Group,
    Match,
    Move,
    Output,
    SetField,
    ToGroup,
    WriteMetadata,
    to_int,
)

# Per-switch pipeline state: matched and set like packet fields, but never part of a packet.
PIPELINE_FIELDS = frozenset({"in_port", "metadata", *(f"reg{i}" for i in range(8))})


class FlowTableError(ValueError):
    """The flows or groups given to SimSwitch are not a table OVS would run as meant."""


class LoopError(RuntimeError):
    """A packet went round in the fabric."""


class Packet(Mapping[str, int]):
    """An immutable packet: header field name -> int (names as in flows.FIELDS).

    Header values may be given as MAC or IP text. Other keys (a payload tag, say) are
    carried through untouched. A field the packet lacks matches as 0, as in OVS.
    """

    __slots__ = ("_fields",)

    def __init__(
        self, fields: Mapping[str, object] | Iterable[tuple[str, object]] = (), **more: object
    ):
        merged = {**dict(fields), **more}
        inside = PIPELINE_FIELDS.intersection(merged)
        if inside:
            raise ValueError(f"{sorted(inside)} are switch state, not packet fields")
        # header fields are ints (to_int); any other key (a payload tag) is carried as given
        self._fields: dict[str, Any] = {
            k: to_int(v) if k in FIELDS else v for k, v in merged.items()
        }

    def __getitem__(self, key: str) -> int:
        return self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __hash__(self) -> int:
        return hash(frozenset(self._fields.items()))

    def __repr__(self) -> str:
        return f"Packet({self._fields!r})"

    def replace(self, **changes: object) -> Packet:
        return Packet(self._fields, **changes)

    def without(self, *keys: str) -> Packet:
        return Packet({k: v for k, v in self._fields.items() if k not in keys})


# ---------------------------------------------------------------- one switch


def _matches(m: Match, state: Mapping[str, int]) -> bool:
    for name, value, mask in m:
        have = state.get(name, 0)
        if (have if mask is None else have & mask) != value:
            return False
    return True


def _overlap(a: Match, b: Match) -> bool:
    """Whether some packet matches both: every field both constrain agrees on the bits both
    care about (a field only one of them matches constrains nothing for the other)."""
    b_fields = {name: (value, mask) for name, value, mask in b}
    for name, value, mask in a:
        if name in b_fields:
            other_value, other_mask = b_fields[name]
            common = (-1 if mask is None else mask) & (-1 if other_mask is None else other_mask)
            if (value ^ other_value) & common:
                return False
    return True


class _Level(NamedTuple):
    """The flows of one table with one priority, indexed by the fields all of them match
    exactly (e.g. metadata and eth_dst in L2_LOOKUP). A packet can only match flows in the
    bucket of its own values of those fields, so a lookup is one dict access per priority,
    and overlaps need checking only inside a bucket instead of between all pairs."""

    key_fields: tuple[str, ...]
    buckets: dict[tuple[int, ...], list[Flow]]

    @classmethod
    def of(cls, flows: list[Flow], strict: bool = True) -> _Level:
        shared = set.intersection(*({n for n, _, m in f.match if m is None} for f in flows))
        key_fields = tuple(sorted(shared))
        buckets = defaultdict(list)
        for flow in flows:
            values = {name: value for name, value, _ in flow.match}
            buckets[tuple(values[n] for n in key_fields)].append(flow)
        for bucket in buckets.values() if strict else ():
            for a, b in combinations(bucket, 2):
                if _overlap(a.match, b.match):
                    raise FlowTableError(f"overlapping flows of equal priority:\n  {a}\n  {b}")
        return cls(key_fields, dict(buckets))

    def lookup(self, state: Mapping[str, int]) -> Flow | None:
        key = tuple([state.get(name, 0) for name in self.key_fields])
        for flow in self.buckets.get(key, ()):
            if _matches(flow.match, state):
                return flow  # the only one: flows of a level do not overlap
        return None


def _actions_of(flow: Flow) -> Iterator[Action]:
    for instruction in flow.instructions:
        if isinstance(instruction, ApplyActions):
            yield from instruction.actions


class SimSwitch:
    """One switch's flow tables and groups (`groups` maps group id -> Group); `strict=False`
    accepts tables OVS would run ambiguously (see the module's docstring)."""

    def __init__(self, flows: Iterable[Flow], groups: Mapping[int, Group], strict: bool = True):
        self._groups = dict(groups)
        flows = list(dict.fromkeys(flows))  # the same flow twice is one flow, as in OVS
        by_level: dict[int, dict[int, list[Flow]]] = defaultdict(lambda: defaultdict(list))
        for flow in flows:
            by_level[flow.table][flow.priority].append(flow)
        self._tables = {  # table -> its levels, highest priority first
            table: [_Level.of(levels[p], strict) for p in sorted(levels, reverse=True)]
            for table, levels in by_level.items()
        }
        if strict:
            self._check_references(flows)

    def _check_references(self, flows: list[Flow]) -> None:
        for flow in flows:
            for instruction in flow.instructions:
                if isinstance(instruction, GotoTable) and instruction.table <= flow.table:
                    raise FlowTableError(f"goto to an earlier table: {flow}")
        bucket_actions = (a for g in self._groups.values() for b in g.buckets for a in b)
        flow_actions = (a for f in flows for a in _actions_of(f))
        for action in (*flow_actions, *bucket_actions):
            if isinstance(action, ToGroup) and action.group_id not in self._groups:
                raise FlowTableError(f"{action} refers to a group that does not exist")

    def process(
        self,
        in_port: int,
        packet: Mapping[str, object],
        visit: Callable[[int, Flow | None], None] | None = None,
    ) -> list[tuple[int, Packet]]:
        """Every (out_port, packet) the switch sends when `packet` enters on `in_port`;
        `visit(table, flow)` is called with each table's matching flow (None: a miss)."""
        state = {
            **Packet(packet), **dict.fromkeys(PIPELINE_FIELDS, 0), "in_port": in_port,
        }
        outputs: list[tuple[int, Packet]] = []
        table: int | None = 0
        while table is not None:
            flow = self._lookup(table, state)
            if visit is not None:
                visit(table, flow)
            if flow is None:
                break  # table miss: drop
            table = None  # no GotoTable: the pipeline ends after this flow
            for instruction in flow.instructions:
                if isinstance(instruction, ApplyActions):
                    self._apply(instruction.actions, state, outputs, ())
                elif isinstance(instruction, WriteMetadata):
                    metadata, mask = state["metadata"], instruction.mask
                    state["metadata"] = metadata & ~mask | instruction.value & mask
                else:
                    table = instruction.table
        return outputs

    def _lookup(self, table: int, state: Mapping[str, int]) -> Flow | None:
        for level in self._tables.get(table, ()):
            flow = level.lookup(state)
            if flow is not None:
                return flow
        return None

    def _apply(self, actions, state: dict, outputs: list, active_groups: tuple[int, ...]):
        for action in actions:
            if isinstance(action, Output):
                if action.port == OFPP_IN_PORT:
                    outputs.append((state["in_port"], _packet(state)))
                elif action.port != state["in_port"]:
                    outputs.append((action.port, _packet(state)))
            elif isinstance(action, SetField):
                state[action.field] = action.value
            elif isinstance(action, Move):
                state[action.dst] = state.get(action.src, 0)
            elif isinstance(action, ToGroup):
                if action.group_id in active_groups:
                    raise FlowTableError(f"group {action.group_id:#x} contains itself")
                chain = (*active_groups, action.group_id)
                group = self._groups.get(action.group_id)  # missing only if not strict
                for bucket in group.buckets if group else ():
                    self._apply(bucket, dict(state), outputs, chain)


def _packet(state: Mapping[str, object]) -> Packet:
    return Packet({k: v for k, v in state.items() if k not in PIPELINE_FIELDS})


# ---------------------------------------------------------------- several switches


class Switch(Protocol):
    """What the fabric needs of a switch: SimSwitch.process."""

    def process(
        self,
        in_port: int,
        packet: Mapping[str, object],
        visit: Callable[[int, Flow | None], None] | None = None,
    ) -> list[tuple[int, Packet]]: ...


class Host(NamedTuple):
    switch: Switch
    tunnels: Mapping[int, str]  # tunnel ofport -> the host at its other end


class Watcher(Protocol):
    """Told what the fabric does with a packet: each table lookup on a switch (`step`),
    then what that switch sent out (`hop`)."""

    def step(self, host: str, table: int, flow: Flow | None) -> None: ...

    def hop(self, host: str, in_port: int, packet: Packet, outputs: list) -> None: ...


class Fabric:
    """Switches joined by tunnels, one tunnel port per pair of hosts, as Weft builds them.

    A packet output to a tunnel port arrives at the peer on the peer's tunnel port towards
    the sender, with tunnel_id kept (the VNI) and metadata/registers reset. Outputs to any
    other port are deliveries; the tunnel_id is dropped from them, as a container never
    sees the VNI.
    """

    def __init__(self, hosts: Mapping[str, Host], max_hops: int = 4):
        self._hosts = dict(hosts)
        self._max_hops = max_hops
        self._port_towards = {}  # (host, peer) -> the host's tunnel port to the peer
        for name, host in self._hosts.items():
            for port, peer in host.tunnels.items():
                self._port_towards[name, peer] = port
        for name, host in self._hosts.items():
            for peer in host.tunnels.values():
                if (peer, name) not in self._port_towards:
                    raise ValueError(f"{peer!r} has no tunnel back to {name!r}")

    def send(
        self,
        host: str,
        in_port: int,
        packet: Mapping[str, object],
        watcher: Watcher | None = None,
    ) -> list[tuple[str, int, Packet]]:
        """Every (host, port, packet) delivered anywhere when `packet` enters `host` on
        `in_port`. Raises LoopError when a packet comes back to a switch and port it already
        entered unchanged (it would go round forever) or crosses more than max_hops tunnels.
        """
        deliveries: list[tuple[str, int, Packet]] = []
        # each item: its path so far
        pending: deque[tuple[tuple[str, int, Packet], ...]] = deque(
            [((host, in_port, Packet(packet)),)]
        )
        while pending:
            path = pending.popleft()
            at, port, current = path[-1]
            visit = None if watcher is None else (lambda t, f, at=at: watcher.step(at, t, f))
            outputs = self._hosts[at].switch.process(port, current, visit)
            if watcher is not None:
                watcher.hop(at, port, current, outputs)
            for out_port, out in outputs:
                peer = self._hosts[at].tunnels.get(out_port)
                if peer is None:
                    deliveries.append((at, out_port, out.without("tunnel_id")))
                    continue
                arrival = (peer, self._port_towards[peer, at],
                           out.replace(tunnel_id=out.get("tunnel_id", 0)))
                if arrival in path or len(path) > self._max_hops:
                    hops = " -> ".join(f"{h}:{p}" for h, p, _ in (*path, arrival))
                    raise LoopError(f"packet loops: {hops}")
                pending.append((*path, arrival))
        return deliveries
