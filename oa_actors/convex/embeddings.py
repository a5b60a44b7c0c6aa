"""Message vectors from the store's outbox to Convex (`embeddings:applyBatch`, convex/embeddings.ts).

The indexer queues each new vector in the outbox (table `embeddings`, key = its id in
`message_vectors`) in the transaction that stores it; the drain sends them with this module, in
batches of at most `MAX_EMBEDDINGS` (384 floats are ~8 KB of JSON). Standard library only: the
writer runs without NumPy when the `semantic` extra is not installed (then there are no vectors).
"""

from __future__ import annotations

import array
import sqlite3
from collections.abc import Iterator
from typing import Any

from oa_actors.store import Store

TABLE = "embeddings"  # oa_actors/semantic/schema.py OUTBOX_TABLE
MUTATION = "embeddings:applyBatch"
MAX_EMBEDDINGS = 200  # below convex/embeddings.ts MAX_EMBEDDINGS_PER_BATCH (256)
DIGITS = 7  # float32 precision: more digits only lengthen the JSON


def documents(store: Store, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The Convex documents of these `message_vectors` ids (as outbox keys); a missing id is absent."""
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        part = [int(i) for i in ids[start : start + 500] if i.isdigit()]
        if not part:
            continue
        try:
            rows = store.conn.execute(
                "SELECT id, key, chunk, thread_id, model, vector FROM message_vectors "
                f"WHERE id IN ({','.join('?' * len(part))})",
                part,
            ).fetchall()
        except sqlite3.OperationalError:  # a store without the vector tables has no such entries
            return out
        for vid, key, chunk, thread_id, model, blob in rows:
            vec = array.array("f")
            vec.frombytes(blob)
            out[str(vid)] = {
                "key": key,
                "chunk": chunk,
                "threadId": thread_id,
                "model": model,
                "vector": [round(x, DIGITS) for x in vec.tolist()],
            }
    return out


def all_ids(store: Store, size: int = 1000) -> Iterator[list[int]]:
    """Every `message_vectors` id, in lists of `size` (for a full resync)."""
    after = 0
    while True:
        try:
            rows = store.conn.execute(
                "SELECT id FROM message_vectors WHERE id > ? ORDER BY id LIMIT ?", (after, size)
            ).fetchall()
        except sqlite3.OperationalError:  # a store without the vector tables
            return
        if not rows:
            return
        ids = [int(r[0]) for r in rows]
        yield ids
        after = ids[-1]
