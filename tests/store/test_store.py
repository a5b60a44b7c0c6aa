"""The local SQLite store: migrations, idempotent batches, merges, checkpoints, outbox, export."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from oa_actors.commands.parse import rows_of
from oa_actors.store import Store, StoreError
from oa_actors.store.schema import SCHEMA_VERSION
from tests.jsonl.corpus import CORPUS


def corpus_rows(name: str) -> tuple[list[dict], list[dict]]:
    path = next((CORPUS / "codex-0.169.0" / "sessions").rglob(f"*{name}*.jsonl"))
    rows, _ = rows_of(path)
    threads = [{k: v for k, v in r.items() if k != "table"} for r in rows if r["table"] == "threads"]
    messages = [{k: v for k, v in r.items() if k != "table"} for r in rows if r["table"] == "messages"]
    return threads, messages


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "store.sqlite3")
    yield s
    s.close()


def test_created_in_wal_mode_at_current_version(store: Store) -> None:
    assert store.version() == SCHEMA_VERSION
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()
    again = Store.open(store.path)  # reopening migrates nothing and keeps the version
    assert again.version() == SCHEMA_VERSION
    again.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = 999")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Store.open(path)


def test_batches_apply_exactly_once(store: Store) -> None:
    threads, messages = corpus_rows("8bc8")
    first = store.apply_batch(threads, messages, ("a.jsonl", 100, b"snap"))
    assert [m["key"] for m in first.messages] == [m["key"] for m in messages]
    assert first.threads[0]["threadId"] == threads[0]["threadId"]
    again = store.apply_batch(threads, messages, ("a.jsonl", 100, b"snap"))
    assert again.messages == []
    assert store.count("messages") == len(messages)
    assert store.count("threads") == 1
    assert store.checkpoint("a.jsonl") == (100, b"snap")
    stored = store.messages_for_thread(threads[0]["threadId"])
    assert stored == messages  # round trip keeps every field, data included


def test_duplicate_keys_inside_one_batch(store: Store) -> None:
    _, messages = corpus_rows("8bc8")
    applied = store.apply_batch([], messages + messages)
    assert len(applied.messages) == len(messages) == store.count("messages")
    assert store.count("threads") == 1  # the thread exists even before its row arrives


def test_a_partly_new_batch_inserts_only_new_rows_and_indexes_them_at_their_rowids(store: Store) -> None:
    # One probe of the key index (INSERT OR IGNORE): rows already stored and later copies inside
    # the batch leave gaps in the rowids; the search index and the outbox follow the real rowids.
    _, messages = corpus_rows("8bc8")
    base = [m for m in messages if m["kind"] != "context"][:6]
    rows = [{**m, "key": f"{i:032x}", "text": f"uniqueword{i} here"} for i, m in enumerate(base)]
    store.apply_batch([], [rows[0], rows[2]])
    batch = [rows[0], rows[1], rows[2], {**rows[1], "text": "a later copy"}, rows[3], rows[4]]
    applied = store.apply_batch([], batch)
    assert [m["key"] for m in applied.messages] == [rows[i]["key"] for i in (1, 3, 4)]
    assert store.count("messages") == 5
    for i, m in enumerate(rows[:5]):
        hit = store.conn.execute(
            "SELECT m.key, m.text FROM messages_fts f JOIN messages m ON m.rowid = f.rowid"
            " WHERE messages_fts MATCH ?",
            (f"uniqueword{i}",),
        ).fetchall()
        assert hit == [(m["key"], m["text"])]  # the first copy won, indexed at its own rowid
    assert store.conn.execute("SELECT COUNT(*) FROM messages_fts_docsize").fetchone()[0] == 5
    keys = [k for _, t, k, _ in store.outbox_after(0, 100) if t == "messages"]
    assert keys == [rows[i]["key"] for i in (0, 2, 1, 3, 4)]
    assert store.apply_batch([], batch).messages == []  # re-applied: nothing new, nothing indexed
    assert store.conn.execute("SELECT COUNT(*) FROM messages_fts_docsize").fetchone()[0] == 5


def test_thread_merge_keeps_known_fields(store: Store) -> None:
    store.apply_batch(
        [
            {
                "threadId": "t",
                "source": "codex",
                "title": "first",
                "model": "m1",
                "createdAt": 5,
                "updatedAt": 10,
            }
        ]
    )
    store.apply_batch(
        [{"threadId": "t", "source": "codex", "title": None, "model": "m2", "createdAt": 7, "updatedAt": 8}]
    )
    t = store.thread("t")
    assert t is not None
    assert (t["title"], t["model"], t["createdAt"], t["updatedAt"]) == ("first", "m2", 5, 10)


def test_a_failed_batch_leaves_nothing(store: Store) -> None:
    _, messages = corpus_rows("8bc8")
    bad = [*messages[:2], {"threadId": "x", "key": "k"}]  # missing columns: the insert fails
    with pytest.raises(KeyError):
        store.apply_batch([], bad, ("a.jsonl", 50, None))
    assert store.count("messages") == 0 and store.checkpoint("a.jsonl") is None and store.count("outbox") == 0


def test_a_row_the_constraints_reject_fails_the_batch_instead_of_vanishing(store: Store) -> None:
    """The insert skips duplicates (OR IGNORE), which would also skip a row with a NULL in a NOT
    NULL column; such a row must fail its batch (nothing committed), never be dropped silently."""
    _, messages = corpus_rows("8bc8")
    store.apply_batch([], messages[:1])
    bad = {**messages[2], "role": None}
    for batch in ([messages[0], bad], [bad], [messages[1], bad]):  # with and without duplicates
        with pytest.raises(sqlite3.IntegrityError, match="rejected"):
            store.apply_batch([], batch, ("a.jsonl", 50, None))
        assert store.count("messages") == 1 and store.checkpoint("a.jsonl") is None


def test_outbox_records_each_change_once(store: Store) -> None:
    threads, messages = corpus_rows("8bc8")
    store.apply_batch(threads, messages)
    store.apply_batch(threads, messages)
    entries = store.outbox_after(0, 10_000)
    assert [k for _, t, k, _ in entries if t == "messages"] == [m["key"] for m in messages]
    assert [k for _, t, k, _ in entries if t == "threads"] == [threads[0]["threadId"]] * 2
    assert store.outbox_cursor() == 0
    store.set_outbox_cursor(entries[3][0])
    assert store.outbox_cursor() == entries[3][0]
    assert store.outbox_after(entries[3][0])[0][0] == entries[4][0]


def test_readonly_connection_cannot_write(store: Store) -> None:
    threads, messages = corpus_rows("8bc8")
    store.apply_batch(threads, messages)
    ro = Store.open(store.path, readonly=True)
    assert ro.count("messages") == len(messages)
    with pytest.raises(StoreError):
        ro.apply_batch(threads, messages)
    with pytest.raises(sqlite3.OperationalError):
        ro.conn.execute("DELETE FROM messages")
    ro.close()


def test_export_matches_parse_output(store: Store) -> None:
    path = next((CORPUS / "codex-0.169.0" / "sessions").rglob("*a067*.jsonl"))
    rows, _ = rows_of(path)
    threads = [{k: v for k, v in r.items() if k != "table"} for r in rows if r["table"] == "threads"]
    messages = [{k: v for k, v in r.items() if k != "table"} for r in rows if r["table"] == "messages"]
    store.apply_batch(threads, messages)
    assert list(store.export()) == rows
    assert list(store.export(thread_id="nope")) == []
    late = max(m["ts"] for m in messages)
    assert [r["ts"] for r in store.export(since_ms=late) if r["table"] == "messages"] == [late]


def test_thread_pages_newest_first(store: Store) -> None:
    for i in range(5):
        store.apply_batch([{"threadId": f"t{i}", "source": "codex", "updatedAt": i * 10}])
    page = store.threads(limit=2)
    assert [t["threadId"] for t in page] == ["t4", "t3"]
    assert [t["threadId"] for t in store.threads(limit=10, before_updated=30)] == ["t2", "t1", "t0"]


def test_one_batch_commits_several_checkpoints(store: Store) -> None:
    threads, messages = corpus_rows("8bc8")
    half = len(messages) // 2
    applied = store.apply_batch(
        threads, messages, checkpoints=[("a.jsonl", 10, b"a1"), ("b.jsonl", 20, None), ("a.jsonl", 30, b"a2")]
    )
    assert len(applied.messages) == len(messages)
    assert store.checkpoint("a.jsonl") == (30, b"a2") and store.checkpoint("b.jsonl") == (20, None)
    # A failure commits none of them.
    with pytest.raises(KeyError):
        store.apply_batch([], [*messages[:half], {"key": "broken"}], checkpoints=[("c.jsonl", 5, None)])
    assert store.checkpoint("c.jsonl") is None


def test_unused_stored_at_index_is_dropped(store: Store) -> None:
    names = {n for (n,) in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "messages_by_stored" not in names and "messages_by_thread" in names


def test_background_checkpoint_truncates_the_wal_when_quiet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    import oa_actors.store.store as store_mod

    monkeypatch.setattr(store_mod, "WAL_IDLE_BYTES", 1)
    monkeypatch.setattr(store_mod, "BACKGROUND_CHECKPOINT_SECONDS", 0.05)
    s = Store.open(tmp_path / "s.sqlite3")
    try:
        threads, messages = corpus_rows("8bc8")
        s.apply_batch(threads, messages, ("a.jsonl", 100, b"snap"))
        wal = tmp_path / "s.sqlite3-wal"
        deadline = time.monotonic() + 10
        while wal.stat().st_size > 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert wal.stat().st_size == 0
        assert s.count("messages") == len(messages) and s.checkpoint("a.jsonl") == (100, b"snap")
    finally:
        s.close()
    again = Store.open(tmp_path / "s.sqlite3")
    assert again.count("messages") == len(messages)
    again.close()


def test_run_states_and_the_session_map(store: Store) -> None:
    from oa_actors.store import runs_table

    base = {"threadDocId": "T", "text": "hi", "createdAt": 1, "updatedAt": 1}
    runs_table.upsert_run(
        store, {**base, "runId": "r1", "provider": "codex", "status": "running", "sessionId": "s-codex"}
    )
    runs_table.upsert_run(
        store, {**base, "runId": "r1", "provider": "codex", "status": "done", "exitCode": 0, "updatedAt": 2}
    )
    runs_table.upsert_run(
        store,
        {
            **base,
            "runId": "r2",
            "provider": "claude",
            "status": "done",
            "sessionId": "s-claude",
            "updatedAt": 3,
        },
    )
    (r1,) = [r for r in runs_table.runs(store, "T") if r["runId"] == "r1"]
    assert (r1["status"], r1["exitCode"], r1["sessionId"]) == (
        "done",
        0,
        "s-codex",
    )  # a later update keeps the session
    assert runs_table.sessions(store) == {"codex:T": "s-codex", "claude:T": "s-claude"}
