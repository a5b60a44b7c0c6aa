"""Semantic and hybrid search, and "threads like this", over the store's vectors.

`SemanticSearcher` holds the embedder (for the query text), an exact in-memory index of every
message vector (topped up from the store before each query) and the thread vectors. Hits have the
shape of keyword search's (`SearchHit`, docs/search.md) so the CLI and the `search` verb print and
send them alike:

- `semantic`: the query's vector against every chunk vector; a message ranks by its best chunk;
  `score` is the cosine, `snippet` the best chunk's text (no highlights).
- `hybrid`: keyword hits (BM25, all words must match) and semantic hits fused by reciprocal rank
  (k = 60); a message found by keyword keeps its snippet and highlights; `score` is the fused one.
  Keyword search's precision plus the vectors' recall: on the labelled set hybrid is never worse
  than keyword alone (docs/semantic.md).

Filters (agent, thread, project, role, kind, time) are those of keyword search. Pages: the cursor
is an offset into the ranking (at most `MAX_OFFSET`).
"""

from __future__ import annotations

import base64
import binascii
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from oa_actors.store import Store
from oa_actors.store.schema import VECTORS_VERSION
from oa_actors.store.search import SearchError, SearchHit, SearchPage, SearchQuery, resolve_thread, search

from .chunking import token_windows
from .embedder import Embedder
from .vector_store import ThreadVectors, build_message_index, top_up
from .vectors import VectorIndex, hnsw_available, reciprocal_rank_fusion

MODES = ("keyword", "semantic", "hybrid")
# Up to this many message vectors the index is exact (a matrix product: ~1 ms per 10,000 vectors, so
# ~20 ms here; always right); above, HNSW (sub-millisecond at 1,000,000, recall@10 ~0.99).
EXACT_MAX = 200_000
SAVE_EVERY = 10_000  # the indexer saves the HNSW graph after this many new vectors
CANDIDATES = 100  # messages from each list before fusing (and the deepest page)
MAX_OFFSET = CANDIDATES
RRF_K = 60
# How much a message's thread as a whole counts in its semantic rank (0: its best chunk only).
# Chosen on the labelled set's `tune` split (docs/semantic.md); thread vectors alone ranked threads
# better than best chunks in phase 1 (MRR 0.875 vs 0.805).
THREAD_WEIGHT = 1.0
SNIPPET_CHARS = 300
# Keyword errors that only mean "these words cannot be a keyword query": hybrid then uses the vectors
# alone. Filter errors (unknown thread, bad role, ...) are the user's and are reported.
_FILTER_ERRORS = frozenset({"unknown_thread", "ambiguous_thread", "bad_filter", "bad_limit", "bad_cursor"})


class SemanticError(ValueError):
    """A semantic query that cannot run: `code` and a message for the user."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Similar:
    """`similar`'s answer: the thread asked about and its neighbours (JSON-ready dicts)."""

    thread_id: str
    threads: list[dict[str, Any]]


def has_vectors(conn: sqlite3.Connection) -> bool:
    """Whether the store has any message vector (False for a store older than the vector tables)."""
    try:
        return conn.execute("SELECT 1 FROM message_vectors LIMIT 1").fetchone() is not None
    except sqlite3.OperationalError:
        return False


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"v:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        tag, offset = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":")
        value = int(offset)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise SemanticError("bad_cursor", "the cursor is not one this search returned") from None
    if tag != "v" or not 0 <= value <= MAX_OFFSET:
        raise SemanticError("bad_cursor", "the cursor is not one this search returned")
    return value


def message_index(conn: sqlite3.Connection, dim: int, graph: Path | None) -> tuple[VectorIndex, int]:
    """The index of every stored message vector, and the largest id of the saved graph it was loaded
    from (0: not loaded). Exact up to `EXACT_MAX` vectors; above, the HNSW graph saved at `graph` (by
    the indexer) topped up with what came after it, or built afresh (about 1 ms of CPU per vector)
    when there is none or it is damaged."""
    count = int(conn.execute("SELECT count(*) FROM message_vectors").fetchone()[0])
    if count <= EXACT_MAX or graph is None or not hnsw_available():
        return build_message_index(conn, dim), 0
    try:
        index = VectorIndex.load(graph, dim)
    except (ValueError, OSError):  # none yet, or damaged: rebuilt from the store (the source of truth)
        index = VectorIndex(dim, "hnsw")
    loaded = index.max_id
    top_up(index, conn)
    return index, loaded


