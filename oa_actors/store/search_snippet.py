"""Snippets of search hits: a short excerpt around the matched terms, with their offsets.

The index is contentless (it holds no copy of the text), so FTS5's `snippet()` has nothing to cut
from; excerpts are cut here from the stored message instead. A term matches where the index would
have matched it: case, diacritics and compatibility forms folded; words on word boundaries, CJK
text, emoji and Arabic as substrings (the index splits those into smaller pieces).

Offsets are [start, end) in code points of the snippet string (what Python and JSON count; a
JavaScript client converts with `Array.from(snippet)`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from oa_actors.store.search_text import _ARABIC_FOLD, _ARABIC_MARKS, _EMOJI, _EMOJI_NOISE, _RUN_CHARS, Term

SNIPPET_CHARS = 160
CONTEXT_BEFORE = 40
WORD_SLACK = 15
MAX_SPANS = 200
_PIECES = re.compile(f"(?P<run>[{_RUN_CHARS}]+)|(?P<emoji>{_EMOJI.pattern})|(?P<word>[^\\W_]+)")
_SPACE = re.compile(r"\s")


@lru_cache(maxsize=65_536)
def _fold_char(c: str) -> str:
    """One character folded as the index folds it (lowercase, no diacritics on Latin, Greek and
    Cyrillic letters, compatibility forms, Arabic letter forms; marks that carry no meaning gone)."""
    if c < "\x80":
        return c.lower()
    if _ARABIC_MARKS.match(c) or _EMOJI_NOISE.match(c):
        return ""
    if c < "\u0590":
        base = unicodedata.normalize("NFKD", c)
        return "".join(x for x in base if not unicodedata.combining(x)).casefold()
    return unicodedata.normalize("NFKC", c).casefold().translate(_ARABIC_FOLD)


def fold(text: str) -> tuple[str, list[int] | None]:
    """The folded text and, for each of its characters, the index of the original character it
    came from (None when they are the same: ASCII text)."""
    if text.isascii():
        return text.lower(), None
    out: list[str] = []
    origin: list[int] = []
    for i, c in enumerate(text):
        f = _fold_char(c)
        out.append(f)
        origin.extend([i] * len(f))
    return "".join(out), origin


def needle_pattern(terms: list[Term]) -> re.Pattern[str] | None:
    """One regex finding every term's pieces in folded text (longest first)."""
    pieces: dict[str, str] = {}
    for term in terms:
        folded, _ = fold(term.text)
        found = list(_PIECES.finditer(folded))
        for n, m in enumerate(found):
            piece = m.group()
            last_prefix = term.prefix and n == len(found) - 1
            if m.lastgroup == "word" and all(ch < "\u0590" for ch in piece):
                right = "" if last_prefix else r"(?![^\W_])"
                pieces[piece] = r"(?<![^\W_])" + re.escape(piece) + right
            else:
                pieces[piece] = re.escape(piece)
    if not pieces:
        return None
    return re.compile("|".join(pieces[p] for p in sorted(pieces, key=len, reverse=True)))


def find_spans(text: str, pattern: re.Pattern[str] | None) -> list[tuple[int, int]]:
    """Where the pattern matches in `text`, as [start, end) offsets of the original text."""
    if pattern is None or not text:
        return []
    folded, origin = fold(text)
    spans = []
    for m in pattern.finditer(folded):
        if m.end() == m.start():
            continue
        if origin is None:
            spans.append((m.start(), m.end()))
        else:
            spans.append((origin[m.start()], origin[m.end() - 1] + 1))
        if len(spans) >= MAX_SPANS:
            break
    return spans


@dataclass(frozen=True)
class Snippet:
    """An excerpt on one line, with the matches' [start, end) offsets in it."""

    text: str
    highlights: list[tuple[int, int]]


def _window(text: str, spans: list[tuple[int, int]]) -> tuple[int, int]:
    """The excerpt's bounds: the window of SNIPPET_CHARS holding the most distinct matches."""
    best, best_count = 0, -1
    for i, (start, _) in enumerate(spans):
        seen = {text[s:e].lower() for s, e in spans[i:] if e <= start + SNIPPET_CHARS - CONTEXT_BEFORE}
        if len(seen) > best_count:
            best, best_count = i, len(seen)
    first = spans[best][0] if spans else 0
    # Some context before the first match, but a full window when the text ends soon after it.
    lo = max(0, min(first - CONTEXT_BEFORE, len(text) - SNIPPET_CHARS))
    if lo > 0:  # start after a space rather than inside a word
        space = _SPACE.search(text, lo, min(first, lo + WORD_SLACK))
        lo = space.end() if space else lo
    hi = min(len(text), lo + SNIPPET_CHARS)
    if hi < len(text):  # end before a space rather than inside a word
        floor = max(spans[best][1] if spans else lo, hi - WORD_SLACK)
        hi = max((m.start() for m in _SPACE.finditer(text, floor, hi)), default=hi)
    return lo, hi


def make_snippet(text: str, spans: list[tuple[int, int]]) -> Snippet:
    """The excerpt of `text` around `spans`: whitespace runs collapsed to one space, `…` where the
    text was cut, each span that lies in it highlighted."""
    lo, hi = _window(text, spans)
    out: list[str] = ["…"] if lo > 0 else []
    at: dict[int, int] = {}
    pos = len(out)
    prev_space = True
    for i in range(lo, hi):
        c = text[i]
        if c.isspace():
            if prev_space:
                at[i] = pos
                continue
            c = " "
            prev_space = True
        else:
            prev_space = False
        at[i] = pos
        out.append(c)
        pos += 1
    while out and out[-1] == " ":
        out.pop()
    pos = len(out)
    if hi < len(text):
        out.append("…")
    highlights = []
    for s, e in spans:
        if s >= lo and e <= hi and e > s:
            start, end = at[s], min(at[e - 1] + 1, pos)
            if end > start:
                highlights.append((start, end))
    return Snippet("".join(out), highlights)
