"""The full-text index of messages: an FTS5 table written in the same transaction as the rows.

`messages_fts` is contentless (the text lives once, in `messages`; the index holds only terms and
positions) and keyed by the message's rowid. Columns:
- `text`: the message text, `extra`: the searchable parts of `data` (search_text.py), both
  segmented for CJK, emoji and Arabic (search_text.segment);
- `meta`: filter tokens that never change for a message (`r<role>`, `k<kind>`, `t<thread hash>`),
  so filtering by thread, role or kind is part of the index lookup instead of a scan. Each starts
  with a private-use character (U+E000) that no query may hold (search_text.clean_query), so a
  user's words never match them and need no column filter (which would cost ~2.5x per term).

`index_messages` is called by `Store.apply_batch` for the rows it inserts (messages are inserted
once and never updated or deleted, so the index only ever grows), and `migrate` builds the index of
the rows a store held before it had one. docs/search.md explains the choices.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import msgspec

from oa_actors.store.search_text import IndexEntry, entry_columns, indexed_columns

if TYPE_CHECKING:
    from oa_actors.store.store import Store

log = logging.getLogger("oa.store.search")
_json_decode = msgspec.json.Decoder().decode

TABLE = "messages_fts"
# unicode61: case and diacritics folded (remove_diacritics 2 also handles letters with several
# marks); token characters are letters, numbers, marks (so combining accents do not split a word),
# private-use characters and other symbols (emoji; search_text isolates each one).
TOKENIZER = "unicode61 remove_diacritics 2 categories 'L* N* M* Co So'"
CREATE_TABLE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5("
    f"text, extra, meta, content='', tokenize=\"{TOKENIZER}\")"
)
# BM25 column weights: text, extra (commands' output, paths...), meta (filters only: no weight).
BM25_WEIGHTS = (1.0, 0.5, 0.0)
# Nothing used here needs more than FTS5 with unicode61, `remove_diacritics 2` (SQLite 3.27, 2019)
# and contentless tables (the trigram tokenizer would need 3.34).
MIN_SQLITE = (3, 27, 0)
MIGRATION_CHUNK = 2_000
PROGRESS_SECONDS = 2.0


META_MARK = "\ue000"
# Writing: FTS5 merges its segments incrementally inside every write by default (`automerge` 4),
# and at 16 segments on one level (`crisismerge`) merges them all at once, inside a write too.
# Measured on 200 MB of generated sessions (62 MB of indexed text, inserts alone): 1.6 s CPU with
# the defaults, 1.3 s with automerge off, 0.85 s with crisismerge 64 as well (the floor: tokenizing
# and writing level-0 segments). Stores turn both down (migration 4) and the writer merges when
# idle instead (`merge_step`, a budget of pages per call; the writer runs it between batches once
# nothing arrived for a while). `crisismerge` still bounds how many segments a long backfill can
# pile up on a level before the writer is idle again (queries read every segment: at 50 segments
# a word query took the same 1-25 ms as on a merged index).
AUTOMERGE = 0
CRISISMERGE = 64
MERGE_PAGES = 64  # pages (of ~4 KB) one idle merge step writes: a few ms of the writer's time
INSERT_ROWS = f"INSERT INTO {TABLE} (rowid, text, extra, meta) VALUES (?,?,?,?)"
_THREAD_TOKENS: dict[str, str] = {}
_THREAD_TOKENS_MAX = 4096


def thread_token(thread_id: str) -> str:
    """The `meta` token of a thread: a hash, since thread ids hold characters that split tokens."""
    token = _THREAD_TOKENS.get(thread_id)
    if token is None:
        if len(_THREAD_TOKENS) >= _THREAD_TOKENS_MAX:
            _THREAD_TOKENS.clear()
        token = META_MARK + "t" + hashlib.blake2b(thread_id.encode(), digest_size=8).hexdigest()
        _THREAD_TOKENS[thread_id] = token
    return token


def meta_tokens(thread_id: str, role: str, kind: str) -> str:
    """The `meta` column of a message: one token each for its role, kind and thread."""
    return f"{META_MARK}r{role} {META_MARK}k{kind} {thread_token(thread_id)}"


def filter_clause(tokens: list[str]) -> str:
    """A MATCH clause true for rows whose `meta` holds any of `tokens` (as `meta_tokens` writes
    them: `r<role>`, `k<kind>`, or a `thread_token`)."""
    quoted = (
        '"' + (t if t.startswith(META_MARK) else META_MARK + t).replace('"', '""') + '"' for t in tokens
    )
    return "meta : (" + " OR ".join(quoted) + ")"


def check_sqlite() -> None:
    """Raise a clear error when this Python's SQLite cannot hold the index (too old, or built
    without FTS5)."""
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        raise RuntimeError(
            f"SQLite {sqlite3.sqlite_version} is too old for full-text search "
            f"(needs {'.'.join(map(str, MIN_SQLITE))} with FTS5)"
        )
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute(CREATE_TABLE)
    except sqlite3.OperationalError as exc:
        raise RuntimeError(
            f"this Python's SQLite {sqlite3.sqlite_version} cannot create the full-text index ({exc}): "
            "it needs FTS5, which Python's own builds include"
        ) from None
    finally:
        probe.close()


def _rows(messages: Iterable[tuple[int, str, str, str, str | None, Any]]) -> list[tuple[Any, ...]]:
    out = []
    for rowid, thread_id, role, kind, text, data in messages:
        cols = indexed_columns(kind, text, data)
        if cols is not None:
            out.append((rowid, cols[0], cols[1], meta_tokens(thread_id, role, kind)))
    return out


def index_rows(
    messages: list[dict[str, Any]], rowids: list[int], entries: list[IndexEntry] | None = None
) -> list[tuple[int, str, str, str]]:
    """The index rows `(rowid, text, extra, meta)` of messages stored at `rowids` (aligned with
    `messages`). `entries` are their columns as the tailer computed them (`RowBatch.fts`, aligned
    with `messages`); without them they are computed here."""
    out = []
    for i, m in enumerate(messages):
        if entries is None:
            cols = indexed_columns(m["kind"], m.get("text"), m.get("data"))
        else:
            cols = entry_columns(m, entries[i])
        if cols is not None:
            out.append((rowids[i], cols[0], cols[1], meta_tokens(m["threadId"], m["role"], m["kind"])))
    return out


def index_messages(conn: sqlite3.Connection, rows: list[tuple[int, str, str, str]]) -> None:
    """Index messages just inserted (inside the caller's transaction): `index_rows` of them."""
    conn.executemany(INSERT_ROWS, rows)


def merge_step(conn: sqlite3.Connection, pages: int = MERGE_PAGES) -> bool:
    """One step of merging the index's segments (about `pages` pages written), inside the caller's
    transaction; False when there was nothing left to merge (FTS5 reports work done as 2 or more
    changes)."""
    before = conn.total_changes
    conn.execute(f"INSERT INTO {TABLE}({TABLE}, rank) VALUES('merge', ?)", (pages,))
    return conn.total_changes - before >= 2


# FTS5 keeps the terms of the rows written in a transaction in memory and writes them out as a new
# level-0 segment once they pass `hashsize` bytes (default 1 MB) and at every COMMIT. A backfill
# transaction (a few MB of rows) flushed several segments each, which piled up to `crisismerge` and
# were merged inside a write. At 16 MB a transaction writes one segment (1 GB backfill, replayed
# writes of the index alone, 16 MB transactions: 6.2 -> 4.6 s CPU; 40 segments left to merge idle).
HASHSIZE = 16 * 1024 * 1024
# Migration 6: the bigger in-memory term buffer (above).
BIGGER_HASH = [f"INSERT INTO {TABLE}({TABLE}, rank) VALUES('hashsize', {HASHSIZE})"]
# Migration 4: segments are merged when the writer is idle, not inside every write (above).
DEFER_MERGES = [
    f"INSERT INTO {TABLE}({TABLE}, rank) VALUES('automerge', {AUTOMERGE})",
    f"INSERT INTO {TABLE}({TABLE}, rank) VALUES('crisismerge', {CRISISMERGE})",
]


def is_indexed(conn: sqlite3.Connection) -> bool:
    """Whether the store has the index table."""
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (TABLE,)).fetchone()
    return row is not None


