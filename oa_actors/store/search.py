"""Full-text search over the local store: one typed query in, typed hits and a next cursor out.

`search(store, SearchQuery(...)) -> SearchPage` is the whole API; the CLI (`oa-supervisor search`)
and the bridge's `search` verb are thin wrappers around it. It only reads, so a read-only store
(`Store.open(path, readonly=True)`) is enough, while the writer keeps writing (WAL).

Ranking: BM25 (text weighs twice the searchable parts of `data`), ties broken by recency (the
newer stored row first: rows are stored in the order of the sessions' files and appends). A query
that matches more than `CANDIDATES` messages ranks the newest `CANDIDATES` of them, which bounds
its cost on any store size. Paging: the cursor holds an offset and the newest rowid of the first
page, so rows stored meanwhile never shift later pages (a new search sees them).
"""

from __future__ import annotations

import base64
import binascii
import re
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import msgspec

from oa_actors.store import search_index
from oa_actors.store.schema import SEARCH_VERSION
from oa_actors.store.search_snippet import Snippet, find_spans, make_snippet, needle_pattern
from oa_actors.store.search_text import QueryError, Term, match_expression, parse_query, searchable_data
from oa_actors.store.store import Store

_json_decode = msgspec.json.Decoder().decode

CANDIDATES = 2_000
# Thread-level filters (agent, project, time) that leave at most this many threads become part of
# the index lookup.
MAX_THREAD_TOKENS = 1_000
DEFAULT_LIMIT = 20
MAX_LIMIT = 200
SOURCES = ("codex", "claude", "app")
ROLES = ("user", "assistant", "system", "tool")


class SearchError(ValueError):
    """A query that cannot run: `code` (e.g. `empty_query`, `ambiguous_thread`) and a message for
    the user. Never an SQL error: those are bugs."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SearchQuery:
    """What to search for. `text`: words (all must match), "quoted phrases", `prefix*`; every
    other character is plain text. Filters are ANDed; a tuple filter matches any of its values."""

    text: str
    source: str | None = None
    thread: str | None = None
    project: str | None = None
    roles: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    since_ms: int | None = None
    until_ms: int | None = None
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    @classmethod
    def from_verb_args(cls, args: Any) -> SearchQuery:
        """The query a `search` verb's arguments (`verbs.catalog.Search`) describe."""
        return cls(
            text=args.query,
            source=args.source,
            thread=args.threadId,
            project=args.project,
            roles=(args.role,) if args.role else (),
            kinds=(args.kind,) if args.kind else (),
            since_ms=args.since,
            until_ms=args.until,
            limit=args.limit or DEFAULT_LIMIT,
            cursor=args.cursor,
        )


@dataclass(frozen=True)
class SearchHit:
    """One matching message, its thread's title and where it matched."""

    thread_id: str
    key: str
    seq: int
    ts: int | None
    role: str
    kind: str
    source: str | None
    title: str | None
    cwd: str | None
    score: float
    field: str
    snippet: str
    highlights: list[tuple[int, int]]

    def to_json(self) -> dict[str, Any]:
        """The hit in the rows' camelCase (docs/search.md)."""
        return {
            "threadId": self.thread_id,
            "key": self.key,
            "seq": self.seq,
            "ts": self.ts,
            "role": self.role,
            "kind": self.kind,
            "source": self.source,
            "title": self.title,
            "cwd": self.cwd,
            "score": self.score,
            "field": self.field,
            "snippet": self.snippet,
            "highlights": [list(h) for h in self.highlights],
        }


@dataclass(frozen=True)
class SearchPage:
    """Hits, best first, and the cursor of the next page (None on the last one)."""

    hits: list[SearchHit] = field(default_factory=list)
    next_cursor: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"hits": [h.to_json() for h in self.hits], "nextCursor": self.next_cursor}


