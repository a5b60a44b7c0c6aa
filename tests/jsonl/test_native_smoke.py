"""Smoke tests of the native extension's Python surface (skipped when it is not built)."""

from __future__ import annotations

import json
import threading

import pytest

native = pytest.importorskip("oa_actors._oa_native")

EXEC = (
    b'{"type":"thread.started","thread_id":"t-1"}\n'
    b'{"type":"turn.started"}\n'
    b'{"type":"item.completed","item":{"id":"item_0","type":"mcp_tool_call","server":"s","tool":"t",'
    b'"arguments":{"n":1,"f":1.5,"big":123456789012345678901234567890,"l":[true,null]},"result":null,"error":null}}\n'
    b'{"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"a\xe2\x80\xa8b"}}\n'
)


def test_api_surface() -> None:
    t = native.JsonlTail("/tmp/x.jsonl", max_line_bytes=1000, source="codex")
    assert (t.path, t.max_line_bytes, t.offset, t.position, t.thread_id, t.format) == (
        "/tmp/x.jsonl",
        1000,
        0,
        0,
        None,
        None,
    )
    assert t.errors == {"invalid_json": 0, "invalid_utf8": 0, "oversized": 0, "unknown": 0}
    b = t.feed(EXEC)
    assert isinstance(b, native.TailBatch)
    assert (b.offset, b.position, t.thread_id, t.format) == (len(EXEC), len(EXEC), "t-1", "exec")
    assert [list(m) for m in b.messages] == [
        ["threadId", "key", "seq", "ts", "role", "kind", "text", "data", "turnId"]
    ] * 2
    mcp = b.messages[0]
    assert mcp["data"]["arguments"] == {
        "n": 1,
        "f": 1.5,
        "big": 123456789012345678901234567890,
        "l": [True, None],
    }
    assert type(mcp["data"]["arguments"]["n"]) is int and mcp["ts"] is None
    assert b.messages[1]["text"] == "a\u2028b"
    assert list(b.threads[0]) == [
        "threadId",
        "source",
        "rolloutPath",
        "title",
        "cwd",
        "model",
        "cliVersion",
        "git",
        "parentThreadId",
        "createdAt",
        "updatedAt",
        "usage",
    ]
    assert repr(b).startswith("TailBatch(threads=1, messages=2, offset=")
    assert t.feed(b"").messages == [] and t.feed(b"").threads == []


def test_errors_map_to_value_error() -> None:
    with pytest.raises(ValueError):
        native.JsonlTail("x", max_line_bytes=0)
    for bad in (b"", b"{}", b"[]", b"not json", b'{"v": 2}', b'{"v":1,"path":5}'):
        with pytest.raises(ValueError):
            native.JsonlTail.restore(bad)
    with pytest.raises(TypeError):
        native.JsonlTail("x").feed("text, not bytes")


def test_snapshot_restore_and_bytearray() -> None:
    t = native.JsonlTail("/tmp/x.jsonl")
    t.feed(bytearray(EXEC[:60]))
    snap = t.snapshot()
    assert json.loads(snap)["v"] == 1
    r = native.JsonlTail.restore(snap)
    assert r.snapshot() == snap and r.offset == t.offset
    assert t.check_identity(1, 2, 100, EXEC[:50]) is False
    assert t.check_identity(1, 3, 100, EXEC[:50]) is True  # replaced


def test_feed_releases_the_gil() -> None:
    big = b"".join(
        b'{"type":"item.completed","item":{"id":"i%d","type":"agent_message","text":"%s"}}\n'
        % (i, b"x" * 2000)
        for i in range(3000)
    )
    ticks = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    th = threading.Thread(target=spin)
    th.start()
    try:
        rows = native.JsonlTail("/tmp/g.jsonl").feed(EXEC[:44] + big, final=True).messages
    finally:
        stop.set()
        th.join()
    assert len(rows) == 3000


# One character of each UTF-8 length and CPython width (1, 2, 4 bytes per character), at the edges.
WIDTHS = ["a", "\x7f", "\x80", "é", "\xff", "\u0100", "ж", "\u07ff", "\u0800", "中", "\ufffd", "\uffff"]
WIDTHS += ["\U00010000", "😀", "\U0010ffff"]


def test_strings_of_every_width_and_length_equal_python() -> None:
    """Row texts and data strings (built by the extension from UTF-8, escaped or not) equal what
    Python decodes from the same JSON: every width at every position of texts of 0-64 characters,
    around the 16-byte blocks, with `ensure_ascii` escapes (surrogate pairs) and without."""
    from oa_actors.jsonl import _pytail

    lines = []
    texts = []
    for c in WIDTHS:
        for n in range(1, 65):
            for at in sorted({0, n // 2, n - 1}):
                text = "".join(c if k == at else chr(97 + k % 26) for k in range(n))
                texts.append(text)
    for i, text in enumerate(texts):
        payload = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}
        rec = {"timestamp": "2026-01-01T00:00:00Z", "type": "response_item", "payload": payload}
        lines.append(json.dumps(rec, ensure_ascii=i % 2 == 0))
    data = ("\n".join(lines) + "\n").encode()
    rows = native.JsonlTail("/tmp/widths.jsonl").feed(data).messages
    assert [r["text"] for r in rows] == texts
    twin = _pytail.JsonlTail("/tmp/widths.jsonl").feed(data).messages
    assert rows == twin
