"""Child process for test_vector_store's kill -9 test: embeds (deterministic fake vectors) every
message after the checkpoint, in batches committed with `commit_batch`, until none is left."""

from __future__ import annotations

import hashlib
import sqlite3
import sys

import numpy as np

from oa_actors.semantic.chunking import Chunk
from oa_actors.semantic.vector_store import checkpoint, commit_batch

DIM = 16


def fake_vector(key: str, chunk: int) -> np.ndarray:
    seed = int.from_bytes(hashlib.blake2b(f"{key}/{chunk}".encode(), digest_size=8).digest(), "little")
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def chunks_of(key: str, thread_id: str, rowid: int) -> list[Chunk]:
    return [Chunk(key, thread_id, i, f"text {key} {i}") for i in range(1 + rowid % 3)]


def main(db: str, batch: int) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.isolation_level = "DEFERRED"
    while True:
        after = checkpoint(conn)
        rows = conn.execute(
            "SELECT rowid, key, thread_id FROM messages WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (after, batch),
        ).fetchall()
        if not rows:
            return
        chunks = [c for r in rows for c in chunks_of(r[1], r[2], r[0])]
        vectors = np.stack([fake_vector(c.key, c.index) for c in chunks])
        commit_batch(conn, chunks, vectors, int(rows[-1][0]), "fake")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