def migrate(store: Store) -> None:
    """Schema step: create the index and build it for every message already stored, in chunks of
    `MIGRATION_CHUNK` rows, each its own transaction (a big store neither holds one huge
    transaction nor starts over after an interruption: it resumes after the last indexed rowid).
    Progress is logged every few seconds."""
    check_sqlite()
    conn = store.conn
    with store.transaction():
        conn.execute(CREATE_TABLE)
    row = conn.execute(f"SELECT rowid FROM {TABLE} ORDER BY rowid DESC LIMIT 1").fetchone()
    last = int(row[0]) if row else 0
    total = int(conn.execute("SELECT COUNT(*) FROM messages WHERE rowid > ?", (last,)).fetchone()[0])
    if total == 0:
        return
    log.info("building the search index for %d stored messages", total)
    done = 0
    t0 = shown = time.monotonic()
    query = (
        "SELECT rowid, thread_id, role, kind, text, data FROM messages WHERE rowid > ? ORDER BY rowid LIMIT ?"
    )
    while True:
        chunk = conn.execute(query, (last, MIGRATION_CHUNK)).fetchall()
        if not chunk:
            break
        decoded = [
            (r, t, role, k, x, _json_decode(d) if d is not None else None) for r, t, role, k, x, d in chunk
        ]
        with store.transaction():
            conn.executemany(INSERT_ROWS, _rows(decoded))
        last = int(chunk[-1][0])
        done += len(chunk)
        now = time.monotonic()
        if now - shown >= PROGRESS_SECONDS:
            shown = now
            rate = done / (now - t0)
            log.info(
                "search index: %d/%d messages (%.0f%%), %.0f/s, about %.0fs left",
                done,
                total,
                100 * done / total,
                rate,
                (total - done) / rate,
            )
    log.info("search index built: %d messages in %.1fs", done, time.monotonic() - t0)
