"""Runs in the local store: the runner's run states, and the thread -> agent session map."""

from __future__ import annotations

from typing import Any

from oa_actors.store.store import Store, now_ms

RUN_COLUMNS = (
    "runId",
    "threadDocId",
    "sessionId",
    "projectId",
    "provider",
    "status",
    "exitCode",
    "text",
    "error",
    "createdAt",
    "updatedAt",
)


def upsert_run(store: Store, run: dict[str, Any]) -> None:
    """Insert or update a run by `runId` (states only move forward in time: last update wins)."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO runs (run_id, thread_doc_id, thread_id, project_id, provider, status,"
            " exit_code, text, error, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(run_id) DO UPDATE SET thread_id = COALESCE(excluded.thread_id, thread_id),"
            " status = excluded.status, exit_code = excluded.exit_code, error = excluded.error,"
            " updated_at = excluded.updated_at",
            (
                run["runId"],
                run.get("threadDocId"),
                run.get("sessionId"),
                run.get("projectId"),
                run.get("provider") or "codex",
                run.get("status") or "pending",
                run.get("exitCode"),
                run.get("text"),
                run.get("error"),
                run.get("createdAt") or now_ms(),
                run.get("updatedAt") or now_ms(),
            ),
        )
        conn.execute("INSERT INTO outbox (tbl, key, op) VALUES ('runs', ?, 'upsert')", (run["runId"],))


def runs(store: Store, thread_doc_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    q = (
        "SELECT run_id, thread_doc_id, thread_id, project_id, provider, status, exit_code, text, error, "
        "created_at, updated_at FROM runs"
    )
    args: list[Any] = []
    if thread_doc_id is not None:
        q += " WHERE thread_doc_id = ?"
        args.append(thread_doc_id)
    q += " ORDER BY created_at DESC LIMIT ?"
    args.append(limit)
    return [dict(zip(RUN_COLUMNS, r, strict=True)) for r in store.conn.execute(q, args)]


def sessions(store: Store) -> dict[str, str]:
    """ "<provider>:<threadDocId>" -> the newest session id of that agent for that thread."""
    q = (
        "SELECT provider, thread_doc_id, thread_id FROM runs"
        " WHERE thread_id IS NOT NULL AND thread_doc_id IS NOT NULL"
        " ORDER BY updated_at"
    )
    return {f"{p}:{t}": s for p, t, s in store.conn.execute(q)}
