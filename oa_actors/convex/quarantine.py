"""Rows Convex refused: kept in the store's `quarantine` table, counted, and re-queued on demand.

A row lands here only when Convex refused that row itself (docs/convex.md, "Errors by class"); the
row stays in the local store either way. `requeue` puts every quarantined row back at the end of
the outbox (`oa-supervisor convex retry-quarantine`), for example after a deploy fixed a validator.
"""

from __future__ import annotations

from typing import Any

from oa_actors.store import Store
from oa_actors.store.store import now_ms


def add(store: Store, outbox_id: int, table: str, key: str, error: str) -> bool:
    """Record a refused row; False when that outbox entry was already quarantined (a resend)."""
    with store.transaction() as conn:
        known = conn.execute("SELECT 1 FROM quarantine WHERE outbox_id = ?", (outbox_id,)).fetchone()
        conn.execute(
            "INSERT OR REPLACE INTO quarantine (outbox_id, tbl, key, error, at) VALUES (?,?,?,?,?)",
            (outbox_id, table, key, error[:2000], now_ms()),
        )
    return known is None


def requeue(store: Store) -> int:
    """Move every quarantined row back into the outbox (one transaction); returns how many.

    Each gets a new outbox entry (`upsert`: the drain reads the row's current state from the store,
    so a project or skill deleted since is sent as a removal)."""
    with store.transaction() as conn:
        rows = conn.execute("SELECT tbl, key FROM quarantine ORDER BY outbox_id").fetchall()
        conn.executemany("INSERT INTO outbox (tbl, key, op) VALUES (?, ?, 'upsert')", rows)
        conn.execute("DELETE FROM quarantine")
    return len(rows)


def entries(store: Store, limit: int = 20) -> list[dict[str, Any]]:
    """The most recent quarantined rows: table, key, error and when (ms)."""
    q = "SELECT outbox_id, tbl, key, error, at FROM quarantine ORDER BY at DESC, outbox_id DESC LIMIT ?"
    return [
        {"outboxId": oid, "table": tbl, "key": key, "error": err, "at": at}
        for oid, tbl, key, err, at in store.conn.execute(q, (limit,))
    ]
