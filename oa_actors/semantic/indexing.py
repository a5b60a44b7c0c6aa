"""One indexing step: the messages after the checkpoint, chunked, embedded and committed.

Actor-independent (the `indexer` actor runs `Indexing.step` in a loop, tests and benches call it
directly). Each step reads the rows stored after the checkpoint in rowid order, keeps the embedded
kinds (chunking.py), cuts them into chunks until about `batch_chunks` chunks are gathered, embeds
them and commits vectors, thread sums, Convex outbox entries and the new checkpoint in ONE
transaction (vector_store.commit_batch). A kill -9 anywhere before that commit redoes the batch;
after it, the batch is done: no vector missing, none twice.

The checkpoint is a rowid of `messages`: rows are only ever inserted (a message is stored once by
its key, never replaced or deleted), so every row stored later has a larger rowid.
"""

from __future__ import annotations

import sqlite3
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from .chunking import EMBEDDED_KINDS, Chunk, chunk_row
from .embedder import Embedder
from .vector_store import checkpoint, commit_batch

BATCH_CHUNKS = 32
READ_ROWS = 64
# The SQL form of chunking.EMBEDDED_KINDS: rows of other kinds are skipped without reading their
# text (tool outputs are the bulk of a store's bytes).
_KIND_FILTER = " OR ".join(f"(role = '{r}' AND kind = '{k}')" for r, k in sorted(EMBEDDED_KINDS))


@dataclass(frozen=True)
class StepResult:
    """What one step did: rows considered, chunks embedded, vectors added, the new checkpoint."""

    rows: int
    chunks: int
    added: int
    checkpoint: int
    embed_seconds: float


class Rate:
    """Chunks and messages per second over the last `window` seconds (for `status`)."""

    def __init__(self, window: float = 60.0) -> None:
        self.window = window
        self._events: deque[tuple[float, int, int]] = deque()

    def record(self, rows: int, chunks: int) -> None:
        now = time.monotonic()
        self._events.append((now, rows, chunks))
        while self._events and now - self._events[0][0] > self.window:
            self._events.popleft()

    def per_second(self) -> tuple[float, float]:
        """(messages/s, chunks/s) over the window (0 when idle)."""
        if not self._events:
            return 0.0, 0.0
        span = max(time.monotonic() - self._events[0][0], 1.0)
        rows = sum(e[1] for e in self._events)
        chunks = sum(e[2] for e in self._events)
        return rows / span, chunks / span


class Indexing:
    """Embeds the store's messages after the checkpoint, one batch per `step()`.

    `conn` is a writable connection to the store (migrated to the vector tables), opened with a
    deferred isolation level so `commit_batch` runs in one transaction. `outbox`: queue new vectors
    for Convex (the real store has the outbox table).
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        embedder: Embedder,
        *,
        batch_chunks: int = BATCH_CHUNKS,
        read_rows: int = READ_ROWS,
        outbox: bool = True,
    ) -> None:
        self.conn = conn
        self.embedder = embedder
        self.batch_chunks = batch_chunks
        self.read_rows = read_rows
        self.outbox = outbox
        self.rate = Rate()
        self.embedded_rows = 0
        self.embedded_chunks = 0
        self.skipped_rows = 0

    def _read(self, after: int) -> tuple[list[dict[str, Any]], int]:
        """The next embeddable rows after `after`, and the rowid through which rows were seen."""
        self.conn.execute("BEGIN")  # one snapshot for the rows and the max rowid
        try:
            rows = self.conn.execute(
                "SELECT rowid, key, thread_id, role, kind, text FROM messages "
                f"WHERE rowid > ? AND ({_KIND_FILTER}) ORDER BY rowid LIMIT ?",
                (after, self.read_rows),
            ).fetchall()
            if len(rows) == self.read_rows:
                through = int(rows[-1][0])
            else:  # every row of this snapshot was seen: skip the non-embedded ones after the last
                top = self.conn.execute("SELECT max(rowid) FROM messages").fetchone()[0]
                through = max(after, int(top or 0))
        finally:
            self.conn.execute("COMMIT")
        out = [
            {"rowid": int(r[0]), "key": r[1], "threadId": r[2], "role": r[3], "kind": r[4], "text": r[5]}
            for r in rows
        ]
        return out, through

    def backlog(self) -> int:
        """Embeddable messages not embedded yet."""
        after = checkpoint(self.conn)
        row = self.conn.execute(
            f"SELECT count(*) FROM messages WHERE rowid > ? AND ({_KIND_FILTER})", (after,)
        ).fetchone()
        return int(row[0])

    def step(self) -> StepResult | None:
        """Embeds and commits one batch; None when there was nothing new (checkpoint unchanged)."""
        after = checkpoint(self.conn)
        rows, through = self._read(after)
        if not rows and through == after:
            return None
        chunks: list[Chunk] = []
        last = through
        used = 0
        for row in rows:
            got = chunk_row(row, self.embedder.tokenizer)
            if not got:
                self.skipped_rows += 1  # whitespace only: nothing to embed
            chunks += got
            used += 1
            if len(chunks) >= self.batch_chunks and used < len(rows):
                last = row["rowid"]  # the rest of the read goes into the next batch
                break
        started = time.process_time()
        vectors = self.embedder.embed([c.text for c in chunks])
        seconds = time.process_time() - started
        added = commit_batch(self.conn, chunks, vectors, last, self.embedder.model_id, outbox=self.outbox)
        self.embedded_rows += used
        self.embedded_chunks += len(chunks)
        self.rate.record(used, len(chunks))
        return StepResult(used, len(chunks), added, last, seconds)


def connect(path: Any) -> sqlite3.Connection:
    """A writable connection to the store for the indexer: WAL, a busy timeout (the writer's commits
    are short), deferred transactions for `commit_batch`."""
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30.0)
    conn.isolation_level = None
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.isolation_level = "DEFERRED"
    return conn
