"""Runs the labelled quality set end to end and scores each search method (tests and benches).

Sessions -> rollouts -> the real parser's rows -> chunks -> embeddings -> the vector store; then each
paraphrased query ranks the threads. Methods: `thread` (query vs thread vectors), `message` (best
chunk per thread), `keyword` (SQLite FTS5 over the same embedded texts, OR of the query's words: a
preview until the keyword search branch lands) and `hybrid` (reciprocal rank fusion of keyword and
message rankings). `keyword` matches all of the query's words (FTS5's default AND), `keyword-or`
any of them, with `hybrid-or` its fusion.
"""

from __future__ import annotations

import re
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oa_actors.commands.parse import rows_of
from oa_actors.semantic.chunking import Chunk, chunk_row
from oa_actors.semantic.vector_store import (
    ThreadVectors,
    build_message_index,
    commit_batch,
    create_schema,
    rank_threads_by_messages,
    search_messages,
)
from oa_actors.semantic.vectors import reciprocal_rank_fusion
from tests.support.semantic_sessions import STOP_WORDS, LabelledSession, load_sessions, write_rollouts

METHODS = ("keyword", "keyword-or", "thread", "message", "hybrid", "hybrid-or")


@dataclass(frozen=True)
class Scores:
    """Mean reciprocal rank and top-3 hit rate of one method on one split."""

    mrr: float
    top3: float
    n: int


def _metrics(ranks: list[int | None]) -> Scores:
    rr = [1.0 / r if r else 0.0 for r in ranks]
    return Scores(sum(rr) / len(ranks), sum(1 for r in ranks if r and r <= 3) / len(ranks), len(ranks))


def _rank(ranking: list[str], target: str) -> int | None:
    return ranking.index(target) + 1 if target in ranking else None


def evaluate(embedder: Any, sessions: list[LabelledSession] | None = None) -> dict[str, dict[str, Scores]]:
    """{method: {"all" | "tune" | "holdout": Scores}} for the labelled set with this embedder."""
    sessions = sessions or load_sessions()
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_rollouts(Path(tmp) / "sessions", sessions)
        conn = sqlite3.connect(Path(tmp) / "store.sqlite3")
        create_schema(conn)
        conn.execute("CREATE VIRTUAL TABLE fts USING fts5(thread_id UNINDEXED, text)")
        chunks: list[Chunk] = []
        for p in paths:
            rows, _ = rows_of(p)
            for row in rows:
                if row["table"] == "messages":
                    chunks.extend(chunk_row(row, embedder.tokenizer))
        vectors = embedder.embed([c.text for c in chunks])
        commit_batch(conn, chunks, vectors, 1, embedder.model_id)
        with conn:
            conn.executemany(
                "INSERT INTO fts (thread_id, text) VALUES (?, ?)", [(c.thread_id, c.text) for c in chunks]
            )
        threads = ThreadVectors(conn, embedder.dim)
        messages = build_message_index(conn, embedder.dim)
        queries = embedder.embed([s.query for s in sessions])
        ranks: dict[str, list[tuple[str, int | None]]] = {m: [] for m in METHODS}
        for s, q in zip(sessions, queries, strict=True):
            by_thread = [t for t, _ in threads.search(q, len(sessions))]
            by_message = [t for t, _ in rank_threads_by_messages(search_messages(messages, conn, q, 200))]
            keyword = _keyword(conn, s.query, len(sessions), " AND ")
            keyword_or = _keyword(conn, s.query, len(sessions), " OR ")
            hybrid = [t for t, _ in reciprocal_rank_fusion([keyword, by_message])]
            hybrid_or = [t for t, _ in reciprocal_rank_fusion([keyword_or, by_message])]
            for method, ranking in (
                ("thread", by_thread),
                ("message", by_message),
                ("keyword", keyword),
                ("keyword-or", keyword_or),
                ("hybrid", hybrid),
                ("hybrid-or", hybrid_or),
            ):
                ranks[method].append((s.split, _rank(ranking, s.thread_id)))
        conn.close()
    out: dict[str, dict[str, Scores]] = {}
    for method, rs in ranks.items():
        out[method] = {"all": _metrics([r for _, r in rs])}
        for split in ("tune", "holdout"):
            out[method][split] = _metrics([r for sp, r in rs if sp == split])
    return out


def _keyword(conn: sqlite3.Connection, query: str, k: int, joiner: str) -> list[str]:
    words = [w for w in re.findall(r"[a-z0-9]+", query.lower()) if w not in STOP_WORDS]
    if not words:
        return []
    match = joiner.join(f'"{w}"' for w in words)
    rows = conn.execute(
        "SELECT thread_id, min(rank) AS r FROM fts WHERE fts MATCH ? GROUP BY thread_id ORDER BY r LIMIT ?",
        (match, k),
    ).fetchall()
    return [str(r[0]) for r in rows]


def table(results: dict[str, dict[str, Scores]]) -> str:
    """The scores as aligned text lines (for bench output and test failure messages)."""
    lines = [f"{'method':10} {'split':8} {'MRR':>6} {'top-3':>6} {'n':>3}"]
    for method, splits in results.items():
        for split, s in splits.items():
            lines.append(f"{method:10} {split:8} {s.mrr:6.3f} {s.top3:6.3f} {s.n:3d}")
    return "\n".join(lines)
