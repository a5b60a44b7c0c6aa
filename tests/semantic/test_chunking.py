"""Which rows are embedded, and long texts as overlapping windows that cover them."""

from __future__ import annotations

import itertools

from oa_actors.semantic.chunking import (
    MAX_CHUNKS_PER_ROW,
    OVERLAP_TOKENS,
    WINDOW_TOKENS,
    chunk_row,
    embeddable_text,
    token_windows,
)
from oa_actors.semantic.embedder import Embedder


def test_selection_of_rows() -> None:
    assert embeddable_text("user", "message", "  fix   the\nbuild ") == "fix the build"
    assert embeddable_text("assistant", "message", "done") == "done"
    assert embeddable_text("tool", "cmd", "npm test") == "npm test"
    assert embeddable_text("system", "compaction", "Summary: ...") == "Summary: ..."
    for role, kind in [("system", "context"), ("assistant", "reason"), ("tool", "mcp"), ("system", "error")]:
        assert embeddable_text(role, kind, "text") is None
    assert embeddable_text("user", "message", "   ") is None
    assert embeddable_text("user", "message", None) is None


def test_short_text_is_one_window(embedder_fp32: Embedder) -> None:
    assert token_windows("the build is green", embedder_fp32.tokenizer) == ["the build is green"]
    assert token_windows("", embedder_fp32.tokenizer) == []


def test_long_text_windows_overlap_and_cover_it(embedder_fp32: Embedder) -> None:
    tok = embedder_fp32.tokenizer
    words = [f"word{i}" for i in range(700)]
    text = " ".join(words)
    windows = token_windows(text, tok)
    assert len(windows) > 1
    for w in windows:
        assert len(tok.encode(w, add_special_tokens=False).ids) <= WINDOW_TOKENS
        assert w in text
    assert text.startswith(windows[0]) and text.endswith(windows[-1])
    full = tok.encode(text, add_special_tokens=False).ids
    spans = []
    for w in windows:  # each window re-tokenizes to a contiguous run of the text's own tokens
        ids = tok.encode(w, add_special_tokens=False).ids
        starts = [i for i in range(len(full) - len(ids) + 1) if full[i : i + len(ids)] == ids]
        assert starts, w[:40]
        spans.append((starts[0], starts[0] + len(ids)))
    for (_, a_end), (b_start, _) in itertools.pairwise(spans):
        assert a_end - b_start >= OVERLAP_TOKENS  # consecutive windows share at least the overlap
    # Every word is in some window.
    assert set(words) <= {w for window in windows for w in window.split()}


def test_giant_text_is_capped(embedder_fp32: Embedder) -> None:
    text = "log line with details " * 20_000
    windows = token_windows(text, embedder_fp32.tokenizer)
    assert len(windows) == MAX_CHUNKS_PER_ROW
    assert text.startswith(windows[0])


def test_chunk_row_keys(embedder_fp32: Embedder) -> None:
    row = {"key": "k1", "threadId": "t1", "role": "assistant", "kind": "message", "text": "x " * 600}
    chunks = chunk_row(row, embedder_fp32.tokenizer)
    assert [c.index for c in chunks] == list(range(len(chunks))) and len(chunks) >= 3
    assert {(c.key, c.thread_id) for c in chunks} == {("k1", "t1")}
    assert chunk_row({**row, "kind": "reason"}, embedder_fp32.tokenizer) == []
