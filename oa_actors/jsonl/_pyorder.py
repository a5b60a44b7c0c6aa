"""Conversation order of a Claude Code session file: the `seq` of its rows (docs/rows.md).

Claude Code does not always write a record after the records it follows in the conversation: in
interactive sessions a prompt (with the attachments chained to it) can be written after the reply
it caused, parallel tool results in another order than their calls. The conversation is the
`parentUuid` chain; this module places every transcript record in it, online, as the lines arrive:

- A record is placed *before* the earliest row already emitted that (a) descends from it (its
  record named this one as its parent, directly or through records that emitted nothing or were
  themselves waiting: the "awaited" parents), or (b) was placed after this record's parent (for a
  chain's first record, `parentUuid: null`: after nothing) and has a later timestamp (siblings
  sort by timestamp; equal timestamps keep file order). A record whose parent is unknown is only
  placed before its own descendants. Its rows then take values in the gap just below that row:
  `lo + (hi - lo) * i / 2**e` with `2**e > rows`, so `seq` becomes a fraction (a dyadic rational,
  exact in every consumer).
- Otherwise (the usual case: its parent is the last thing placed) the record is appended: its
  rows get the next integers.
- Nothing is held back: every row is emitted as soon as its line is read; only where it sorts
  changes. Keys do not depend on `seq`, so they stay file-order based and stable.

The state is bounded (it is part of every tail snapshot): the last `NODES_MAX` records, the last
`AWAITED_MAX` missing parents, the last `FRACS_MAX` fractional seqs. A record placed relative to
something forgotten, or in a gap too narrow for a double, is appended instead (file order). Every
operation is IEEE double arithmetic on values that both backends compute identically; the Rust
twin is `rust_ext/src/order.rs`.
"""

from __future__ import annotations

import math
from typing import Any

NODES_MAX = 256
AWAITED_MAX = 64
FRACS_MAX = 64
RESOLVE_STEPS = 16  # links followed from a record to the missing ancestor its chain waits for

Number = int | float


def as_number(value: float) -> Number:
    """`value` as an int when it is integral (how `seq` is written everywhere), else the float."""
    return int(value) if value == math.floor(value) else value


def _opt_number(value: Any) -> Number | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("a number or null")
    return as_number(value)


def _opt_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("an integer or null")
    return value


def _opt_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise TypeError("a string or null")


class Node:
    """A placed record: its first row's seq (None: no row), the seq its children follow, its
    timestamp, and the missing ancestor its chain waits for (None: the chain is complete)."""

    __slots__ = ("first", "floor", "top", "ts")

    def __init__(self, first: Number | None, floor: Number, ts: int | None, top: str | None) -> None:
        self.first = first
        self.floor = floor
        self.ts = ts
        self.top = top


class Plan:
    """Where the record being mapped goes: after `lo`, before `hi` (None: appended)."""

    __slots__ = ("ceiling", "hi", "lo", "next", "top", "ts", "uuid")

    def __init__(
        self,
        uuid: str | None,
        ts: int | None,
        lo: Number,
        hi: Number | None,
        next_seq: int,
        ceiling: Number | None,
    ) -> None:
        self.uuid = uuid
        self.ts = ts
        self.lo = lo
        self.hi = hi
        self.next = next_seq
        self.ceiling = ceiling
        self.top: str | None = None

    def before(self, pos: Number | None) -> bool:
        """True if something placed after `pos` (None: unknown, taken as earlier) precedes this record."""
        return pos is None or self.hi is None or pos < self.hi


