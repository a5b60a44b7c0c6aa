"""Text for the full-text index, and FTS5 queries built from what a user typed (docs/search.md).

The index is SQLite FTS5 with the `unicode61` tokenizer, which splits words on spaces and
punctuation, folds case and diacritics, but never splits a run of CJK characters (Chinese and
Japanese have no spaces) and glues emoji together. So text is pre-segmented here, the same way on
both sides (what is indexed, what is queried):

- CJK runs (Han, kana, Hangul, and the other scripts written without spaces: Thai, Lao, Khmer,
  Myanmar) become overlapping bigrams plus the run's last character alone (`数据库` -> `数据 据库 库`),
  so a query of any length matches a substring of a run: `据库` is a token, `数据库` the phrase
  `数据 据库`, a one-character query `库` the prefix `库*` (every character of a run starts a bigram
  or is the run's last one).
- Each emoji is its own token; variation selectors, joiners and skin tones are dropped.
- Arabic: diacritics (harakat) and tatweel dropped, alef/ya/ta-marbuta forms folded, the article
  `ال` (with a one-letter proclitic) split off, so `كتاب` finds `الكتاب`.
- NFKC (full-width forms, ligatures) for text that holds any of these scripts.

Text with none of them (most of it: English, code, paths) is passed through untouched: unicode61
handles it alone, and the check costs one regex scan (a few ns per character).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

# Runs of characters that need this module's help: anything beyond Latin, Greek, Cyrillic,
# Armenian and general punctuation (those unicode61 tokenizes well on its own). Searching for this
# short negated class is ~3x faster than for the scripts themselves; most text has none.
_SPECIAL = re.compile("[^\x00-\u058f\u2000-\u207f]+")
# A faster first check on the UTF-8 bytes (~3 ns per character): lead bytes of U+0580..U+1FFF and
# U+3000 up, or U+2xxx other than U+2000..U+207F (E2 80 xx, E2 81 xx). Never says "plain" for text
# that _SPECIAL would match.
_NOT_SPECIAL_LEADS = bytes(b for b in range(256) if not (0xD6 <= b <= 0xE1 or 0xE3 <= b <= 0xF4))
# Scripts written without spaces between words (CJK ideographs, kana, Hangul, Thai, Lao, Khmer,
# Myanmar, Bopomofo, Yi); U+3005 is the ideographic iteration mark.
_RUN_CHARS = (
    "\u0e00-\u0eff\u1000-\u109f\u1100-\u11ff\u1780-\u17ff\u3005\u3040-\u30ff\u3100-\u312f\u3130-\u318f"
    "\u31a0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff"
    "\U00020000-\U0003ffff"
)
_RUN = re.compile(f"[{_RUN_CHARS}]+")
_EMOJI = re.compile(
    "[\u2190-\u21ff\u2300-\u23ff\u2460-\u24ff\u25a0-\u27bf\u2900-\u297f\u2b00-\u2bff\u3030\u303d"
    "\u3297\u3299\U0001f000-\U0001f3fa\U0001f400-\U0001faff]"
)
# Joiners, variation selectors, the keycap mark and skin tones: not part of what an emoji means.
_EMOJI_NOISE = re.compile("[\u200d\u20e3\ufe00-\ufe0f\U0001f3fb-\U0001f3ff]")
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff]")
_ARABIC_LETTER = "[\u0620-\u064a\u066e-\u06d3\u06fa-\u06ff]"
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u0640\u064b-\u065f\u0670\u06d6-\u06ed]")
_ARABIC_ARTICLE = re.compile(
    f"(?<!{_ARABIC_LETTER})([\u0648\u0641\u0628\u0643\u0644]?)\u0627\u0644(?={_ARABIC_LETTER}{{2}})"
)
_ARABIC_FOLD = str.maketrans({"\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627", "\u0671": "\u0627",
                              "\u0649": "\u064a", "\u0629": "\u0647"})  # fmt: skip

# How much of a message is indexed: the text, and the searchable parts of `data` (a command's
# output is already an excerpt of 2,000 characters). Longer text is indexed up to this point.
MAX_INDEXED_CHARS = 64_000
MAX_EXTRA_CHARS = 8_000
MAX_ARGUMENT_CHARS = 500
# Kinds never indexed: harness-injected context (AGENTS.md, environment, permission
# instructions) is the same in every thread of a project, so it would only bury real hits.
UNINDEXED_KINDS = frozenset({"context"})


def _bigrams(match: re.Match[str]) -> str:
    run = match.group()
    if len(run) == 1:
        return f" {run} "
    return " " + " ".join([run[i : i + 2] for i in range(len(run) - 1)] + [run[-1]]) + " "


def _nfkc(match: re.Match[str]) -> str:
    return unicodedata.normalize("NFKC", match.group())


def _normalize(text: str) -> str | None:
    """NFKC, emoji noise and Arabic folding (everything but the CJK runs), or None when the text
    needs nothing from this module. NFKC applies to the special runs only, so every step depends
    on the characters themselves, never on the rest of the text: a query term and a document are
    folded alike."""
    if text.isascii():
        return None
    raw = text.encode("utf-8", "surrogatepass")
    if not raw.translate(None, _NOT_SPECIAL_LEADS) and raw.count(b"\xe2") == raw.count(
        b"\xe2\x80"
    ) + raw.count(b"\xe2\x81"):
        return None
    if not _SPECIAL.search(text):
        return None
    text = _SPECIAL.sub(_nfkc, text)
    text = _EMOJI_NOISE.sub(" ", text)
    if _ARABIC.search(text):
        text = _ARABIC_MARKS.sub("", text)
        text = _ARABIC_ARTICLE.sub(lambda m: f"{m.group(1)} \u0627\u0644 ", text)
        text = text.translate(_ARABIC_FOLD)
    return text


def segment(text: str) -> str:
    """The text as the index sees it (see the module docstring); unchanged when it needs nothing."""
    folded = _normalize(text)
    if folded is None:
        return text
    return _EMOJI.sub(r" \g<0> ", _RUN.sub(_bigrams, folded))


def searchable_data(kind: str, text: str | None, data: Any) -> str:
    """The parts of a message's `data` worth finding (docs/rows.md), one per line, without
    repeating the text: commands and their output, file paths, search queries, MCP server and
    tool names, todo steps, tool names and short string arguments, error messages."""
    if not isinstance(data, dict):
        return ""
    parts: list[Any] = []
    if kind == "cmd":
        parts = [data.get("command"), data.get("output")]
    elif kind == "file":
        parts = [c.get("path") for c in data.get("changes") or () if isinstance(c, dict)]
    elif kind == "search":
        parts = [data.get("query")]
    elif kind == "mcp":
        parts = [data.get("server"), data.get("tool")]
    elif kind == "todo":
        parts = [i.get("text") for i in data.get("items") or () if isinstance(i, dict)]
    elif kind == "tool":
        args = data.get("arguments")
        values = args.values() if isinstance(args, dict) else ()
        parts = [data.get("name"), *(v[:MAX_ARGUMENT_CHARS] for v in values if isinstance(v, str))]
    elif kind == "error":
        parts = [data.get("message")]
    out = "\n".join(p for p in parts if isinstance(p, str) and p and p != text)
    return out[:MAX_EXTRA_CHARS]


def indexed_columns(kind: str, text: str | None, data: Any) -> tuple[str, str] | None:
    """The (text, extra) columns to index for a message, or None for a kind that is not indexed."""
    if kind in UNINDEXED_KINDS:
        return None
    body = (text or "")[:MAX_INDEXED_CHARS]
    return segment(body), segment(searchable_data(kind, text, data))


# What the tailer computes for the writer (`RowBatch.fts`): a message's index columns, with the
# text column left out (None) when it is the message's own text unchanged, so the bus does not
# carry the text twice. The writer then only inserts them: segmenting is a fifth of the writer's
# time in a backfill, and the tailer, on the other core, has time to spare.
IndexEntry = tuple[str | None, str] | None


def index_entry(row: dict[str, Any]) -> IndexEntry:
    """`indexed_columns` of a message row, the text column None when it equals `row["text"]`."""
    text = row.get("text")
    cols = indexed_columns(row["kind"], text, row.get("data"))
    if cols is None:
        return None
    return (None if cols[0] is text or cols[0] == (text or "") else cols[0]), cols[1]


def entry_columns(row: dict[str, Any], entry: IndexEntry) -> tuple[str, str] | None:
    """The (text, extra) columns that `index_entry` described (its inverse)."""
    if entry is None:
        return None
    body, extra = entry
    return (row.get("text") or "" if body is None else body), extra


# -- queries ------------------------------------------------------------------------------------------
MAX_QUERY_CHARS = 1_000
MAX_QUERY_TERMS = 32
# Control characters, the replacement character (left by invalid UTF-8), and private-use
# characters (the index's filter tokens start with one: search_index.META_MARK).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\ufffd\ue000-\uf8ff\U000f0000-\U0010ffff]")
# Words that carry no meaning for BM25 (nearly every message holds them): dropped from a query of
# several words when other words remain ("quoted phrases" keep them).
_STOPWORDS = (
    "a an and are as at be been but by can did do does for from had has have he her his i if in into "
    "is it its me my of on or our she so than that the their them then there these they this those to "
    "was we were what when which who will with would you your"
)
STOPWORDS = frozenset(_STOPWORDS.split())


class QueryError(ValueError):
    """The query cannot be searched (empty, too long); `code` says which, the text says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Term:
    """One clause of a query: a word, a "quoted phrase", or `word*` (prefix)."""

    text: str
    prefix: bool = False
    quoted: bool = False


