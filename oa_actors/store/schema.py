"""Schema of the local store and its forward migrations.

Each migration is a list of statements applied in one transaction, or a function of the store for a
step that must do more (it commits its own transactions and can be run again after an
interruption); `schema_version` records the last one applied. Never edit a released migration:
append a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from oa_actors.semantic import schema as vector_schema
from oa_actors.store import search_index

if TYPE_CHECKING:
    from oa_actors.store.store import Store

Migration = list[str] | Callable[["Store"], None]

MIGRATIONS: list[Migration] = [
    # 1: the initial schema.
    [
        """CREATE TABLE threads (
            thread_id TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            rollout_path TEXT,
            title TEXT,
            cwd TEXT,
            model TEXT,
            cli_version TEXT,
            git TEXT,
            parent_thread_id TEXT,
            created_at INTEGER,
            updated_at INTEGER,
            usage TEXT,
            stored_at INTEGER NOT NULL
        )""",
        "CREATE INDEX threads_by_updated ON threads(updated_at)",
        """CREATE TABLE messages (
            key TEXT PRIMARY KEY,
            thread_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            ts INTEGER,
            role TEXT NOT NULL,
            kind TEXT NOT NULL,
            text TEXT,
            data TEXT,
            turn_id TEXT,
            stored_at INTEGER NOT NULL
        )""",
        "CREATE INDEX messages_by_thread ON messages(thread_id, seq)",
        "CREATE INDEX messages_by_stored ON messages(stored_at)",
        """CREATE TABLE projects (
            id TEXT PRIMARY KEY,
            doc TEXT NOT NULL,
            path TEXT,
            updated_at INTEGER NOT NULL
        )""",
        """CREATE TABLE skills (
            uid TEXT PRIMARY KEY,
            skill_id TEXT NOT NULL,
            source TEXT NOT NULL,
            project_id TEXT,
            doc TEXT NOT NULL,
            path TEXT,
            updated_at INTEGER NOT NULL
        )""",
        "CREATE INDEX skills_by_scope ON skills(source, project_id)",
        """CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            thread_doc_id TEXT,
            thread_id TEXT,
            project_id TEXT,
            provider TEXT NOT NULL DEFAULT 'codex',
            status TEXT NOT NULL,
            exit_code INTEGER,
            text TEXT,
            error TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        )""",
        "CREATE INDEX runs_by_thread ON runs(thread_doc_id, created_at)",
        """CREATE TABLE tail_checkpoints (
            path TEXT PRIMARY KEY,
            offset INTEGER NOT NULL,
            snapshot BLOB,
            updated_at INTEGER NOT NULL
        )""",
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            tbl TEXT NOT NULL,
            key TEXT NOT NULL,
            op TEXT NOT NULL
        )""",
        """CREATE TABLE outbox_cursor (
            name TEXT PRIMARY KEY,
            last_id INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        )""",
        """CREATE TABLE quarantine (
            outbox_id INTEGER PRIMARY KEY,
            tbl TEXT NOT NULL,
            key TEXT NOT NULL,
            error TEXT NOT NULL,
            at INTEGER NOT NULL
        )""",
    ],
    # 2: nothing reads messages by `stored_at` (the drain looks rows up by key), and the index cost
    # every insert a random write (~8% of a backfill's store time).
    [
        "DROP INDEX IF EXISTS messages_by_stored",
    ],
    # -- full-text search (docs/search.md) ---------------------------------------------------------
    # 3: the FTS5 index of messages (oa_actors/store/search_index.py), built for the rows already
    # stored in chunks with progress; from here on Store.apply_batch indexes new rows in the same
    # transaction.
    search_index.migrate,
    # 4: the index's segments are merged when the writer is idle instead of inside every write
    # (search_index.AUTOMERGE, CRISISMERGE; about half of the index's cost in a backfill).
    search_index.DEFER_MERGES,
    # -- semantic search (docs/semantic.md) ----------------------------------------------------------
    # 5: message and thread vectors and the indexer's checkpoint (oa_actors/semantic/schema.py);
    # empty until the `indexer` actor embeds, so a store without the model only carries empty tables.
    list(vector_schema.SCHEMA),
    # -- backfill throughput (issue 15, docs/benchmarks.md) -----------------------------------------
    # 6: the full-text index buffers up to 16 MB of terms per transaction before writing a segment
    # (search_index.HASHSIZE): one segment per backfill transaction instead of several.
    search_index.BIGGER_HASH,
]

SCHEMA_VERSION = len(MIGRATIONS)
# The version from which a store has the full-text index (its position, so renumbering is safe).
SEARCH_VERSION = MIGRATIONS.index(search_index.migrate) + 1
# The version from which a store has the vector tables.
VECTORS_VERSION = next(i + 1 for i, m in enumerate(MIGRATIONS) if m == list(vector_schema.SCHEMA))
