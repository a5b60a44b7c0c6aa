"""The indexer's step on a real store (migrated by `Store.open`) with the real model, and the
semantic/hybrid searcher and `similar` over what it stored.

Rows come from the labelled sessions through the real parser and `Store.apply_batch`, so the
store, its rowids and its outbox are the product's own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from oa_actors.commands.parse import rows_of
from oa_actors.semantic import query
from oa_actors.semantic.chunking import chunk_row
from oa_actors.semantic.indexing import Indexing, connect
from oa_actors.semantic.query import SemanticError, SemanticSearcher
from oa_actors.semantic.vector_store import checkpoint
from oa_actors.store import Store
from oa_actors.store.search import SearchQuery
from tests.support.semantic_sessions import load_sessions, write_rollouts


def fill(store: Store, paths: list[Path]) -> None:
    for p in paths:
        rows, _ = rows_of(p)
        msgs = [{k: v for k, v in r.items() if k != "table"} for r in rows if r["table"] == "messages"]
        threads = [{k: v for k, v in r.items() if k != "table"} for r in rows if r["table"] == "threads"]
        store.apply_batch(threads, msgs)


def expected_chunks(store: Store, tokenizer: Any) -> dict[tuple[str, int], str]:
    out = {}
    for key, thread, role, kind, text in store.conn.execute(
        "SELECT key, thread_id, role, kind, text FROM messages"
    ).fetchall():
        row = {"key": key, "threadId": thread, "role": role, "kind": kind, "text": text}
        for c in chunk_row(row, tokenizer):
            out[(c.key, c.index)] = c.thread_id
    return out


def assert_complete(store: Store, tokenizer: Any) -> None:
    """Every embeddable chunk has exactly one vector; thread sums equal the sum of their vectors."""
    want = expected_chunks(store, tokenizer)
    got = store.conn.execute("SELECT key, chunk, thread_id, vector FROM message_vectors").fetchall()
    keys = [(k, c) for k, c, _, _ in got]
    assert len(keys) == len(set(keys)), "a chunk was embedded twice"
    assert set(keys) == set(want), f"missing {len(set(want) - set(keys))}, extra {len(set(keys) - set(want))}"
    sums: dict[str, Any] = {}
    for _, _, thread, blob in got:
        sums[thread] = sums.get(thread, 0) + np.frombuffer(blob, dtype=np.float32)
    for thread, blob, count in store.conn.execute("SELECT thread_id, sum, count FROM thread_vectors"):
        assert count == sum(1 for _, _, t, _ in got if t == thread)
        assert np.allclose(np.frombuffer(blob, dtype=np.float32), sums[thread], atol=1e-4)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, embedder_int8: Any) -> tuple[Path, Any]:
    tmp = tmp_path_factory.mktemp("indexing")
    sessions = load_sessions()
    paths = write_rollouts(tmp / "sessions", sessions)
    path = tmp / "store.sqlite3"
    with Store.open(path) as store:
        fill(store, paths[: len(paths) // 2])
        conn = connect(path)
        indexing = Indexing(conn, embedder_int8, batch_chunks=8)
        before = indexing.backlog()
        assert before > 0
        steps = 0
        while indexing.step() is not None:
            steps += 1
        assert steps > 1 and indexing.backlog() == 0
        # Rows stored after the first pass are picked up from the checkpoint, nothing twice.
        fill(store, paths[len(paths) // 2 :])
        fill(store, paths)  # re-applied rows are not new rows: no new work
        while indexing.step() is not None:
            pass
        assert indexing.step() is None
        assert checkpoint(conn) == store.conn.execute("SELECT max(rowid) FROM messages").fetchone()[0]
        assert_complete(store, embedder_int8.tokenizer)
        vectors = store.conn.execute("SELECT count(*) FROM message_vectors").fetchone()[0]
        queued = store.conn.execute("SELECT count(*) FROM outbox WHERE tbl = 'embeddings'").fetchone()[0]
        assert queued == vectors  # each vector queued once for Convex, in its batch's transaction
        conn.close()
    return path, embedder_int8


def test_every_chunk_embedded_once_and_queued_for_convex(indexed: tuple[Path, Any]) -> None:
    path, embedder = indexed
    with Store.open(path, readonly=True) as store:
        assert_complete(store, embedder.tokenizer)


def test_semantic_and_hybrid_put_the_paraphrased_thread_on_top(indexed: tuple[Path, Any]) -> None:
    path, embedder = indexed
    sessions = load_sessions()
    searcher = SemanticSearcher.open(path, embedder)
    try:
        top3 = {"semantic": 0, "hybrid": 0}
        for s in sessions:
            for mode in top3:
                hits = searcher.search(SearchQuery(s.query, limit=20), mode).hits
                threads = list(dict.fromkeys(h.thread_id for h in hits))
                top3[mode] += s.thread_id in threads[:3]
        assert top3["semantic"] >= 0.75 * len(sessions), top3
        assert top3["hybrid"] >= 0.75 * len(sessions), top3
        page = searcher.search(SearchQuery(sessions[0].query, limit=2), "semantic")
        assert len(page.hits) == 2 and page.next_cursor is not None
        nxt = searcher.search(SearchQuery(sessions[0].query, limit=2, cursor=page.next_cursor), "semantic")
        assert {h.key for h in nxt.hits}.isdisjoint({h.key for h in page.hits})
        hit = page.hits[0].to_json()
        assert set(hit) == {"threadId", "key", "seq", "ts", "role", "kind", "source", "title", "cwd", "score",
                            "field", "snippet", "highlights"}  # fmt: skip
        only = searcher.search(SearchQuery(sessions[0].query, thread=sessions[1].thread_id), "semantic")
        assert only.hits and {h.thread_id for h in only.hits} == {sessions[1].thread_id}
        users = searcher.search(SearchQuery(sessions[0].query, roles=("user",)), "hybrid")
        assert users.hits and {h.role for h in users.hits} == {"user"}
        with pytest.raises(SemanticError):
            searcher.search(SearchQuery("x", cursor="garbage"), "semantic")
        with pytest.raises(SemanticError):
            searcher.search(SearchQuery("x", thread="no-such-thread"), "hybrid")
    finally:
        searcher.close()


def test_similar_threads(indexed: tuple[Path, Any]) -> None:
    path, embedder = indexed
    sessions = load_sessions()
    searcher = SemanticSearcher.open(path, embedder)
    try:
        found = searcher.similar(sessions[0].thread_id[:12], limit=5)
        assert found.thread_id == sessions[0].thread_id
        assert len(found.threads) == 5 and sessions[0].thread_id not in {t["threadId"] for t in found.threads}
        scores = [t["score"] for t in found.threads]
        assert scores == sorted(scores, reverse=True)
        with pytest.raises(SemanticError):
            searcher.similar("zzzz-not-a-thread")
    finally:
        searcher.close()


def test_a_large_store_uses_a_saved_hnsw_graph(
    indexed: tuple[Path, Any], tmp_path: Path, monkeypatch: Any
) -> None:
    """Above EXACT_MAX vectors (here 0) the index is HNSW: saved by `save_graph`, loaded (and topped
    up) by the next searcher, rebuilt when the file is damaged; answers match the exact index."""
    path, embedder = indexed
    sessions = load_sessions()
    exact = SemanticSearcher.open(path, embedder)
    monkeypatch.setattr(query, "EXACT_MAX", 0)
    graph = tmp_path / "vectors.usearch"
    built = SemanticSearcher.open(path, embedder, graph)
    try:
        assert built.index.kind == "hnsw" and exact.index.kind == "exact"
        assert len(built.index) == len(exact.index)
        assert built.save_graph(every=1) and graph.exists() and not built.save_graph(every=1)
        loaded, saved_max = query.message_index(built.store.conn, embedder.dim, graph)
        assert loaded.kind == "hnsw" and len(loaded) == len(exact.index) and saved_max == loaded.max_id
        graph.write_bytes(b"damaged")
        rebuilt, saved_max = query.message_index(built.store.conn, embedder.dim, graph)
        assert len(rebuilt) == len(exact.index) and saved_max == 0
        for s in sessions[:10]:
            q = SearchQuery(s.query, limit=5)
            assert [h.key for h in built.search(q, "semantic").hits] == [
                h.key for h in exact.search(q, "semantic").hits
            ]
    finally:
        built.close()
        exact.close()