class ConversationOrder:
    """The bounded per-file state of the placement (see the module docstring)."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}  # arrival order
        self.awaited: dict[str, Number | None] = {}  # missing parent -> smallest seq waiting below it
        self.fracs: list[Number] = []  # fractional seqs emitted, ascending
        self.horizon: Number | None = None  # the largest fractional seq forgotten

    # -- placement --------------------------------------------------------------------------------
    def _usable(self, seq: Number) -> bool:
        return self.horizon is None or seq > self.horizon

    def _pred(self, seq: Number) -> Number:
        """The largest seq emitted below `seq` (-1 before the first row)."""
        best: Number = math.ceil(seq) - 1
        if self.horizon is not None and self.horizon < seq:
            best = max(best, self.horizon)
        for f in self.fracs:
            if f >= seq:
                break
            best = max(best, f)
        return best

    def _resolve(self, top: str | None) -> str | None:
        for _ in range(RESOLVE_STEPS):
            if top is None:
                return None
            node = self.nodes.get(top)
            if node is None:
                return top
            top = node.top
        return None

    def plan(self, uuid: str | None, parent: str | None, ts: int | None, next_seq: int) -> Plan:
        """Place a record before it is mapped (its rows are not known yet)."""
        if parent == uuid:
            parent = None
        ceiling = self.awaited.pop(uuid, None) if uuid is not None else None
        target = ceiling if ceiling is not None and self._usable(ceiling) else None
        pnode = self.nodes.get(parent) if parent is not None else None
        last = next_seq - 1
        # A chain's first record (parentUuid null) may go anywhere after -1, like any record after
        # its parent; a record whose parent is missing keeps its place in the file.
        floor = pnode.floor if pnode is not None else -1 if parent is None else None
        if floor is not None and ts is not None and floor < last:
            for node in self.nodes.values():
                first = node.first
                if (
                    first is not None
                    and first > floor
                    and (target is None or first < target)
                    and node.ts is not None
                    and node.ts > ts
                    and self._usable(first)
                ):
                    target = first
        plan = (
            Plan(uuid, ts, last, None, next_seq, ceiling)
            if target is None
            else Plan(uuid, ts, self._pred(target), target, next_seq, ceiling)
        )
        if pnode is not None:
            plan.top = self._resolve(pnode.top)
        elif parent is not None:
            plan.top = parent
            if parent not in self.awaited:
                self._await(parent, None)
        return plan

    def _remember(self, uuid: str, node: Node) -> None:
        """Insert at the end (a uuid seen again moves to the end), forgetting the oldest beyond NODES_MAX."""
        self.nodes.pop(uuid, None)
        self.nodes[uuid] = node
        while len(self.nodes) > NODES_MAX:
            del self.nodes[next(iter(self.nodes))]

    def _await(self, uuid: str, ceiling: Number | None) -> None:
        self.awaited[uuid] = ceiling
        while len(self.awaited) > AWAITED_MAX:
            del self.awaited[next(iter(self.awaited))]

    def commit(self, plan: Plan, rows: list[dict[str, Any]]) -> int:
        """Give the record's rows their seq; returns the next integer seq.

        `rows` were numbered `plan.next`, `plan.next + 1`, ... by `MapperState.emit`: that is
        their seq when the record is appended.
        """
        k = len(rows)
        values = self._fit(plan.lo, plan.hi, k) if plan.hi is not None and k else None
        if values is not None:
            for row, value in zip(rows, values, strict=True):
                row["seq"] = value
            self._note_fracs(values)
            first: Number | None = values[0]
            floor = values[-1]
            next_seq = plan.next
        else:
            if k:
                plan.hi = None  # appended (also when the gap is too narrow for a double)
            first = plan.next if k else None
            floor = plan.next + k - 1 if k else plan.lo
            next_seq = plan.next + k
        if plan.uuid is not None:
            self._remember(plan.uuid, Node(first, floor, plan.ts, plan.top))
        if plan.top is not None and plan.top in self.awaited:
            below = [v for v in (first, plan.ceiling) if v is not None]
            if below:
                cur = self.awaited[plan.top]
                self.awaited[plan.top] = min(below) if cur is None else min(cur, *below)
        return next_seq

    @staticmethod
    def _fit(lo: Number, hi: Number, k: int) -> list[Number] | None:
        """`k` values strictly between `lo` and `hi`: `lo + (hi - lo) / 2**e * i`, i = 1..k, with
        `2**e > k`; None when doubles cannot separate them."""
        e = 1
        while (1 << e) < k + 1:
            e += 1
        step = (hi - lo) / (1 << e)
        values = [as_number(lo + step * i) for i in range(1, k + 1)]
        if all(a < b for a, b in zip([lo, *values], [*values, hi], strict=True)):
            return values
        return None

    def _note_fracs(self, values: list[Number]) -> None:
        for v in values:
            if isinstance(v, float):
                i = len(self.fracs)
                while i > 0 and self.fracs[i - 1] > v:
                    i -= 1
                self.fracs.insert(i, v)
        while len(self.fracs) > FRACS_MAX:
            self.horizon = self.fracs.pop(0)

    # -- snapshot ---------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": [[u, n.first, n.floor, n.ts, n.top] for u, n in self.nodes.items()],
            "awaited": [[u, c] for u, c in self.awaited.items()],
            "fracs": list(self.fracs),
            "horizon": self.horizon,
        }

    @classmethod
    def from_json(cls, obj: Any) -> ConversationOrder:
        """Rebuild from `to_json()`; raises TypeError/ValueError/KeyError on anything else."""
        if not isinstance(obj, dict):
            raise TypeError("order state must be an object")
        order = cls()
        for item in obj["nodes"]:
            uuid, first, floor, ts, top = item
            if not isinstance(uuid, str) or floor is None:
                raise TypeError("bad order node")
            order._remember(uuid, Node(_opt_number(first), as_number(floor), _opt_int(ts), _opt_text(top)))
        for item in obj["awaited"]:
            uuid, ceiling = item
            if not isinstance(uuid, str):
                raise TypeError("bad awaited parent")
            order.awaited[uuid] = _opt_number(ceiling)
        fracs = [_opt_number(f) for f in obj["fracs"]]
        order.fracs = sorted(f for f in fracs if f is not None)
        order.horizon = _opt_number(obj["horizon"])
        return order
