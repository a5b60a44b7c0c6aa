"""Message and thread vectors in the local SQLite store, committed with the indexer's checkpoint.

The indexer reads messages in rowid order after its checkpoint, embeds a batch and calls
`commit_batch`, which in ONE transaction inserts the chunk vectors, adds them to their threads'
running sums and moves the checkpoint. A kill -9 anywhere before COMMIT leaves neither vectors nor
checkpoint (the batch is redone); after it, both: no missing and no duplicate vectors. The
`UNIQUE (key, chunk)` constraint is a second guard.

Thread vectors are the normalized mean of a thread's chunk vectors, kept as an unnormalized float32
sum plus a count, so each batch updates them in O(batch) instead of re-reading the thread.
The tables (`SCHEMA`, schema.py) are migration 4 of the store (oa_actors/store/schema.py).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .chunking import Chunk
from .schema import OUTBOX_TABLE, SCHEMA
from .vectors import IndexKind, VectorIndex, normalize

F32 = npt.NDArray[np.float32]

CHECKPOINT = "messages"


def create_schema(conn: sqlite3.Connection) -> None:
    """Creates the vector tables (tests and benches; the store applies `SCHEMA` as a migration)."""
    with conn:
        for stmt in SCHEMA:
            conn.execute(stmt)


def checkpoint(conn: sqlite3.Connection) -> int:
    """The rowid of the last message the indexer has finished with (0 before the first batch)."""
    row = conn.execute("SELECT last_rowid FROM embed_checkpoint WHERE name = ?", (CHECKPOINT,)).fetchone()
    return int(row[0]) if row else 0


def commit_batch(
    conn: sqlite3.Connection,
    chunks: Sequence[Chunk],
    vectors: F32,
    last_rowid: int,
    model: str,
    *,
    outbox: bool = False,
) -> int:
    """Stores one embedded batch and moves the checkpoint to `last_rowid`, atomically.

    `vectors[i]` is the vector of `chunks[i]`. Returns how many vectors were new (a chunk already
    stored is skipped and not added to its thread's sum again). With `outbox` (the real store), each
    new vector is queued for Convex in the same transaction (outbox table `embeddings`, key = its id).
    """
    if len(chunks) != len(vectors):
        raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
    vecs = np.ascontiguousarray(vectors, dtype=np.float32)
    added = 0
    sums: dict[str, tuple[F32, int]] = {}
    with conn:
        for chunk, vec in zip(chunks, vecs, strict=True):
            cur = conn.execute(
                "INSERT OR IGNORE INTO message_vectors (key, chunk, thread_id, model, vector)"
                " VALUES (?,?,?,?,?)",
                (chunk.key, chunk.index, chunk.thread_id, model, vec.tobytes()),
            )
            if cur.rowcount:
                added += 1
                if outbox:
                    conn.execute(
                        "INSERT INTO outbox (tbl, key, op) VALUES (?, ?, 'upsert')",
                        (OUTBOX_TABLE, str(cur.lastrowid)),
                    )
                s, n = sums.get(chunk.thread_id, (np.zeros(len(vec), dtype=np.float32), 0))
                sums[chunk.thread_id] = (s + vec, n + 1)
        for thread_id, (s, n) in sums.items():
            row = conn.execute(
                "SELECT sum, count FROM thread_vectors WHERE thread_id = ?", (thread_id,)
            ).fetchone()
            if row:
                s = s + np.frombuffer(row[0], dtype=np.float32)
                n += int(row[1])
            conn.execute(
                "INSERT OR REPLACE INTO thread_vectors (thread_id, model, sum, count) VALUES (?,?,?,?)",
                (thread_id, model, s.astype(np.float32).tobytes(), n),
            )
        conn.execute(
            "INSERT OR REPLACE INTO embed_checkpoint (name, last_rowid, updated_at) VALUES (?,?,?)",
            (CHECKPOINT, last_rowid, int(time.time() * 1000)),
        )
    return added


def top_up(index: VectorIndex, conn: sqlite3.Connection, batch: int = 10_000) -> int:
    """Adds to `index` every stored message vector with an id above `index.max_id`; returns the count.
    Rebuilding is `top_up` into an empty index; resuming a saved one adds only what came after it."""
    added = 0
    after = index.max_id
    while True:
        rows = conn.execute(
            "SELECT id, vector FROM message_vectors WHERE id > ? ORDER BY id LIMIT ?", (after, batch)
        ).fetchall()
        if not rows:
            return added
        ids = [int(r[0]) for r in rows]
        vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), index.dim)
        added += index.add(ids, vecs)
        after = ids[-1]


@dataclass(frozen=True)
class ChunkHit:
    """A message-chunk search result."""

    key: str
    chunk: int
    thread_id: str
    score: float


def search_messages(index: VectorIndex, conn: sqlite3.Connection, query: F32, k: int = 10) -> list[ChunkHit]:
    """The `k` chunks most similar to `query`, with their message keys and threads."""
    ids, scores = index.search(query, k)
    hits = []
    for vid, score in zip(ids.tolist(), scores.tolist(), strict=True):
        row = conn.execute(
            "SELECT key, chunk, thread_id FROM message_vectors WHERE id = ?", (vid,)
        ).fetchone()
        if row:
            hits.append(ChunkHit(str(row[0]), int(row[1]), str(row[2]), float(score)))
    return hits


def rank_threads_by_messages(hits: Sequence[ChunkHit]) -> list[tuple[str, float]]:
    """Threads ordered by their best chunk's score (each thread once)."""
    best: dict[str, float] = {}
    for h in hits:
        best[h.thread_id] = max(best.get(h.thread_id, -2.0), h.score)
    return sorted(best.items(), key=lambda kv: -kv[1])


class ThreadVectors:
    """Every thread's vector (normalized mean of its chunk vectors) with exact search over them.

    Thread counts are small (thousands), so the exact index is always the right one here.
    """

    def __init__(self, conn: sqlite3.Connection, dim: int) -> None:
        rows = conn.execute("SELECT thread_id, sum FROM thread_vectors ORDER BY thread_id").fetchall()
        self.thread_ids = [str(r[0]) for r in rows]
        self._pos = {t: i for i, t in enumerate(self.thread_ids)}
        self.index = VectorIndex(dim, "exact")
        if rows:
            sums = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), dim)
            self.index.add(list(range(1, len(rows) + 1)), sums)
            self._vectors: F32 = normalize(sums)
        else:
            self._vectors = np.zeros((0, dim), dtype=np.float32)

    def vector(self, thread_id: str) -> F32 | None:
        """The thread's unit vector, or None when it has no embedded chunk yet."""
        i = self._pos.get(thread_id)
        return None if i is None else self._vectors[i]

    def search(self, query: F32, k: int = 10) -> list[tuple[str, float]]:
        """Threads most similar to a query vector, best first."""
        ids, scores = self.index.search(query, k)
        return [
            (self.thread_ids[i - 1], float(s)) for i, s in zip(ids.tolist(), scores.tolist(), strict=True)
        ]

    def similar(self, thread_id: str, k: int = 10) -> list[tuple[str, float]]:
        """Threads like `thread_id` (itself excluded). Raises KeyError when it has no vector yet."""
        vec = self.vector(thread_id)
        if vec is None:
            raise KeyError(thread_id)
        own = self._pos[thread_id] + 1
        ids, scores = self.index.search(vec, k, where=lambda i: i != own)
        return [
            (self.thread_ids[i - 1], float(s)) for i, s in zip(ids.tolist(), scores.tolist(), strict=True)
        ]


def build_message_index(conn: sqlite3.Connection, dim: int, kind: IndexKind = "exact") -> VectorIndex:
    """A fresh index over every stored message vector."""
    index = VectorIndex(dim, kind)
    top_up(index, conn)
    return index
