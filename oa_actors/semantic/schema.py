"""The vector tables of the local store, as SQL only (no NumPy), so the store's migrations can name
them on an installation without the `semantic` extra.

- `message_vectors`: one row per embedded chunk of a message (`key`, `chunk`), with its thread,
  the model that made it and the float32 vector. `UNIQUE (key, chunk)`: never embedded twice.
- `thread_vectors`: per thread, the running float32 sum of its chunk vectors and their count (the
  thread vector is the normalized mean).
- `embed_checkpoint`: the `indexer`'s position, the rowid of the last message it has finished
  with; moved in the transaction that stores the batch's vectors (vector_store.commit_batch).
"""

from __future__ import annotations

# IF NOT EXISTS: a store whose version was set back (tests of older migrations) replays it safely.
SCHEMA: list[str] = [
    """CREATE TABLE IF NOT EXISTS message_vectors (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        chunk INTEGER NOT NULL,
        thread_id TEXT NOT NULL,
        model TEXT NOT NULL,
        vector BLOB NOT NULL,
        UNIQUE (key, chunk)
    )""",
    "CREATE INDEX IF NOT EXISTS message_vectors_by_thread ON message_vectors(thread_id)",
    """CREATE TABLE IF NOT EXISTS thread_vectors (
        thread_id TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        sum BLOB NOT NULL,
        count INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS embed_checkpoint (
        name TEXT PRIMARY KEY,
        last_rowid INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    )""",
]
# The outbox table name of message vectors mirrored to Convex (convex/embeddings.ts).
OUTBOX_TABLE = "embeddings"
# The HNSW graph of a large store's message vectors, in $OPENAGENTS_HOME (derived data: saved by the
# indexer, read by the CLI, rebuilt from the store when missing or damaged).
GRAPH_FILE = "vectors.usearch"
