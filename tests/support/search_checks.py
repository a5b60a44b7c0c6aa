"""Checks shared by the search tests: the index holds exactly the stored rows it should."""

from __future__ import annotations

import sqlite3

from oa_actors.store.search_index import TABLE
from oa_actors.store.search_text import UNINDEXED_KINDS


def index_mismatch(conn: sqlite3.Connection) -> tuple[set[int], set[int], int]:
    """(rows stored but not searchable, rows searchable but not stored, rows checked), read in one
    transaction so a writer committing meanwhile cannot make them disagree."""
    conn.execute("BEGIN")
    try:
        skip = ",".join("?" * len(UNINDEXED_KINDS))
        stored = {
            r
            for (r,) in conn.execute(
                f"SELECT rowid FROM messages WHERE kind NOT IN ({skip})", tuple(UNINDEXED_KINDS)
            )
        }
        indexed = [r for (r,) in conn.execute(f"SELECT rowid FROM {TABLE}")]
    finally:
        conn.execute("COMMIT")
    assert len(indexed) == len(set(indexed)), "a row is indexed twice"
    return stored - set(indexed), set(indexed) - stored, len(stored)
