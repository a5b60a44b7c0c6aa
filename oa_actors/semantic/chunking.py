"""Which rows get embedded, and how long texts become overlapping token windows.

Embedded: user and assistant messages, command lines (`tool/cmd`: the command, not its output) and
compaction summaries (`system/compaction`). Not embedded: harness context, reasoning, tool outputs,
errors: they are long, repetitive or machine-made and would drown the conversation in the index.
A text longer than the model's 256 tokens is cut into windows of at most 254 tokens (room for
[CLS] and [SEP]) that overlap by `overlap` tokens, so a phrase on a boundary is whole in one window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .embedder import MAX_TOKENS

EMBEDDED_KINDS: frozenset[tuple[str, str]] = frozenset(
    {("user", "message"), ("assistant", "message"), ("tool", "cmd"), ("system", "compaction")}
)
WINDOW_TOKENS = MAX_TOKENS - 2
OVERLAP_TOKENS = 32
# A pasted log of megabytes would otherwise cost minutes of CPU; its start says what it is.
MAX_CHUNKS_PER_ROW = 16
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Chunk:
    """One window of one row's text: `(key, index)` identifies it; `text` is what gets embedded."""

    key: str
    thread_id: str
    index: int
    text: str


def embeddable_text(role: str, kind: str, text: str | None) -> str | None:
    """The text of a message row to embed (whitespace collapsed), or None when the row is not embedded."""
    if (role, kind) not in EMBEDDED_KINDS or not text:
        return None
    collapsed = _SPACE.sub(" ", text).strip()
    return collapsed or None


def token_windows(
    text: str,
    tokenizer: Any,
    *,
    window: int = WINDOW_TOKENS,
    overlap: int = OVERLAP_TOKENS,
    max_chunks: int = MAX_CHUNKS_PER_ROW,
) -> list[str]:
    """`text` cut into substrings of at most `window` tokens, consecutive ones sharing `overlap` tokens.

    Cuts fall on word boundaries (the tokenizer's offsets and word ids), so each window re-tokenizes
    to the same tokens; the overlap is widened to the start of the word it would split. At most
    `max_chunks` windows: the rest of a giant text is not embedded.
    """
    if overlap >= window:
        raise ValueError(f"overlap {overlap} must be smaller than the window {window}")
    enc = tokenizer.encode(text, add_special_tokens=False)
    offsets = enc.offsets
    words = enc.word_ids
    n = len(offsets)
    if n <= window:
        return [text] if n else []

    def inside_word(i: int) -> bool:  # token i continues the word of token i - 1 (a "##" piece)
        return words[i] is not None and words[i] == words[i - 1]

    out = []
    start = 0
    while True:
        end = min(start + window, n)
        if end < n:
            cut = end
            while cut > start + 1 and inside_word(cut):
                cut -= 1
            end = cut if cut > start + overlap else end  # a word longer than the window: hard cut
        out.append(text[offsets[start][0] : offsets[end - 1][1]])
        if end == n or len(out) == max_chunks:
            return out
        nxt = end - overlap
        while nxt > start + 1 and inside_word(nxt):
            nxt -= 1
        start = max(nxt, start + 1)


def chunk_row(row: dict[str, Any], tokenizer: Any) -> list[Chunk]:
    """The chunks of one message row (`parse`/store field names: key, threadId, role, kind, text)."""
    text = embeddable_text(str(row.get("role")), str(row.get("kind")), row.get("text"))
    if text is None:
        return []
    key = str(row["key"])
    thread = str(row["threadId"])
    return [Chunk(key, thread, i, t) for i, t in enumerate(token_windows(text, tokenizer))]