def clean_query(text: str) -> str:
    """Text from argv or a client as a valid string: bytes that were not UTF-8 (argv decodes them
    as surrogate escapes) and control characters become spaces, never an encoding error."""
    if any("\ud800" <= c <= "\udfff" for c in text):
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return _CONTROL.sub(" ", text)


def split_terms(text: str) -> list[Term]:
    """Words and "quoted phrases" (an unclosed quote runs to the end); a trailing `*` makes a word
    a prefix. Nothing else is syntax: AND, OR, NOT, NEAR, parentheses and `-` are plain text."""
    terms: list[Term] = []
    for m in re.finditer(r'"([^"]*)"?|(\S+)', text):
        phrase, word = m.group(1), m.group(2)
        if phrase is not None:
            terms.append(Term(phrase, quoted=True))
        elif word.endswith("*") and len(word) > 1:
            terms.append(Term(word.rstrip("*"), prefix=True))
        else:
            terms.append(Term(word))
    return [t for t in terms if has_token(t.text)]


def has_token(text: str) -> bool:
    """Whether unicode61 (with this index's categories) finds at least one token in `text`."""
    for c in text:
        if c.isalnum():
            return True
        cat = unicodedata.category(c)
        if cat[0] == "M" or cat in ("Co", "So"):
            return True
    return False


