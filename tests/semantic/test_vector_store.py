"""Vectors in the store: committed with the checkpoint (kill -9 loses and duplicates nothing), thread
vectors as normalized means, and indexes rebuilt or topped up from the store."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from oa_actors.semantic.chunking import Chunk
from oa_actors.semantic.vector_store import (
    ThreadVectors,
    build_message_index,
    checkpoint,
    commit_batch,
    create_schema,
    rank_threads_by_messages,
    search_messages,
    top_up,
)
from oa_actors.semantic.vectors import VectorIndex, normalize
from tests.semantic.crash_writer import DIM, chunks_of, fake_vector

ROOT = Path(__file__).resolve().parents[2]


def make_store(path: Path, messages: int, threads: int = 7) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE messages (key TEXT PRIMARY KEY, thread_id TEXT NOT NULL, text TEXT)")
    create_schema(conn)
    with conn:
        conn.executemany(
            "INSERT INTO messages (key, thread_id, text) VALUES (?,?,?)",
            [(f"k{i:06d}", f"t{i % threads}", f"message {i}") for i in range(messages)],
        )
    return conn


def check_consistent(conn: sqlite3.Connection) -> int:
    """Every message up to the checkpoint has all its vectors, none after it has any, none twice, and
    each thread's sum is the sum of its vectors. Returns the checkpoint."""
    done = checkpoint(conn)
    expected = {
        (c.key, c.index)
        for rowid, key, thread in conn.execute(
            "SELECT rowid, key, thread_id FROM messages WHERE rowid <= ?", (done,)
        )
        for c in chunks_of(key, thread, rowid)
    }
    stored = conn.execute("SELECT key, chunk, vector, thread_id FROM message_vectors").fetchall()
    assert len(stored) == len({(k, c) for k, c, _, _ in stored}), "duplicate vectors"
    assert {(k, c) for k, c, _, _ in stored} == expected
    sums: dict[str, np.ndarray] = {}
    for key, chunk, blob, thread in stored:
        v = np.frombuffer(blob, dtype=np.float32)
        assert np.allclose(v, fake_vector(key, chunk))
        sums[thread] = sums.get(thread, 0) + v
    for thread, blob, count in conn.execute("SELECT thread_id, sum, count FROM thread_vectors"):
        assert np.allclose(np.frombuffer(blob, dtype=np.float32), sums[thread], atol=1e-4)
        assert count == sum(1 for s in stored if s[3] == thread)
    return done


@pytest.mark.slow
def test_kill_9_mid_batch_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite3"
    total = 3000
    make_store(db, total).close()
    rng = random.Random(5)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    kills = 0
    progress = []
    watcher = sqlite3.connect(db)
    while True:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.semantic.crash_writer", str(db), "100"], env=env
        )
        # Kill it at a random moment after it has committed at least one more batch: often inside
        # the next batch's transaction, sometimes between two.
        start = checkpoint(watcher)
        while child.poll() is None and checkpoint(watcher) == start:
            time.sleep(0.001)
        time.sleep(rng.uniform(0, 0.03))
        if child.poll() is not None:
            assert child.returncode == 0
            break
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        kills += 1
        conn = sqlite3.connect(db)
        progress.append(check_consistent(conn))
        conn.close()
    watcher.close()
    conn = sqlite3.connect(db)
    assert check_consistent(conn) == total
    assert kills >= 5, kills
    assert progress == sorted(progress)


def unit(seed: int) -> np.ndarray:
    return normalize(np.random.default_rng(seed).standard_normal(DIM))[0]


def test_commit_batch_is_idempotent_and_keeps_thread_means(tmp_path: Path) -> None:
    conn = make_store(tmp_path / "s.sqlite3", 0)
    chunks = [Chunk("a", "t1", 0, "x"), Chunk("a", "t1", 1, "y"), Chunk("b", "t2", 0, "z")]
    vecs = np.stack([unit(1), unit(2), unit(3)])
    assert commit_batch(conn, chunks, vecs, 10, "m") == 3
    assert checkpoint(conn) == 10
    assert commit_batch(conn, chunks[:2], vecs[:2], 12, "m") == 0  # already stored: skipped
    assert checkpoint(conn) == 12
    threads = ThreadVectors(conn, DIM)
    t1 = threads.vector("t1")
    assert t1 is not None and np.allclose(t1, normalize(vecs[0] + vecs[1])[0], atol=1e-6)
    assert threads.vector("missing") is None
    with pytest.raises(ValueError):
        commit_batch(conn, chunks, vecs[:2], 13, "m")


def test_similar_threads_and_message_search(tmp_path: Path) -> None:
    conn = make_store(tmp_path / "s.sqlite3", 0)
    base = {t: unit(100 + t) for t in range(6)}
    chunks, vecs = [], []
    for t in range(6):
        for i in range(4):
            chunks.append(Chunk(f"k{t}-{i}", f"t{t}", 0, ""))
            vecs.append(normalize(base[t] + 0.3 * unit(t * 10 + i))[0])
    # Thread 5 is about the same thing as thread 0.
    vecs[20:24] = [normalize(base[0] + 0.3 * unit(900 + i))[0] for i in range(4)]
    commit_batch(conn, chunks, np.stack(vecs), 1, "m")
    threads = ThreadVectors(conn, DIM)
    similar = threads.similar("t0", 3)
    assert similar[0][0] == "t5" and "t0" not in [t for t, _ in similar]
    with pytest.raises(KeyError):
        threads.similar("nope")
    index = build_message_index(conn, DIM)
    hits = search_messages(index, conn, base[3], 4)
    assert {h.thread_id for h in hits} == {"t3"}
    assert rank_threads_by_messages(hits)[0][0] == "t3"


def test_top_up_adds_only_new_vectors(tmp_path: Path) -> None:
    conn = make_store(tmp_path / "s.sqlite3", 0)
    commit_batch(
        conn, [Chunk(f"k{i}", "t", 0, "") for i in range(5)], np.stack([unit(i) for i in range(5)]), 5, "m"
    )
    index = VectorIndex(DIM)
    assert top_up(index, conn) == 5
    commit_batch(
        conn,
        [Chunk(f"k{i}", "t", 0, "") for i in range(5, 8)],
        np.stack([unit(i) for i in range(5, 8)]),
        8,
        "m",
    )
    assert top_up(index, conn) == 3 and len(index) == 8
    assert top_up(index, conn) == 0