class SemanticSearcher:
    """Answers semantic/hybrid searches and `similar` from one store (read-only) and one embedder.

    Thread-safe (one lock): the indexer queries it from worker threads while it saves the graph.
    `graph`: where the HNSW graph of a large store lives (`$OPENAGENTS_HOME/vectors.usearch`); only
    the indexer saves it (`save_graph`), a CLI reads it.
    """

    def __init__(self, store: Store, embedder: Embedder, graph: Path | None = None) -> None:
        if store.version() < VECTORS_VERSION:
            raise SemanticError(
                "no_vectors", f"{store.path} predates the vector tables: start the supervisor"
            )
        self.store = store
        self.embedder = embedder
        self.graph = graph
        self.index, self._saved_at = message_index(store.conn, embedder.dim, graph)
        self._lock = threading.RLock()
        self._threads: ThreadVectors | None = None
        self._threads_at = -1

    @classmethod
    def open(cls, path: Path, embedder: Embedder, graph: Path | None = None) -> SemanticSearcher:
        """A searcher over the store at `path`, opened read-only."""
        return cls(Store.open(path, readonly=True), embedder, graph)

    def close(self) -> None:
        with self._lock:
            self.store.close()

    def refresh(self) -> None:
        """Adds the vectors stored since the last query (the indexer keeps committing)."""
        with self._lock:
            top_up(self.index, self.store.conn)

    def save_graph(self, every: int = SAVE_EVERY) -> bool:
        """Saves the HNSW graph when `every` vectors were added since the last save (so a restart
        loads it instead of rebuilding); exact indexes are not saved. True when it saved."""
        with self._lock:
            self.refresh()
            if self.graph is None or self.index.kind != "hnsw" or self.index.max_id - self._saved_at < every:
                return False
            self.index.save(self.graph)
            self._saved_at = self.index.max_id
            return True

    def _thread_vectors(self) -> ThreadVectors:
        if self._threads is None or self._threads_at != self.index.max_id:
            self._threads = ThreadVectors(self.store.conn, self.embedder.dim)
            self._threads_at = self.index.max_id
        return self._threads

    # -- search -------------------------------------------------------------------------------------
    def search_args(self, args: Any) -> dict[str, Any]:
        """The `search` verb's arguments (catalog.Search) in, its JSON result out."""
        query = SearchQuery.from_verb_args(args)
        mode = args.mode or "hybrid"
        if mode == "keyword":
            raise SemanticError("bad_mode", "keyword search is answered by the gateway")
        return self.search(query, mode).to_json()

    def search(self, query: SearchQuery, mode: str) -> SearchPage:
        """One page of semantic or hybrid hits, best first."""
        with self._lock:
            return self._search(query, mode)

    def _search(self, query: SearchQuery, mode: str) -> SearchPage:
        if mode not in ("semantic", "hybrid"):
            raise SemanticError("bad_mode", f"mode must be semantic or hybrid, not {mode!r}")
        if not query.text.strip():
            raise SemanticError("empty_query", "the query is empty")
        if not 1 <= query.limit <= 200:
            raise SemanticError("bad_limit", "limit must be between 1 and 200")
        offset = _decode_cursor(query.cursor)
        self.refresh()
        allowed = self._allowed(query)
        vector = self.embedder.embed([query.text])[0]
        semantic = self._semantic_hits(vector, max(CANDIDATES, offset + query.limit + 1), allowed)
        if mode == "semantic":
            ranked = semantic
        else:
            keyword = self._keyword_hits(query)
            by_key = {h.key: h for h in semantic} | {h.key: h for h in keyword}
            fused = reciprocal_rank_fusion([[h.key for h in keyword], [h.key for h in semantic]], k=RRF_K)
            ranked = [replace(by_key[key], score=round(score, 6)) for key, score in fused]
        page = ranked[offset : offset + query.limit]
        more = len(ranked) > offset + query.limit and offset + query.limit <= MAX_OFFSET
        return SearchPage(hits=page, next_cursor=_encode_cursor(offset + query.limit) if more else None)

    def _keyword_hits(self, query: SearchQuery) -> list[SearchHit]:
        try:
            return search(self.store, replace(query, limit=CANDIDATES, cursor=None)).hits
        except SearchError as exc:
            if exc.code in _FILTER_ERRORS:
                raise SemanticError(exc.code, exc.message) from None
            return []  # e.g. only punctuation: no keyword query, the vectors still answer

    def _allowed(self, query: SearchQuery) -> Callable[[int], bool] | None:
        """The filter on vector ids of the query's filters (None without any)."""
        cond: list[str] = []
        args: list[Any] = []
        if query.thread is not None:
            try:
                thread_id = resolve_thread(self.store.conn, query.thread)
            except SearchError as exc:
                raise SemanticError(exc.code, exc.message) from None
            cond.append("v.thread_id = ?")
            args.append(thread_id)
        if query.source is not None:
            cond.append("t.source = ?")
            args.append(query.source)
        if query.project is not None:
            path = query.project.rstrip("/") or "/"
            cond.append("(t.cwd = ? OR substr(t.cwd, 1, ?) = ?)")
            args += [path, len(path) + 1, path + "/"]
        if query.roles:
            cond.append(f"m.role IN ({','.join('?' * len(query.roles))})")
            args += list(query.roles)
        if query.kinds:
            cond.append(f"m.kind IN ({','.join('?' * len(query.kinds))})")
            args += list(query.kinds)
        if query.since_ms is not None:
            cond.append("m.ts >= ?")
            args.append(query.since_ms)
        if query.until_ms is not None:
            cond.append("m.ts < ?")
            args.append(query.until_ms)
        if not cond:
            return None
        rows = self.store.conn.execute(
            "SELECT v.id FROM message_vectors v JOIN messages m ON m.key = v.key "
            "LEFT JOIN threads t ON t.thread_id = v.thread_id WHERE " + " AND ".join(cond),
            args,
        ).fetchall()
        ids = {int(r[0]) for r in rows}
        return ids.__contains__

    def _semantic_hits(
        self, vector: np.ndarray[Any, Any], want: int, allowed: Callable[[int], bool] | None
    ) -> list[SearchHit]:
        """Messages by their best chunk's cosine plus `THREAD_WEIGHT` times their thread's cosine (a
        message of a thread that is about the query as a whole ranks first), at most `want`."""
        ids, scores = self.index.search(vector, want * 3, where=allowed)
        best: dict[str, tuple[int, float, str]] = {}
        conn = self.store.conn
        for vid, score in zip(ids.tolist(), scores.tolist(), strict=True):
            row = conn.execute(
                "SELECT key, chunk, thread_id FROM message_vectors WHERE id = ?", (vid,)
            ).fetchone()
            if row is not None and row[0] not in best:
                best[str(row[0])] = (int(row[1]), float(score), str(row[2]))
            if len(best) >= want:
                break
        if THREAD_WEIGHT and best:
            threads = self._thread_vectors()
            of_thread = dict(threads.search(vector, len(threads.thread_ids)))
            ranked = sorted(
                best.items(), key=lambda kv: -(kv[1][1] + THREAD_WEIGHT * of_thread.get(kv[1][2], 0.0))
            )
        else:
            ranked = list(best.items())
        return [h for key, (chunk, score, _) in ranked if (h := self._hit(key, chunk, score)) is not None]

    def _hit(self, key: str, chunk: int, score: float) -> SearchHit | None:
        row = self.store.conn.execute(
            "SELECT m.thread_id, m.seq, m.ts, m.role, m.kind, m.text, t.source, t.title, t.cwd "
            "FROM messages m LEFT JOIN threads t ON t.thread_id = m.thread_id WHERE m.key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        thread_id, seq, ts, role, kind, text, source, title, cwd = row
        windows = token_windows(" ".join(str(text or "").split()), self.embedder.tokenizer)
        snippet = windows[min(chunk, len(windows) - 1)] if windows else ""
        if len(snippet) > SNIPPET_CHARS:
            snippet = snippet[: SNIPPET_CHARS - 1].rstrip() + "…"
        return SearchHit(
            thread_id=thread_id,
            key=key,
            seq=seq,
            ts=ts,
            role=role,
            kind=kind,
            source=source,
            title=title,
            cwd=cwd,
            score=round(score, 6),
            field="text",
            snippet=snippet,
            highlights=[],
        )

    # -- similar ------------------------------------------------------------------------------------
    def similar(self, ref: str, limit: int = 10) -> Similar:
        """Threads like `ref` (an id or a unique prefix), most similar first."""
        with self._lock:
            return self._similar(ref, limit)

    def _similar(self, ref: str, limit: int) -> Similar:
        if not 1 <= limit <= 100:
            raise SemanticError("bad_limit", "limit must be between 1 and 100")
        try:
            thread_id = resolve_thread(self.store.conn, ref)
        except SearchError as exc:
            raise SemanticError(exc.code, exc.message) from None
        self.refresh()
        try:
            found = self._thread_vectors().similar(thread_id, limit)
        except KeyError:
            raise SemanticError(
                "not_embedded", f"thread {thread_id} has no embedded message yet (see `status`: backlog)"
            ) from None
        out = []
        for tid, score in found:
            row = self.store.conn.execute(
                "SELECT title, source, cwd, updated_at FROM threads WHERE thread_id = ?", (tid,)
            ).fetchone()
            title, source, cwd, updated = row if row else (None, None, None, None)
            out.append(
                {
                    "threadId": tid,
                    "score": round(score, 6),
                    "title": title,
                    "source": source,
                    "cwd": cwd,
                    "updatedAt": updated,
                }
            )
        return Similar(thread_id, out)