def _encode_cursor(offset: int, snapshot: int) -> str:
    return base64.urlsafe_b64encode(f"{offset}:{snapshot}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        offset, snapshot = (int(x) for x in raw.split(":"))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise SearchError("bad_cursor", "the cursor is not one this search returned") from None
    if offset < 0 or offset > CANDIDATES or snapshot < 0:
        raise SearchError("bad_cursor", "the cursor is out of range")
    return offset, snapshot


def resolve_thread(conn: sqlite3.Connection, ref: str) -> str:
    """A thread id from the id itself or a unique prefix of it."""
    if conn.execute("SELECT 1 FROM threads WHERE thread_id = ?", (ref,)).fetchone():
        return ref
    found = [
        r[0]
        for r in conn.execute(
            "SELECT thread_id FROM threads WHERE substr(thread_id, 1, ?) = ? LIMIT 6", (len(ref), ref)
        )
    ]
    if not found:
        raise SearchError("unknown_thread", f"no thread id starts with {ref!r}")
    if len(found) > 1:
        more = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
        raise SearchError("ambiguous_thread", f"{ref!r} is the start of several thread ids: {more}")
    return str(found[0])


def _check(query: SearchQuery) -> list[Term]:
    try:
        terms = parse_query(query.text)
    except QueryError as exc:
        raise SearchError(exc.code, str(exc)) from None
    if not 1 <= query.limit <= MAX_LIMIT:
        raise SearchError("bad_limit", f"limit must be between 1 and {MAX_LIMIT}")
    if query.source is not None and query.source not in SOURCES:
        raise SearchError("bad_filter", f"source must be one of {', '.join(SOURCES)}")
    for role in query.roles:
        if role not in ROLES:
            raise SearchError("bad_filter", f"role must be one of {', '.join(ROLES)}")
    for kind in query.kinds:
        if not kind.isalnum() or not kind.isascii():
            raise SearchError("bad_filter", f"{kind!r} is not a message kind")
    if query.since_ms is not None and query.until_ms is not None and query.since_ms > query.until_ms:
        raise SearchError("bad_filter", "since is after until")
    return terms


def _thread_filter(conn: sqlite3.Connection, query: SearchQuery) -> tuple[str, list[Any]] | None:
    """The SQL condition on `threads t` of the thread-level filters (agent, project, and the time
    range as far as a thread's span shows it), or None without any."""
    cond: list[str] = []
    args: list[Any] = []
    if query.source is not None:
        cond.append("t.source = ?")
        args.append(query.source)
    if query.project is not None:
        path = query.project.rstrip("/") or "/"
        escaped = path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        cond.append("(t.cwd = ? OR t.cwd LIKE ? ESCAPE '\\')")
        args += [path, escaped.rstrip("/") + "/%"]
    # A thread's updatedAt is its newest timestamp and createdAt its first (docs/rows.md), so a
    # thread outside the range holds no message inside it.
    if query.since_ms is not None:
        cond.append("(t.updated_at IS NULL OR t.updated_at >= ?)")
        args.append(query.since_ms)
    if query.until_ms is not None:
        cond.append("(t.created_at IS NULL OR t.created_at <= ?)")
        args.append(query.until_ms)
    return (" AND ".join(cond), args) if cond else None


def search(store: Store, query: SearchQuery) -> SearchPage:
    """Run one search (see the module docstring). Raises SearchError for bad input."""
    terms = _check(query)
    conn = store.conn
    if store.version() < SEARCH_VERSION or not search_index.is_indexed(conn):
        raise SearchError(
            "no_index",
            "this store has no search index yet: start `oa-supervisor run` (or `oa-supervisor backfill`) "
            "once with this version to build it",
        )
    match = match_expression(terms)
    if query.roles:
        match += " AND " + search_index.filter_clause(["r" + r for r in query.roles])
    if query.kinds:
        match += " AND " + search_index.filter_clause(["k" + k for k in query.kinds])
    if query.thread is not None:
        match += " AND " + search_index.filter_clause(
            [search_index.thread_token(resolve_thread(conn, query.thread))]
        )
    if query.cursor:
        offset, snapshot = _decode_cursor(query.cursor)
    else:
        offset = 0
        snapshot = int(conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM messages").fetchone()[0])
    if offset >= CANDIDATES:
        return SearchPage()

    table = search_index.TABLE
    where = [f"{table} MATCH ?", f"{table}.rowid <= ?"]
    args: list[Any] = [match, snapshot]
    joins = ""
    threads = _thread_filter(conn, query)
    if threads is not None:
        cond, cond_args = threads
        ids = [r[0] for r in conn.execute(
            f"SELECT thread_id FROM threads t WHERE {cond} LIMIT {MAX_THREAD_TOKENS + 1}", cond_args
        )]  # fmt: skip
        if not ids:
            return SearchPage()
        if len(ids) <= MAX_THREAD_TOKENS:
            # Few threads: part of the index lookup (their meta tokens), so only matches in them
            # are ever read; many threads: checked on each match.
            args[0] = f"{match} AND {search_index.filter_clause([search_index.thread_token(t) for t in ids])}"
        else:
            joins = (
                f" CROSS JOIN messages m ON m.rowid = {table}.rowid"
                " CROSS JOIN threads t ON t.thread_id = m.thread_id"
            )
            where.append(cond)
            args += cond_args
    if (query.since_ms is not None or query.until_ms is not None) and not joins:
        joins = f" CROSS JOIN messages m ON m.rowid = {table}.rowid"
    if query.since_ms is not None:
        where.append("m.ts >= ?")
        args.append(query.since_ms)
    if query.until_ms is not None:
        where.append("m.ts <= ?")
        args.append(query.until_ms)
    weights = ", ".join(str(w) for w in search_index.BM25_WEIGHTS)
    # The newest CANDIDATES matches (the index reads rowids in order, so this stops early), then
    # ranked by BM25 with the newer row first on a tie; rows are read for the page only.
    ranked = conn.execute(
        f"SELECT rid, score FROM (SELECT {table}.rowid AS rid, bm25({table}, {weights}) AS score "
        f"FROM {table}{joins} WHERE {' AND '.join(where)} ORDER BY {table}.rowid DESC LIMIT {CANDIDATES}) "
        "ORDER BY score, rid DESC LIMIT ? OFFSET ?",
        [*args, query.limit + 1, offset],
    ).fetchall()
    more = len(ranked) > query.limit and offset + query.limit < CANDIDATES
    page = ranked[: query.limit]
    rows = {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT m.rowid, m.thread_id, m.key, m.seq, m.ts, m.role, m.kind, m.text, m.data, "
            "t.source, t.title, t.cwd FROM messages m LEFT JOIN threads t ON t.thread_id = m.thread_id "
            f"WHERE m.rowid IN ({','.join('?' * len(page))})",
            [rid for rid, _ in page],
        )
    }
    pattern = needle_pattern(terms)
    hits = [_hit((score, *rows[rid]), pattern) for rid, score in page if rid in rows]
    return SearchPage(hits, _encode_cursor(offset + query.limit, snapshot) if more else None)


def _hit(row: tuple[Any, ...], pattern: re.Pattern[str] | None) -> SearchHit:
    score, thread_id, key, seq, ts, role, kind, text, data, source, title, cwd = row
    text = text or ""
    spans = find_spans(text, pattern)
    where = "text"
    snippet: Snippet | None = None
    if not spans:
        extra = searchable_data(kind, text, _json_decode(data) if data is not None else None)
        extra_spans = find_spans(extra, pattern)
        if extra_spans:
            where, snippet = "extra", make_snippet(extra, extra_spans)
    if snippet is None:
        snippet = make_snippet(text, spans)
    return SearchHit(
        thread_id=thread_id,
        key=key,
        seq=int(seq),
        ts=ts,
        role=role,
        kind=kind,
        source=source,
        title=title,
        cwd=cwd,
        score=float(f"{-float(score):.6g}"),
        field=where,
        snippet=snippet.text,
        highlights=snippet.highlights,
    )
