"""Claude Code records written out of conversation order: `seq` follows the parentUuid chain
(docs/rows.md, "Order"), in any chunking, across snapshots, identically on both backends.

Every test runs against each backend (the `tail_cls` fixture); the parity tests also compare the
backends with each other on the same bytes.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oa_actors import jsonl
from oa_actors.jsonl import _pyorder
from tests.support.claude_convo import SID, Builder, chain_order, content, encode, session

PATH = f"/home/dev/.claude/projects/-w/{SID}.jsonl"
HYP = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PARITY = pytest.mark.skipif(
    len(jsonl.implementations()) < 2, reason="native extension not built: parity needs both backends"
)


def parse(tail_cls: Any, data: bytes) -> list[dict[str, Any]]:
    tail = tail_cls(PATH)
    return tail.feed(data).messages + tail.feed(b"", final=True).messages


def by_seq(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: r["seq"])


def feed_in_pieces(
    tail_cls: Any, data: bytes, cuts: list[int], restores: set[int], other: Any = None
) -> tuple[list[dict[str, Any]], Any]:
    """Feed `data` cut at `cuts`; after the pieces in `restores`, continue from a snapshot (restored
    by `other`, the other backend, when given)."""
    tail = tail_cls(PATH)
    rows: list[dict[str, Any]] = []
    prev = 0
    for i, cut in enumerate([*sorted(cuts), len(data)]):
        rows += tail.feed(data[prev:cut]).messages
        prev = cut
        if i in restores:
            tail = (other or tail_cls).restore(tail.snapshot())
            prev = tail.position
    rows += tail.feed(data[prev:], final=True).messages
    return rows, tail


class Turn:
    """Hand-written records for the exact-value tests."""

    def __init__(self) -> None:
        self.b = Builder(random.Random(0))

    def prompt(self, parent: str | None, text: str, pid: str) -> dict[str, Any]:
        return self.b.record(
            "user", parent, self.b.tick(), promptId=pid, message={"role": "user", "content": text}
        )

    def text(self, parent: str, text: str) -> dict[str, Any]:
        return self.b.assistant(parent, {"type": "text", "text": text}, "msg_" + text)

    def call(self, parent: str, tid: str) -> dict[str, Any]:
        block = {"type": "tool_use", "id": tid, "name": "Bash", "input": {"command": "echo " + tid}}
        return self.b.assistant(parent, block, "msg_calls")

    def result(self, call: dict[str, Any], pid: str) -> dict[str, Any]:
        tid = call["message"]["content"][0]["id"]
        block = {"tool_use_id": tid, "type": "tool_result", "content": "out " + tid, "is_error": False}
        return self.b.record(
            "user", call["uuid"], self.b.tick(), promptId=pid, message={"role": "user", "content": [block]}
        )


def test_a_prompt_written_after_its_reply_sorts_before_it(tail_cls) -> None:
    t = Turn()
    p0 = t.prompt(None, "first", "p0")
    a0 = t.text(p0["uuid"], "hello")
    p1 = t.prompt(a0["uuid"], "second", "p1")
    att = t.b.record("attachment", p1["uuid"], t.b.ms - 1, attachment={"type": "hook_success"})
    r1 = t.text(att["uuid"], "answer")
    c1 = t.call(r1["uuid"], "toolu_1")
    x1 = t.result(c1, "p1")
    r2 = t.text(x1["uuid"], "done")
    # The prompt and its attachment are written after the whole reply.
    rows = parse(tail_cls, encode([p0, a0, r1, c1, x1, r2, p1, att]))
    got = [(m["seq"], m["text"]) for m in rows]
    assert got == [
        (0, "first"),
        (1, "hello"),
        (2, "answer"),
        (3, "echo toolu_1"),
        (4, "done"),
        (1.5, "second"),
    ]
    assert [type(m["seq"]) for m in rows] == [int, int, int, int, int, float]
    assert [m["text"] for m in by_seq(rows)] == ["first", "hello", "second", "answer", "echo toolu_1", "done"]
    # The reply's call was not flushed by its late prompt: it kept its output.
    assert rows[3]["data"]["output"] == "out toolu_1"
    # Keys stay file-order based: the same bytes give the same keys, seqs and rows every time.
    assert parse(tail_cls, encode([p0, a0, r1, c1, x1, r2, p1, att])) == rows


def test_a_late_chain_of_prompt_and_attachments_sorts_before_the_reply(tail_cls) -> None:
    t = Turn()
    p0 = t.prompt(None, "first", "p0")
    p1 = t.prompt(p0["uuid"], "second", "p1")
    a1 = t.b.record("attachment", p1["uuid"], t.b.ms - 1, attachment={"type": "a"})
    a2 = t.b.record("attachment", a1["uuid"], t.b.ms - 1, attachment={"type": "b"})
    call = t.call(a2["uuid"], "toolu_9")  # the reply starts with a call: no row until its result
    res = t.result(call, "p1")
    end = t.text(res["uuid"], "end")
    # Written: the reply, then the prompt and its attachments in chain order.
    rows = parse(tail_cls, encode([p0, call, res, end, p1, a1, a2]))
    assert [m["text"] for m in by_seq(rows)] == ["first", "second", "echo toolu_9", "end"]
    assert [m["seq"] for m in by_seq(rows)] == [0, 0.5, 1, 2]


def test_results_before_their_calls_and_siblings_by_timestamp(tail_cls) -> None:
    t = Turn()
    p0 = t.prompt(None, "go", "p0")
    c1 = t.call(p0["uuid"], "toolu_a")
    c2 = t.call(c1["uuid"], "toolu_b")
    c3 = t.call(c2["uuid"], "toolu_c")
    x1, x2, x3 = t.result(c1, "p0"), t.result(c2, "p0"), t.result(c3, "p0")
    end = t.text(x3["uuid"], "end")
    # Result b before its call; results c and a in reverse timestamp order.
    rows = parse(tail_cls, encode([p0, c1, x2, c2, c3, x3, x1, end]))
    assert [m["text"] for m in by_seq(rows)] == ["go", "echo toolu_a", "echo toolu_b", "echo toolu_c", "end"]
    assert all(m["data"]["output"] == "out " + m["text"][5:] for m in rows if m["kind"] == "cmd")


def test_calls_without_results_are_still_flushed_by_the_next_prompt(tail_cls) -> None:
    t = Turn()
    p0 = t.prompt(None, "go", "p0")
    c1 = t.call(p0["uuid"], "toolu_lost")
    orphan = t.result(t.call(p0["uuid"], "toolu_never"), "p0")  # a result whose call is never written
    p1 = t.prompt(c1["uuid"], "next", "p1")
    rows = parse(tail_cls, encode([p0, c1, orphan, p1]))
    assert [(m["text"], m["data"] and m["data"]["output"]) for m in by_seq(rows)] == [
        ("go", None),
        ("echo toolu_lost", None),
        ("next", None),
    ]


def test_generated_shuffles_keep_the_chain_order() -> None:
    """The generator's own check: the reference order of each shuffled file is the file in chain order."""
    for seed in range(200):
        ordered, shuffled = session(seed, 4)
        lo = [json.loads(x) for x in ordered.splitlines()]
        ls = [json.loads(x) for x in shuffled.splitlines()]
        assert chain_order(lo) == [r["uuid"] for r in lo if "uuid" in r]
        assert chain_order(ls) == chain_order(lo) and ls != lo


