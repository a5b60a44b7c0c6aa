"""Projects and skills in the local store (rows from the FS syncer, docs/fs.md).

Upserts and removals are applied in one transaction and queued in the outbox, so Convex follows,
deletions included.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from oa_actors.store.store import Store, now_ms

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def apply_fs(
    store: Store,
    project_upserts: Iterable[tuple[dict[str, Any], str | None]] = (),
    project_removals: Iterable[str] = (),
    skill_upserts: Iterable[tuple[str, dict[str, Any], str | None]] = (),
    skill_removals: Iterable[str] = (),
) -> int:
    """Apply FS changes: projects by `id`, skills by uid (`skill:<source>:<projectId|->:<skillId>`)."""
    stamp = now_ms()
    n = 0
    with store.transaction() as conn:
        for row, path in project_upserts:
            conn.execute(
                "INSERT INTO projects (id, doc, path, updated_at) VALUES (?,?,?,?) "
                "ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, path = excluded.path,"
                " updated_at = excluded.updated_at",
                (row["id"], _encode(row), path, stamp),
            )
            conn.execute("INSERT INTO outbox (tbl, key, op) VALUES ('projects', ?, 'upsert')", (row["id"],))
            n += 1
        for pid in project_removals:
            conn.execute("DELETE FROM projects WHERE id = ?", (pid,))
            conn.execute("INSERT INTO outbox (tbl, key, op) VALUES ('projects', ?, 'delete')", (pid,))
            n += 1
        for uid, row, path in skill_upserts:
            conn.execute(
                "INSERT INTO skills (uid, skill_id, source, project_id, doc, path, updated_at)"
                " VALUES (?,?,?,?,?,?,?)"
                " ON CONFLICT(uid) DO UPDATE SET doc = excluded.doc, path = excluded.path,"
                " updated_at = excluded.updated_at",
                (uid, row["skillId"], row["source"], row.get("projectId"), _encode(row), path, stamp),
            )
            conn.execute("INSERT INTO outbox (tbl, key, op) VALUES ('skills', ?, 'upsert')", (uid,))
            n += 1
        for uid in skill_removals:
            conn.execute("DELETE FROM skills WHERE uid = ?", (uid,))
            conn.execute("INSERT INTO outbox (tbl, key, op) VALUES ('skills', ?, 'delete')", (uid,))
            n += 1
    return n


def projects(store: Store) -> list[dict[str, Any]]:
    return [_decode(d) for (d,) in store.conn.execute("SELECT doc FROM projects ORDER BY id")]


def project(store: Store, project_id: str) -> dict[str, Any] | None:
    row = store.conn.execute("SELECT doc FROM projects WHERE id = ?", (project_id,)).fetchone()
    return _decode(row[0]) if row else None


def project_paths(store: Store) -> dict[str, str]:
    return {pid: p for pid, p in store.conn.execute("SELECT id, path FROM projects WHERE path IS NOT NULL")}


def skills(store: Store, source: str | None = None, project_id: str | None = None) -> list[dict[str, Any]]:
    q = "SELECT doc FROM skills"
    args: list[Any] = []
    if source is not None:
        q += " WHERE source = ?" + (" AND project_id IS ?" if source == "project" else "")
        args.append(source)
        if source == "project":
            args.append(project_id)
    return [_decode(d) for (d,) in store.conn.execute(q + " ORDER BY uid", args)]


def skill(store: Store, uid: str) -> dict[str, Any] | None:
    row = store.conn.execute("SELECT doc FROM skills WHERE uid = ?", (uid,)).fetchone()
    return _decode(row[0]) if row else None


def parse_skill_uid(uid: str) -> tuple[str, str | None, str]:
    """(source, projectId or None, skillId) from `skill:<source>:<projectId|->:<skillId>`."""
    _, source, pid, skill_id = uid.split(":", 3)
    return source, (None if pid == "-" else pid), skill_id
