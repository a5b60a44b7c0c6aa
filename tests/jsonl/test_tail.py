"""Incremental tailing: chunking, identity changes, bad input, snapshots, idempotency.

Every test runs against each backend (the `tail_cls` fixture); the parity tests also compare the
backends with each other on the same bytes.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oa_actors import jsonl
from tests.jsonl.corpus import all_codex_files, claude_files, parse_with

FILES = all_codex_files()
SMALL_FILES = [f for f in FILES if f.stat().st_size < 200_000]
CLAUDE_FILES = claude_files()
HYP = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def feed_chunks(
    tail: Any, data: bytes, cuts: list[int], final: bool = True
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    messages: list[dict[str, Any]] = []
    threads: list[dict[str, Any]] = []
    prev = 0
    for cut in [*sorted(cuts), len(data)]:
        b = tail.feed(data[prev:cut])
        assert b.position == cut
        messages += b.messages
        threads += b.threads
        prev = cut
    if final:
        b = tail.feed(b"", final=True)
        messages += b.messages
        threads += b.threads
    return messages, threads


def whole(
    tail_cls: Any, data: bytes, name: str = "f.jsonl", **kw: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, int], int]:
    tail = tail_cls(name, **kw)
    b1 = tail.feed(data)
    b2 = tail.feed(b"", final=True)
    return b1.messages + b2.messages, b1.threads + b2.threads, tail.errors, tail.offset


@pytest.mark.parametrize("path", SMALL_FILES, ids=lambda p: p.name[-24:])
def test_random_chunks_equal_one_chunk(tail_cls, path: Path) -> None:
    data = path.read_bytes()
    expected, threads, _, _ = whole(tail_cls, data, str(path))
    rng = random.Random(path.name)
    for _ in range(3):
        cuts = rng.sample(range(1, len(data)), k=min(25, len(data) - 1))
        got, got_threads = feed_chunks(tail_cls(str(path)), data, cuts)
        assert got == expected
        assert got_threads[-1] == threads[-1]


@HYP
@given(data=st.data())
def test_property_chunking_any_corpus_file(tail_cls, data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(SMALL_FILES))
    raw = path.read_bytes()
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=40))
    expected, _, _, _ = whole(tail_cls, raw, str(path))
    got, _ = feed_chunks(tail_cls(str(path)), raw, cuts)
    assert got == expected


def test_partial_last_line_waits(tail_cls) -> None:
    line = (
        b'{"type":"thread.started","thread_id":"t"}\n{"type":"item.completed","item":{"id":"item_0",'
        b'"type":"agent_message","text":"hi"}}\n'
    )
    tail = tail_cls("x.jsonl")
    cut = len(line) - 10
    b = tail.feed(line[:cut])
    assert b.messages == [] and b.offset == line.index(b"\n") + 1 and b.position == cut
    b = tail.feed(line[cut:])
    assert [m["text"] for m in b.messages] == ["hi"] and b.offset == len(line)


def test_split_on_newline_only(tail_cls) -> None:
    text = "a\u2028b\u2029c\x85d\x1ce"
    data = (
        json.dumps({"type": "thread.started", "thread_id": "t"})
        + "\n"
        + json.dumps(
            {"type": "item.completed", "item": {"id": "i", "type": "agent_message", "text": text}},
            ensure_ascii=False,
        )
        + "\n"
    ).encode()
    messages, _, errors, _ = whole(tail_cls, data)
    assert [m["text"] for m in messages] == [text]
    assert not any(errors.values())


def test_crlf_and_blank_lines(tail_cls) -> None:
    data = (
        b'{"type":"thread.started","thread_id":"t"}\r\n\r\n   \n{"type":"item.completed",'
        b'"item":{"id":"i","type":"agent_message","text":"x"}}\r\n'
    )
    messages, _, errors, offset = whole(tail_cls, data)
    assert [m["text"] for m in messages] == ["x"] and not any(errors.values()) and offset == len(data)


def test_bad_lines_are_counted_and_skipped(tail_cls) -> None:
    good = b'{"type":"item.completed","item":{"id":"i","type":"agent_message","text":"ok"}}\n'
    data = (
        b'{"type":"thread.started","thread_id":"t"}\n'
        b"not json\n"
        b'{"truncated": \n'
        b'{"text":"\xff\xfe bad utf8"}\n'
        b"[1,2,3]\n"
        b'{"type":"something.new"}\n'
        b'{"x": NaN}\n'
        b'{"x": "\\ud800"}\n'
        b'{"x": 1e400}\n'
        b'{"x": ' + b"9" * 400 + b"}\n"
        b'{"type": ["x"], "payload": {}}\n'
        b'{"type": {"a": 1}}\n' + good
    )
    messages, _, errors, offset = whole(tail_cls, data)
    assert [m["text"] for m in messages] == ["ok"]
    assert errors == {"invalid_json": 7, "invalid_utf8": 1, "oversized": 0, "unknown": 3}
    assert offset == len(data)


def test_deep_nesting_is_invalid_json_not_a_crash(tail_cls) -> None:
    deep = b'{"type":"error","message":"m","x":' + b"[" * 5000 + b"]" * 5000 + b"}\n"
    _, _, errors, _ = whole(tail_cls, b'{"type":"thread.started","thread_id":"t"}\n' + deep)
    assert errors["invalid_json"] == 1
    # serde_json's limit, mirrored by the twin: 127 nested containers parse, 128 do not.
    ok = b'{"type":"error","message":"m","x":' + b"[" * 126 + b"]" * 126 + b"}\n"
    too_deep = b'{"type":"error","message":"m","x":' + b"[" * 127 + b"]" * 127 + b"}\n"
    messages, _, errors, _ = whole(tail_cls, b'{"type":"thread.started","thread_id":"t"}\n' + ok + too_deep)
    assert len(messages) == 1 and errors["invalid_json"] == 1


@pytest.mark.parametrize("limit", [64, 1000])
def test_oversized_lines_bounded(tail_cls, limit: int) -> None:
    head = b'{"type":"thread.started","thread_id":"t"}\n'
    big = (
        b'{"type":"item.completed","item":{"id":"b","type":"agent_message","text":"' + b"x" * 5000 + b'"}}\n'
    )
    ok = b'{"type":"item.completed","item":{"id":"o","type":"agent_message","text":"y"}}\n'
    data = head + big + ok
    tail = tail_cls("x.jsonl", max_line_bytes=limit)
    rows = []
    for i in range(0, len(data), 7):  # tiny chunks: the big line never sits whole in memory
        b = tail.feed(data[i : i + 7])
        rows += b.messages
    assert [r["text"] for r in rows] == ["y"] if limit >= len(ok) else rows == []
    assert tail.errors["oversized"] >= 1
    assert tail.offset == len(data)


def test_huge_line_keeps_memory_bounded(tail_cls) -> None:
    psutil = pytest.importorskip("psutil")
    proc = psutil.Process()
    tail = tail_cls("x.jsonl", max_line_bytes=1 << 20)
    chunk = b"y" * (1 << 20)
    tail.feed(b'{"type":"thread.started","thread_id":"t"}\n{"type":"error","message":"')
    before = proc.memory_info().rss
    for _ in range(100):  # a 100 MB line, fed as a tailer would
        tail.feed(chunk)
    grown = proc.memory_info().rss - before
    b = tail.feed(b'"}\n{"type":"error","message":"after"}\n')
    assert [m["text"] for m in b.messages] == ["after"]
    assert tail.errors["oversized"] == 1
    assert grown < 40 << 20, f"memory grew by {grown >> 20} MiB while skipping a 100 MiB line"


def test_oversized_tail_without_newline_at_eof(tail_cls) -> None:
    tail = tail_cls("x.jsonl", max_line_bytes=10)
    tail.feed(b"x" * 100)
    b = tail.feed(b"", final=True)
    assert b.offset == 100 and tail.errors["oversized"] == 1


def test_truncation_and_replacement_restart_without_duplicates(tail_cls) -> None:
    path = next(f for f in SMALL_FILES if "8bc8" in f.name)
    data = path.read_bytes()
    tail = tail_cls(str(path))
    assert tail.check_identity(1, 10, len(data), data[:1024]) is False
    first = tail.feed(data[: len(data) // 2]).messages
    # Same file, grown: no reset.
    assert tail.check_identity(1, 10, len(data), data[:1024]) is False
    # Truncated below the offset: reset to 0, the rows already seen are not emitted again.
    assert tail.check_identity(1, 10, 10, data[:10]) is True
    assert tail.offset == 0 and tail.position == 0
    again = tail.feed(data).messages + tail.feed(b"", final=True).messages
    assert {m["key"] for m in first}.isdisjoint(m["key"] for m in again)
    expected, _, _, _ = whole(tail_cls, data, str(path))
    assert sorted(m["key"] for m in first + again) == sorted(m["key"] for m in expected)
    # Replaced under the same name (new inode): reset; identical content yields no new keys.
    assert tail.check_identity(1, 11, len(data), data[:1024]) is True
    assert tail.feed(data).messages == [] and tail.feed(b"", final=True).messages == []
    # Rewritten in place (head changed): reset.
    assert tail.check_identity(1, 11, len(data), b"X" + data[1:1024]) is True


def test_a_file_first_seen_empty_grows_without_a_reset(tail_cls) -> None:
    """Issue 11 point 7: a file read while still empty recorded no head, and its first growth was
    taken for a rewrite (a false reset). No head recorded means nothing to compare."""
    path = next(f for f in SMALL_FILES if "8bc8" in f.name)
    data = path.read_bytes()
    tail = tail_cls(str(path))
    assert tail.check_identity(1, 10, 0, b"") is False
    assert tail.feed(b"").messages == []
    # A snapshot taken while empty restores the same way, on either backend.
    tail = tail_cls.restore(tail.snapshot())
    got = []
    for cut in (300, len(data) // 2, len(data)):
        assert tail.check_identity(1, 10, cut, data[: min(cut, 1024)]) is False
        got += tail.feed(data[tail.position : cut]).messages
    got += tail.feed(b"", final=True).messages
    assert got == whole(tail_cls, data, str(path))[0]  # every row once, none re-read
    # Once the head is recorded, a real rewrite of it is still caught.
    assert tail.check_identity(1, 10, len(data), b"X" + data[1:1024]) is True


def test_parse_twice_yields_no_new_keys(tail_cls) -> None:
    for path in SMALL_FILES[:10]:
        data = path.read_bytes()
        tail = tail_cls(str(path))
        tail.check_identity(1, 1, len(data), data[:1024])
        first = tail.feed(data).messages + tail.feed(b"", final=True).messages
        tail.check_identity(1, 2, len(data), data[:1024])  # forces a re-read from 0
        assert tail.feed(data).messages == [] and tail.feed(b"", final=True).messages == []
        assert first, path


def test_snapshot_restore_continues_exactly(tail_cls) -> None:
    for path in SMALL_FILES[:12]:
        data = path.read_bytes()
        expected, _, _, _ = whole(tail_cls, data, str(path))
        tail = tail_cls(str(path))
        cut = len(data) * 2 // 3
        got = tail.feed(data[:cut]).messages
        snap = tail.snapshot()
        restored = tail_cls.restore(snap)
        assert restored.offset == tail.offset and restored.position == tail.offset
        got += restored.feed(data[restored.position :]).messages + restored.feed(b"", final=True).messages
        assert got == expected, path


def test_restore_rejects_garbage(tail_cls) -> None:
    for bad in (b"", b"{}", b"not json", b'{"v": 99}'):
        with pytest.raises(ValueError):
            tail_cls.restore(bad)


def test_invalid_arguments(tail_cls) -> None:
    with pytest.raises(ValueError):
        tail_cls("x", max_line_bytes=0)


# -- parity between backends ------------------------------------------------------------------------
PARITY = pytest.mark.skipif(
    len(jsonl.implementations()) < 2, reason="native extension not built: parity needs both backends"
)

LINES = st.one_of(
    st.sampled_from([ln for f in SMALL_FILES[:20] for ln in f.read_bytes().split(b"\n") if ln][:400]),
    st.binary(max_size=80),
    st.text(max_size=60).map(
        lambda s: json.dumps(
            {"type": "item.completed", "item": {"id": "g", "type": "agent_message", "text": s}},
            ensure_ascii=False,
        ).encode()
    ),
    st.text(alphabet='\u2028\u2029\x85\x1c abc{}[]":,', max_size=40).map(str.encode),
    st.integers(1, 3000).map(lambda n: b'{"type":"error","message":"' + b"m" * n + b'"}'),
)


def run_backend(cls: Any, raw: bytes, cuts: list[int], limit: int) -> tuple[Any, ...]:
    tail = cls("p.jsonl", max_line_bytes=limit)
    msgs, threads = feed_chunks(tail, raw, cuts)
    return msgs, threads, tail.errors, tail.offset, json.loads(tail.snapshot())


@PARITY
@HYP
@given(
    lines=st.lists(LINES, max_size=30),
    cuts=st.lists(st.integers(0, 4000), max_size=10),
    limit=st.sampled_from([200, 1 << 20]),
)
def test_parity_random_input(lines: list[bytes], cuts: list[int], limit: int) -> None:
    raw = b'{"type":"thread.started","thread_id":"t"}\n' + b"\n".join(lines)
    cuts = [c for c in cuts if c <= len(raw)]
    py, rs = (run_backend(jsonl.implementations()[n], raw, cuts, limit) for n in ("python", "rust"))
    assert py == rs


@PARITY
@pytest.mark.parametrize("path", FILES + CLAUDE_FILES, ids=lambda p: p.name[-24:])
def test_parity_corpus(path: Path) -> None:
    py = parse_with(jsonl.implementations()["python"], path, 4096)
    rs = parse_with(jsonl.implementations()["rust"], path, 4096)
    assert py == rs


CLAUDE_LINES = st.one_of(
    st.sampled_from(
        [ln for f in CLAUDE_FILES for ln in f.read_bytes().split(b"\n") if ln and len(ln) < 20_000]
    ),
    st.binary(max_size=40),
    st.text(max_size=40).map(
        lambda s: json.dumps(
            {
                "type": "user",
                "sessionId": "s",
                "uuid": "u",
                "promptId": s[:3] or None,
                "message": {"content": s},
            },
            ensure_ascii=False,
        ).encode()
    ),
    st.text(max_size=40).map(
        lambda s: json.dumps(
            {
                "type": "user",
                "sessionId": "s",
                "uuid": "r",
                "toolUseResult": {"agentId": s},
                "message": {
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": s[:1],
                            "is_error": True,
                            "content": "Exit code " + s,
                        }
                    ]
                },
            },
            ensure_ascii=False,
        ).encode()
    ),
    st.text(max_size=20).map(
        lambda s: json.dumps(
            {
                "type": "assistant",
                "sessionId": "s",
                "uuid": "a",
                "message": {
                    "id": s[:2],
                    "usage": {"input_tokens": 2**63 - 1, "output_tokens": len(s)},
                    "content": [
                        {
                            "type": "tool_use",
                            "id": s[:1],
                            "name": ["Bash", "Agent", "Write", "TaskUpdate", "mcp__a__b", "x"][len(s) % 6],
                            "input": {"command": s, "taskId": s},
                        }
                    ],
                },
            },
            ensure_ascii=False,
        ).encode()
    ),
)


@PARITY
@HYP
@given(
    lines=st.lists(CLAUDE_LINES, max_size=30),
    cuts=st.lists(st.integers(0, 4000), max_size=10),
    first=st.sampled_from(
        [
            b'{"type":"queue-operation","sessionId":"q"}',
            b'{"type":"system","subtype":"init","session_id":"q"}',
        ]
    ),
)
def test_parity_random_claude_input(lines: list[bytes], cuts: list[int], first: bytes) -> None:
    """Claude session files and stream-json: rows, thread rows, errors, offsets and snapshots agree."""
    raw = first + b"\n" + b"\n".join(lines)
    cuts = [c for c in cuts if c <= len(raw)]
    py, rs = (run_backend(jsonl.implementations()[n], raw, cuts, 1 << 20) for n in ("python", "rust"))
    assert py == rs


@PARITY
def test_claude_snapshots_are_interchangeable() -> None:
    py_cls, rs_cls = jsonl.implementations()["python"], jsonl.implementations()["rust"]
    for path in CLAUDE_FILES:
        data = path.read_bytes()
        expected = whole(py_cls, data, str(path))[0]
        for cut in (len(data) // 3, 2 * len(data) // 3):
            a_snap = None
            for a, b in ((py_cls, rs_cls), (rs_cls, py_cls)):
                t = a(str(path))
                got = t.feed(data[:cut]).messages
                snap = t.snapshot()
                assert a_snap is None or snap == a_snap, path  # byte-identical snapshots
                a_snap = snap
                t2 = b.restore(snap)
                got += t2.feed(data[t2.position :]).messages + t2.feed(b"", final=True).messages
                assert got == expected, path


@PARITY
def test_snapshots_are_interchangeable() -> None:
    py_cls, rs_cls = jsonl.implementations()["python"], jsonl.implementations()["rust"]
    for path in SMALL_FILES[:8]:
        data = path.read_bytes()
        cut = len(data) // 2
        expected = whole(py_cls, data, str(path))[0]
        for a, b in ((py_cls, rs_cls), (rs_cls, py_cls)):
            t = a(str(path))
            got = t.feed(data[:cut]).messages
            t2 = b.restore(t.snapshot())
            got += t2.feed(data[t2.position :]).messages + t2.feed(b"", final=True).messages
            assert got == expected


IDENTITY_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["grow", "truncate", "replace", "rewrite", "same"]),
        st.integers(0, 3000),
    ),
    max_size=12,
)


@PARITY
@HYP
@given(steps=IDENTITY_STEPS, start_empty=st.booleans())
def test_parity_identity_checks(steps: list[tuple[str, int]], start_empty: bool) -> None:
    """Both backends take the same decisions on the same identity changes (files that start
    empty and grow, truncations, replacements, head rewrites) and keep byte-identical snapshots."""
    data = next(f for f in SMALL_FILES if "8bc8" in f.name).read_bytes()

    def run(cls: Any) -> list[Any]:
        tail, ino, size, head_x = cls("p.jsonl"), 1, 0 if start_empty else 200, False
        out: list[Any] = []
        for op, n in steps:
            if op == "grow":
                size = min(len(data), size + n)
            elif op == "truncate":
                size = min(size, n)
            elif op == "replace":
                ino += 1
            elif op == "rewrite":
                head_x = not head_x
            content = data[:size]
            if head_x and content:
                content = b"X" + content[1:]
            reset = tail.check_identity(1, ino, size, content[:1024])
            tail.feed(content[tail.position :])
            out.append((reset, tail.offset, tail.position))
            tail = cls.restore(tail.snapshot())  # portable across backends, round trip each step
        out.append(json.loads(tail.snapshot()))
        return out

    assert run(jsonl.implementations()["python"]) == run(jsonl.implementations()["rust"])