@HYP
@given(data=st.data())
def test_shuffled_turns_sort_in_chain_order(tail_cls, data: st.DataObject) -> None:
    seed = data.draw(st.integers(0, 10**6))
    turns = data.draw(st.integers(1, 6))
    ordered, shuffled = session(seed, turns)
    want = [content(r) for r in parse(tail_cls, ordered)]
    whole = parse(tail_cls, shuffled)
    assert [content(r) for r in by_seq(whole)] == want
    assert len({m["seq"] for m in whole}) == len(whole) and min(m["seq"] for m in whole) > -1
    cuts = data.draw(st.lists(st.integers(0, len(shuffled)), max_size=30))
    restores = set(data.draw(st.lists(st.integers(0, 30), max_size=4)))
    got, _ = feed_in_pieces(tail_cls, shuffled, cuts, restores)
    assert got == whole  # same rows, keys and seqs for any chunking and any restart


@PARITY
@HYP
@given(data=st.data())
def test_parity_on_shuffled_sessions(data: st.DataObject) -> None:
    """Both backends: identical rows and byte-identical snapshots, and snapshots restore across them."""
    py_cls, rs_cls = jsonl.implementations()["python"], jsonl.implementations()["rust"]
    _, shuffled = session(data.draw(st.integers(0, 10**6)), data.draw(st.integers(1, 5)))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(shuffled)), max_size=20)))
    py, rs = py_cls(PATH), rs_cls(PATH)
    prev = 0
    for cut in [*cuts, len(shuffled)]:
        assert py.feed(shuffled[prev:cut]).messages == rs.feed(shuffled[prev:cut]).messages
        assert py.snapshot() == rs.snapshot()
        prev = cut
    restores = set(data.draw(st.lists(st.integers(0, 20), max_size=3)))
    a, _ = feed_in_pieces(py_cls, shuffled, cuts, restores, other=rs_cls)
    b, _ = feed_in_pieces(rs_cls, shuffled, cuts, restores, other=py_cls)
    assert a == b == parse(py_cls, shuffled)


