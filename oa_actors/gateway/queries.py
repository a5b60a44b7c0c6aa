"""The live queries' pages, read from the local store (opened read-only, lazily).

The store may not exist yet (nothing imported): the pages are then empty, not errors. Pages use
keyset cursors (`beforeUpdatedAt` for threads, `afterSeq` for messages); a page never ends in the
middle of a run of equal cursor values, so the next page neither skips nor repeats rows. A page also
stops early once its rows reach `max_reply_bytes` (at least one row is always returned).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from oa_actors.gateway.errors import BadRequest, NotFound, Unavailable
from oa_actors.store import Store
from oa_actors.store.search import SearchError, SearchPage, SearchQuery, search
from oa_actors.usage.prices import PriceTable
from oa_actors.usage.summary import summarize, usage_summary

log = logging.getLogger(__name__)
_encode = msgspec.json.Encoder().encode


def cut_page(
    rows: list[dict[str, Any]], limit: int, max_bytes: int, key: Callable[[dict[str, Any]], Any]
) -> int:
    """How many of `rows` (fetched with `limit + 1` or more) form this page.

    Stops at `limit` rows or `max_bytes` of encoded rows, then moves the cut so that it does not split
    a run of rows with an equal cursor `key` (backwards if possible, else forwards past the run).
    """
    n = min(limit, len(rows))
    size = 0
    for i in range(n):
        size += len(_encode(rows[i]))
        if size > max_bytes and i > 0:
            n = i
            break
    if n >= len(rows) or n == 0:
        return n
    boundary = key(rows[n])
    if key(rows[n - 1]) != boundary:
        return n
    start = n - 1
    while start > 0 and key(rows[start - 1]) == boundary:
        start -= 1
    if start > 0:
        return start
    end = n
    while end < len(rows) and key(rows[end]) == boundary:
        end += 1
    return end


class LocalQueries:
    """Read-only access to the store for `threads.list` and `messages.forThread`."""

    def __init__(self, path: Path | None, max_reply_bytes: int) -> None:
        self.path = path
        self.max_reply_bytes = max_reply_bytes
        self._store: Store | None = None
        # The supervisor's config sets the [prices] overrides (actors/ws_gateway.py).
        self.prices = PriceTable()
        self._vectors_seen = (0.0, False)

    def has_vectors(self, ttl: float = 10.0) -> bool:
        """Whether the store has embeddings (then `search` defaults to hybrid); re-read every `ttl` s."""
        at, seen = self._vectors_seen
        if seen or time.monotonic() - at < ttl:
            return seen
        store = self._open()
        found = False
        if store is not None:
            try:
                found = store.conn.execute("SELECT 1 FROM message_vectors LIMIT 1").fetchone() is not None
            except sqlite3.Error:  # a store older than the vector tables
                found = False
        self._vectors_seen = (time.monotonic(), found)
        return found

    @property
    def available(self) -> bool:
        return self._open() is not None

    def _open(self) -> Store | None:
        if self._store is None and self.path is not None and self.path.exists():
            try:
                self._store = Store.open(self.path, readonly=True)
            except sqlite3.Error as exc:
                log.warning("cannot open the store %s read-only: %s", self.path, exc)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _run(self, fn: Callable[[Store], Any], empty: Any) -> Any:
        store = self._open()
        if store is None:
            return empty
        try:
            return fn(store)
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):  # created but not migrated yet
                return empty
            raise Unavailable(f"the local store cannot answer now: {exc}") from None
        except sqlite3.Error as exc:
            raise Unavailable(f"the local store cannot answer now: {exc}") from None

    def search(self, query: SearchQuery) -> SearchPage:
        """One page of full-text hits (store/search.py); bad input is `bad_request`, an unknown
        thread `not_found`, a store without its index `unavailable`."""
        try:
            page: SearchPage = self._run(lambda store: search(store, query), None)
        except SearchError as exc:
            if exc.code == "unknown_thread":
                raise NotFound(exc.message) from None
            if exc.code == "no_index":
                raise Unavailable(exc.message) from None
            raise BadRequest(exc.message, reason=exc.code) from None
        if page is None:
            raise Unavailable("there is no local store yet")
        return page

    def usage(self, by: str | None, since_ms: int | None) -> dict[str, Any]:
        """The usage summary (oa_actors/usage/summary.py) priced with `self.prices`."""
        summary: dict[str, Any] | None = self._run(
            lambda store: usage_summary(store, self.prices, by, since_ms), None
        )
        if summary is None:  # no store yet: nothing used
            summary = summarize([], self.prices, by, since_ms)
        return summary

    def message_counts(self, thread_ids: list[str]) -> dict[str, int]:
        """How many messages each thread has (one index range count per thread).

        Store.message_counts() counts every thread at once; a page needs only its own, so this
        counts through the (thread_id, seq) index. It belongs in Store: move it there when the
        store module is next changed."""

        def query(store: Store) -> dict[str, int]:
            q = "SELECT COUNT(*) FROM messages WHERE thread_id = ?"
            return {
                tid: int(store.conn.execute(q, (tid,)).fetchone()[0]) for tid in dict.fromkeys(thread_ids)
            }

        counts: dict[str, int] = self._run(query, {})
        return {tid: counts.get(tid, 0) for tid in thread_ids}

    def threads_page(self, limit: int, before_updated: int | None) -> dict[str, Any]:
        """`{threads, hasMore, nextBeforeUpdatedAt}`: newest first by updatedAt (null counts as 0)."""
        fetch = limit + 1

        def query(store: Store) -> list[dict[str, Any]]:
            rows = store.threads(limit=fetch, before_updated=before_updated)
            # A run of equal updatedAt longer than the page: fetch the whole run (bounded below).
            if len(rows) == fetch and _updated(rows[0]) == _updated(rows[-1]):
                rows = store.threads(limit=fetch * 20, before_updated=before_updated)
            return rows

        rows: list[dict[str, Any]] = self._run(query, [])
        n = cut_page(rows, limit, self.max_reply_bytes, _updated)
        page, more = rows[:n], n < len(rows)
        return {
            "threads": page,
            "hasMore": more,
            "nextBeforeUpdatedAt": _updated(page[-1]) if more and page else None,
        }

    def messages_page(self, thread_id: str, after_seq: int | float, limit: int) -> dict[str, Any]:
        """`{threadId, thread, messages, hasMore, nextAfterSeq}`: one thread's messages in seq order."""
        fetch = limit + 1

        def query(store: Store) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
            rows = store.messages_for_thread(thread_id, after_seq=after_seq, limit=fetch)
            if len(rows) == fetch and rows[0]["seq"] == rows[-1]["seq"]:
                rows = store.messages_for_thread(thread_id, after_seq=after_seq, limit=fetch * 20)
            return store.thread(thread_id), rows

        thread, rows = self._run(query, (None, []))
        n = cut_page(rows, limit, self.max_reply_bytes, _seq)
        page, more = rows[:n], n < len(rows)
        return {
            "threadId": thread_id,
            "thread": thread,
            "messages": page,
            "hasMore": more,
            "nextAfterSeq": page[-1]["seq"] if page else after_seq,
        }


def _updated(row: dict[str, Any]) -> int:
    return int(row.get("updatedAt") or 0)


def _seq(row: dict[str, Any]) -> int | float:
    seq: int | float = row["seq"]  # a fraction for a row placed between two others (docs/rows.md)
    return seq
