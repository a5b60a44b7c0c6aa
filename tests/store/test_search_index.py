"""The search index beside the rows: same transaction, migration of existing stores, resume."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from oa_actors.store import Store, search_index, search_text
from oa_actors.store.schema import MIGRATIONS, SCHEMA_VERSION, SEARCH_VERSION
from oa_actors.store.search import SearchError, SearchQuery, search
from tests.store.test_search import msg, thread
from tests.support.search_checks import index_mismatch


def batch(n: int, start: int = 0, tid: str = "t") -> list[dict[str, Any]]:
    kinds = ["message", "cmd", "context", "reason"]
    return [msg(tid, i, f"word{i} common", kind=kinds[i % 4]) for i in range(start, start + n)]


def test_index_follows_every_batch_and_skips_context(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite3", background_checkpoint=False) as s:
        s.apply_batch([thread("t")], batch(40))
        s.apply_batch([thread("t")], batch(40) + batch(20, start=40))  # a replay plus new rows
        missing, extra, checked = index_mismatch(s.conn)
        assert (missing, extra, checked) == (set(), set(), 45)
        assert not search(s, SearchQuery("word2")).hits  # seq 2 is context: not indexed
        assert [h.seq for h in search(s, SearchQuery("word41")).hits] == [41]


def test_a_failed_batch_leaves_neither_rows_nor_index(tmp_path: Path, monkeypatch: Any) -> None:
    with Store.open(tmp_path / "s.sqlite3", background_checkpoint=False) as s:
        s.apply_batch([thread("t")], batch(10))

        def boom(conn: sqlite3.Connection, fresh: list[dict[str, Any]]) -> None:
            raise RuntimeError("disk gone")

        monkeypatch.setattr(search_index, "index_messages", boom)
        with pytest.raises(RuntimeError):
            s.apply_batch([], batch(10, start=10))
        assert s.count("messages") == 10
        assert index_mismatch(s.conn)[:2] == (set(), set())


def _old_store(path: Path, n: int) -> None:
    """A store as the version before search left it: rows, no index, schema version below it."""
    with Store.open(path, background_checkpoint=False) as s:
        s.apply_batch([thread("t")], batch(n))
        with s.transaction():
            s.conn.execute(f"DROP TABLE {search_index.TABLE}")
            s.conn.execute("UPDATE schema_version SET version = ?", (SEARCH_VERSION - 1,))


def test_migration_indexes_existing_rows_with_progress(
    tmp_path: Path, monkeypatch: Any, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "s.sqlite3"
    _old_store(path, 1000)
    monkeypatch.setattr(search_index, "MIGRATION_CHUNK", 64)
    monkeypatch.setattr(search_index, "PROGRESS_SECONDS", 0.0)
    with caplog.at_level(logging.INFO, logger="oa.store.search"), Store.open(path) as s:
        assert s.version() == SCHEMA_VERSION
        assert index_mismatch(s.conn) == (set(), set(), 750)
        assert [h.seq for h in search(s, SearchQuery("word999")).hits] == [999]
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "building the search index for 1000 stored messages"
    assert any("/1000 messages (" in line and "left" in line for line in lines)
    assert lines[-1].startswith("search index built: 1000 messages")


def test_an_interrupted_migration_resumes_where_it_stopped(tmp_path: Path, monkeypatch: Any) -> None:
    path = tmp_path / "s.sqlite3"
    _old_store(path, 500)
    monkeypatch.setattr(search_index, "MIGRATION_CHUNK", 100)
    real = search_index._rows
    calls = {"n": 0}

    def crash_on_third(rows: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the process stops in the middle of the migration
        return real(rows)

    monkeypatch.setattr(search_index, "_rows", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        Store.open(path)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == SEARCH_VERSION - 1
    assert conn.execute(f"SELECT COUNT(*) FROM {search_index.TABLE}").fetchone()[0] == 150  # two chunks
    conn.close()
    monkeypatch.setattr(search_index, "_rows", real)
    with Store.open(path) as s:
        assert s.version() == SCHEMA_VERSION
        assert index_mismatch(s.conn) == (set(), set(), 375)


def test_read_only_search_of_a_store_being_migrated_says_so(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    _old_store(path, 10)
    with Store.open(path, readonly=True) as ro, pytest.raises(SearchError, match="no search index yet"):
        search(ro, SearchQuery("word1"))


def test_too_old_sqlite_is_a_clear_error(monkeypatch: Any) -> None:
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 20, 0))
    with pytest.raises(RuntimeError, match="too old for full-text search"):
        search_index.check_sqlite()


def test_sqlite_without_fts5_is_a_clear_error(monkeypatch: Any) -> None:
    monkeypatch.setattr(search_index, "CREATE_TABLE", "CREATE VIRTUAL TABLE t USING nosuchmodule(x)")
    with pytest.raises(RuntimeError, match="needs FTS5"):
        search_index.check_sqlite()


def _segments(conn: sqlite3.Connection) -> int:
    """How many segments the index holds (each has at least one row in FTS5's `_idx` table)."""
    return int(conn.execute(f"SELECT COUNT(DISTINCT segid) FROM {search_index.TABLE}_idx").fetchone()[0])


def test_writes_do_not_merge_and_idle_merges_keep_every_hit(tmp_path: Path) -> None:
    """Automerge is off and crisis merges wait for 64 segments (migration 4): each batch
    adds a segment; `merge_index` steps then merge
    them down, and every query finds the same rows before and after."""
    with Store.open(tmp_path / "s.sqlite3", background_checkpoint=False) as s:
        config = dict(s.conn.execute(f"SELECT k, v FROM {search_index.TABLE}_config").fetchall())
        assert (config["automerge"], config["crisismerge"]) == (0, search_index.CRISISMERGE)
        for i in range(20):  # past FTS5's default crisis merge (16 segments on a level)
            s.apply_batch([thread("t")], batch(12, start=12 * i))
        before = _segments(s.conn)
        assert before == 20
        hits = {
            q: [h.seq for h in search(s, SearchQuery(q, limit=200)).hits]
            for q in ("common", "word7", "word233")
        }
        steps = 0
        while s.merge_index(pages=4):
            steps += 1
            assert steps < 10_000
        assert steps >= 1
        assert _segments(s.conn) < before
        assert not s.merge_index()  # nothing left to do
        after = {q: [h.seq for h in search(s, SearchQuery(q, limit=200)).hits] for q in hits}
        assert after == hits and len(hits["common"]) == 180
        assert index_mismatch(s.conn)[:2] == (set(), set())


def test_index_columns_from_the_tailer_index_like_the_writers_own(tmp_path: Path) -> None:
    """`RowBatch.fts` (computed by the tailer) gives the same index as the writer computing it;
    a batch whose entries do not line up with its messages is indexed by the writer."""
    rows = [
        *batch(30),
        msg("t", 100, "数据库迁移 ✅", kind="message"),
        msg("t", 101, None, kind="cmd", data={"command": "make migrate", "output": "ok 数据"}),
        msg("t", 102, "ls", kind="cmd", data={"command": "ls", "output": "README.md"}),
    ]
    entries = [search_text.index_entry(m) for m in rows]
    assert entries[0] is not None and entries[0][0] is None  # its own text: not carried twice
    assert entries[2] is None  # context is not indexed
    results = []
    for name, fts in (("writer", []), ("tailer", entries), ("misaligned", entries[:-1])):
        with Store.open(tmp_path / f"{name}.sqlite3", background_checkpoint=False) as s:
            s.apply_batch([thread("t")], rows, fts=fts)
            s.apply_batch([thread("t")], rows, fts=fts)  # a replay indexes nothing twice
            assert index_mismatch(s.conn)[:2] == (set(), set())
            results.append(
                {
                    q: [h.seq for h in search(s, SearchQuery(q)).hits]
                    for q in ("数据", "migrate", "✅", "word5", "README")
                }
            )
    assert results[0] == results[1] == results[2]
    assert results[0]["数据"] == [101, 100] or sorted(results[0]["数据"]) == [100, 101]
    assert results[0]["README"] == [102]


def test_a_store_of_the_previous_version_gets_the_bigger_pending_hash(tmp_path: Path) -> None:
    # Migration 6 (issue 15): FTS5's pending-terms hash of 16 MB, kept in the index's own config.
    path = tmp_path / "s.sqlite3"
    version = MIGRATIONS.index(search_index.BIGGER_HASH)  # the version just before it
    with Store.open(path, background_checkpoint=False) as s:
        s.apply_batch([thread("t")], batch(40))
        with s.transaction():
            s.conn.execute(f"DELETE FROM {search_index.TABLE}_config WHERE k = 'hashsize'")
            s.conn.execute("UPDATE schema_version SET version = ?", (version,))
    conn = sqlite3.connect(path)
    assert conn.execute(f"SELECT v FROM {search_index.TABLE}_config WHERE k = 'hashsize'").fetchone() is None
    conn.close()
    with Store.open(path) as s:
        assert s.version() == SCHEMA_VERSION > version
        config = dict(s.conn.execute(f"SELECT k, v FROM {search_index.TABLE}_config"))
        assert config["hashsize"] == search_index.HASHSIZE
        assert config["crisismerge"] == search_index.CRISISMERGE  # the earlier steps stay
        s.apply_batch([thread("t")], batch(20, start=40))
        assert index_mismatch(s.conn) == (set(), set(), 45)
        assert [h.seq for h in search(s, SearchQuery("word41")).hits] == [41]