def test_the_state_is_bounded_and_a_reversed_file_still_parses(tail_cls) -> None:
    ordered, shuffled = session(3, 120)
    for data in (ordered, shuffled):
        tail = tail_cls(PATH)
        rows = tail.feed(data, final=True).messages
        order = json.loads(tail.snapshot())["mapper"]["order"]
        assert len(order["nodes"]) == _pyorder.NODES_MAX
        assert len(order["awaited"]) <= _pyorder.AWAITED_MAX and len(order["fracs"]) <= _pyorder.FRACS_MAX
        assert len(tail.snapshot()) < 40_000
        assert len(rows) > 500
    # A chain written backwards (each record before its parent): every record is placed before
    # the last one until doubles run out, then the rest is appended in file order.
    t = Turn()
    recs = [t.prompt(None, "p", "p0")]
    for i in range(120):
        recs.append(t.text(recs[-1]["uuid"], f"r{i}"))
    rows = parse(tail_cls, encode(recs[::-1]))
    assert rows == parse(jsonl.implementations()["python"], encode(recs[::-1]))
    seqs = [m["seq"] for m in rows]
    assert len(set(seqs)) == len(seqs) == 121 and min(seqs) > -1
    placed = [m["text"] for m in by_seq(rows) if isinstance(m["seq"], float)]
    assert len(placed) > 40 and placed == [m["text"] for m in rows[1 : 1 + len(placed)]][::-1]
    appended = [m["text"] for m in rows if isinstance(m["seq"], int)]
    assert appended == [m["text"] for m in by_seq(rows) if isinstance(m["seq"], int)]


def test_snapshots_without_order_state_restore_and_order_what_follows(tail_cls) -> None:
    """A checkpoint written before this rule (no `order`) restores; records read after it are
    placed as usual (the integers below `seq` are known to be taken)."""
    t = Turn()
    p0 = t.prompt(None, "first", "p0")
    a0 = t.text(p0["uuid"], "hello")
    p1 = t.prompt(a0["uuid"], "second", "p1")
    r1 = t.text(p1["uuid"], "answer")
    tail = tail_cls(PATH)
    head = tail.feed(encode([p0, a0])).messages
    snap = json.loads(tail.snapshot())
    del snap["mapper"]["order"]
    old = tail_cls.restore(json.dumps(snap).encode())
    rest = old.feed(encode([r1, p1]), final=True).messages
    assert [(m["seq"], m["text"]) for m in head + rest] == [
        (0, "first"),
        (1, "hello"),
        (2, "answer"),
        (1.5, "second"),
    ]