def _query_runs(text: str) -> tuple[str, bool]:
    """A term's text segmented for a query: a CJK run followed by more of the term is indexed
    with its last character alone after it, so the same tokens are asked for; a run that ends the
    term may continue in the document, so it is asked for as bigrams only (or, one character
    long, as a prefix). Returns the text and whether its last token is a prefix."""
    out: list[str] = []
    pos = 0
    prefix = False
    for m in _RUN.finditer(text):
        out.append(text[pos : m.start()])
        run = m.group()
        open_end = not has_token(text[m.end() :])
        if len(run) == 1:
            out.append(f" {run} ")
            prefix = open_end
        elif open_end:
            out.append(" " + " ".join(run[i : i + 2] for i in range(len(run) - 1)) + " ")
        else:
            out.append(_bigrams(m))
        pos = m.end()
    out.append(text[pos:])
    return "".join(out), prefix


def term_to_fts(term: Term) -> str:
    """One term as an FTS5 string: always quoted (`"` doubled), so nothing in it is syntax."""
    folded = _normalize(term.text)
    text, prefix = term.text, term.prefix
    if folded is not None:
        text, run_prefix = _query_runs(folded)
        text = _EMOJI.sub(r" \g<0> ", text)
        prefix = prefix or run_prefix
    quoted = '"' + text.replace('"', '""') + '"'
    return quoted + " *" if prefix else quoted


def parse_query(text: str) -> list[Term]:
    """The terms of a user's query (all must match), or QueryError when there is nothing to search
    or too much."""
    text = clean_query(text)
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            "query_too_long", f"the query is {len(text)} characters long; at most {MAX_QUERY_CHARS}"
        )
    terms = split_terms(text)
    meaningful = [t for t in terms if t.quoted or t.prefix or t.text.lower() not in STOPWORDS]
    if meaningful:
        terms = meaningful
    if not terms:
        raise QueryError("empty_query", "the query has no words to search for")
    if len(terms) > MAX_QUERY_TERMS:
        raise QueryError("query_too_long", f"the query has {len(terms)} terms; at most {MAX_QUERY_TERMS}")
    return terms


def match_expression(terms: list[Term]) -> str:
    """The FTS5 MATCH expression of the terms (all must match). No column filter is needed: no
    query token can equal a `meta` filter token (see `_CONTROL`)."""
    return " AND ".join(term_to_fts(t) for t in terms)
