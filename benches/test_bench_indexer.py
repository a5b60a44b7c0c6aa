"""The indexer must not slow live mirroring: append-to-row latency while it embeds a backlog.

`oa-supervisor run --actors convex_writer,sessions_tailer,indexer` over a CODEX_HOME holding the
labelled sessions several times (distinct thread ids), so the indexer has minutes of embedding to
do; once it has committed its first batch, lines are appended to a fresh rollout one at a time and
the time until a read-only connection sees each row is taken (the method of
benches/test_bench_tailer.py's live latency). The same run with `OPENAGENTS_EMBEDDINGS=0` is the
baseline. The indexer's checkpoint before and after shows it was embedding during the measurement.

Plain pytest smoke-runs it (20 appends, the set once); `--benchmark-enable` runs 300 appends over
the set 4 times and writes `benches/results/indexer.json`. Goals (the tailer's): p50 < 10 ms,
p99 < 50 ms, printed as ratios.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from codex_corpus import session_meta_line
from measure import goal_line

from tests.support.semantic_sessions import load_sessions, write_rollouts
from tests.support.supervisor import Supervisor

RESULTS = Path(__file__).resolve().parent / "results" / "indexer.json"
GOAL_P50_MS, GOAL_P99_MS = 10.0, 50.0
SMOKE_APPENDS, FULL_APPENDS = 20, 300
SMOKE_COPIES, FULL_COPIES = 1, 4
WARMUP = 5
POLL = 0.0005


def _tailer_bench() -> Any:
    spec = importlib.util.spec_from_file_location(
        "_oa_bench_tailer", Path(__file__).with_name("test_bench_tailer.py")
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _checkpoint(db: sqlite3.Connection) -> int:
    try:
        row = db.execute("SELECT last_rowid FROM embed_checkpoint WHERE name = 'messages'").fetchone()
    except sqlite3.OperationalError:
        return 0
    return int(row[0]) if row else 0


def run(tmp: Path, appends: int, copies: int, embeddings: bool) -> dict[str, Any]:
    tb = _tailer_bench()
    env = {"OPENAGENTS_EMBEDDINGS": "1" if embeddings else "0", "CLAUDE_CONFIG_DIR": str(tmp / "claude")}
    sup = Supervisor(tmp, env=env, args=["--actors", "convex_writer,sessions_tailer,indexer"])
    sessions = [
        dataclasses.replace(s, thread_id=str(uuid.uuid4())) for _ in range(copies) for s in load_sessions()
    ]
    write_rollouts(sup.codex_home / "sessions", sessions)
    day = sup.codex_home / "sessions" / "2026" / "11" / "22"
    day.mkdir(parents=True, exist_ok=True)
    sup.start()
    try:
        store = sup.home / "store.sqlite3"
        deadline = time.monotonic() + 120
        while not store.exists():
            assert time.monotonic() < deadline
            time.sleep(0.1)
        db = sqlite3.connect(f"file:{store}?mode=ro", uri=True, isolation_level=None)
        if embeddings:  # measure while it embeds: after its first commit
            while _checkpoint(db) == 0:
                assert time.monotonic() < deadline, sup.log.read_text()[-3000:]
                time.sleep(0.1)
        start_cp = _checkpoint(db)
        tid = str(uuid.uuid4())
        path = day / f"rollout-2026-11-22T01-00-00-{tid}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.write(fd, session_meta_line(tid))
        last = db.execute("SELECT coalesce(max(rowid), 0) FROM messages").fetchone()[0]
        seen: list[float] = []
        i = -1
        until = time.monotonic() + 120
        # At least `appends`, and on until the indexer committed a batch meanwhile (it was working).
        while (i := i + 1) < appends + WARMUP or (
            embeddings and _checkpoint(db) == start_cp and time.monotonic() < until
        ):
            text = f"bench line {i} {uuid.uuid4().hex}"
            t0 = time.perf_counter()
            os.write(fd, tb._line(i, text))
            found = False
            while not found:
                for rowid, txt in db.execute("SELECT rowid, text FROM messages WHERE rowid > ?", (last,)):
                    last = max(last, rowid)
                    found = found or txt == text
                if not found:
                    assert time.perf_counter() - t0 < 30, f"append {i} not stored in 30 s"
                    time.sleep(POLL)
            if i >= WARMUP:
                seen.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.002)
        os.close(fd)
        end_cp = _checkpoint(db)
        backlog = sup.actor("indexer").get("health", {}).get("backlog")
        db.close()
        return {
            "embeddings": embeddings,
            "appends": len(seen),
            "sessions": len(sessions),
            "seen_ms": tb._summary(seen),
            "indexer_checkpoint": [start_cp, end_cp],
            "indexer_backlog_after": backlog,
            "load": tb._load(),
        }
    finally:
        sup.stop()


def test_bench_latency_while_indexing(benchmark: Any, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    full = bool(getattr(benchmark, "enabled", False))
    appends, copies = (FULL_APPENDS, FULL_COPIES) if full else (SMOKE_APPENDS, SMOKE_COPIES)
    on = benchmark.pedantic(run, args=(tmp_path / "on", appends, copies, True), rounds=1, iterations=1)
    off = run(tmp_path / "off", appends, copies, False)
    for label, res in (("indexer embedding", on), ("embeddings off", off)):
        s = res["seen_ms"]
        print(f"\n{label}: append-to-row, indexer checkpoint {res['indexer_checkpoint']}")
        print(goal_line("  p50", s["p50"], GOAL_P50_MS, "ms", higher_is_better=False))
        print(goal_line("  p99", s["p99"], GOAL_P99_MS, "ms", higher_is_better=False))
    # It did embed while the appends were measured (else the figure says nothing).
    assert on["indexer_checkpoint"][1] > on["indexer_checkpoint"][0]
    assert off["indexer_checkpoint"] == [0, 0]
    if full:
        RESULTS.write_text(json.dumps({"on": on, "off": off}, indent=2) + "\n")
