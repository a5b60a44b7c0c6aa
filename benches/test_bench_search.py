"""Full-text search benchmarks (issue 13): query latency on a store of 1,000,000 messages against a
plain LIKE scan, the index's cost to backfill throughput, and its size.

Plain `pytest` (benchmarks disabled) smoke-runs each body once on small inputs (20,000 messages,
the 20 MB sessions corpus). `--benchmark-enable` (or `OA_BENCH_SEARCH_MESSAGES`, `OA_BENCH_TAILER_MB`)
runs the full size; each test prints its targets as ratios beside their goals and records its
figures in `benches/results/search.json`.

Query latency
    A store of 1,000,000 messages (tests/support/search_corpus.bench_rows: the corpus's prose,
    commands with output, 5% Chinese/Japanese, 1% Arabic, 2% emoji, topic words at Zipf-like
    frequencies; 5,000 threads of codex and claude), built once through `Store.apply_batch` and
    cached under target/bench-search/ (the file name holds the generator, schema and index
    versions). Queries in five sets, drawn at random from what the store holds: single words (topic
    words and words of the prose: rare to common), phrases (two adjacent words of the prose),
    CJK (1 to 6 characters), other scripts (Arabic, emoji) and filtered (a word plus one filter:
    thread, agent, role, kind, project, last 30 days). Each query is one `search()` call of 20 hits
    with snippets, timed with perf_counter, in a read-only connection, after a warm-up. The LIKE
    baseline is `SELECT COUNT(*) FROM messages WHERE text LIKE '%term%'`, the scan any search without
    an index needs before it can rank (fewer queries: each reads the whole table).
Indexing cost
    The 1 GB (smoke: 20 MB) generated sessions of the tailer benchmark through the engine
    (TailerService + StoreSink in this process), with the index on and off (the index write replaced
    by a no-op: benchmark only), alternated, twice each; the best run of each is compared.
Index size
    The FTS5 tables' pages (dbstat) as a share of the store file, on both stores.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import re
import statistics
import time
from pathlib import Path
from typing import Any

import pytest
from measure import Record, Size, goal_line, goal_ratio

from oa_actors.store import Store, search_index
from oa_actors.store.schema import SCHEMA_VERSION
from oa_actors.store.search import SearchQuery, search
from oa_actors.tailer import core as tailer_core
from oa_actors.tailer.service import TailerService
from oa_actors.tailer.sink import StoreSink
from tests.support.search_corpus import AR_WORDS, EMOJI, EN_WORDS, JA_WORDS, ZH_WORDS, bench_rows, prose

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "target" / "bench-search"
SEED = 7
GEN_VERSION = 1
SMOKE_MESSAGES, FULL_MESSAGES = 20_000, 1_000_000
SMOKE_QUERIES, FULL_QUERIES = 10, 200
SMOKE_LIKE, FULL_LIKE = 2, 5
GOAL_P50_MS, GOAL_P99_MS, GOAL_INDEX_COST = 20.0, 100.0, 0.25


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def _summary(xs: list[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(xs), 2),
        "p90": round(_pct(xs, 90), 2),
        "p99": round(_pct(xs, 99), 2),
        "max": round(max(xs), 2),
        "n": len(xs),
    }


def _index_share(path: Path) -> dict[str, float]:
    with Store.open(path, readonly=True) as st:
        rows = st.conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
    total = sum(n for _, n in rows)
    fts = sum(n for name, n in rows if name.startswith(search_index.TABLE))
    messages = sum(
        n for name, n in rows if name in ("messages", "sqlite_autoindex_messages_1", "messages_by_thread")
    )
    return {
        "store_MB": round(total / 1e6, 1),
        "index_MB": round(fts / 1e6, 1),
        "messages_MB": round(messages / 1e6, 1),
        "index_share_of_store": round(fts / total, 3),
    }


# -- the store -------------------------------------------------------------------------------------
def search_store(messages: int) -> tuple[Path, float]:
    """The cached benchmark store of `messages` messages, and how long building it took."""
    layout = hashlib.sha1(f"{search_index.CREATE_TABLE}|{SCHEMA_VERSION}".encode()).hexdigest()[:8]
    path = CACHE / f"v{GEN_VERSION}-{layout}-seed{SEED}-{messages}.sqlite3"
    done = path.with_suffix(".json")
    if not done.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        for p in CACHE.glob(f"{path.name}*"):
            p.unlink()
        t0 = time.perf_counter()
        with Store.open(path) as st:
            for threads, rows in bench_rows(messages, SEED):
                st.apply_batch(threads, rows)
            st.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        done.write_text(json.dumps({"build_s": round(time.perf_counter() - t0, 1)}))
    return path, float(json.loads(done.read_text())["build_s"])


def query_sets(st: Store, n: int, rnd: random.Random) -> dict[str, list[SearchQuery]]:
    words = [w for w in set(re.findall(r"[a-z]{5,}", prose().lower()))]
    words.sort()
    pairs = re.findall(r"\b([a-z]{4,}) ([a-z]{4,})\b", prose().lower())
    threads = [r[0] for r in st.conn.execute("SELECT thread_id FROM threads ORDER BY thread_id")]
    newest = int(st.conn.execute("SELECT MAX(ts) FROM messages").fetchone()[0])
    cjk = ZH_WORDS + JA_WORDS

    def cjk_query() -> str:
        w = rnd.choice(cjk)
        k = rnd.choice((1, 2, 3, len(w)))
        start = rnd.randrange(0, max(1, len(w) - k + 1))
        return w[start : start + k] or w

    def filtered() -> SearchQuery:
        word = rnd.choice(EN_WORDS + words)
        pick = rnd.randrange(6)
        if pick == 0:
            return SearchQuery(word, thread=rnd.choice(threads)[:8])
        if pick == 1:
            return SearchQuery(word, source="claude")
        if pick == 2:
            return SearchQuery(word, roles=("user",))
        if pick == 3:
            return SearchQuery(word, kinds=("cmd",))
        if pick == 4:
            return SearchQuery(word, project=f"/home/dev/p{rnd.randrange(50)}")
        return SearchQuery(word, since_ms=newest - 30 * 86_400_000)

    return {
        "words": [SearchQuery(rnd.choice(EN_WORDS if i % 2 else words)) for i in range(n)],
        "phrases": [SearchQuery('"{} {}"'.format(*rnd.choice(pairs))) for _ in range(n)],
        "cjk": [SearchQuery(cjk_query()) for _ in range(n)],
        "other_scripts": [SearchQuery(rnd.choice(AR_WORDS + EMOJI)) for _ in range(n)],
        "filtered": [filtered() for _ in range(n)],
    }


def _filter_name(q: SearchQuery) -> str:
    for name in ("thread", "source", "project", "roles", "kinds", "since_ms"):
        if getattr(q, name):
            return name
    return "none"


def _like_term(q: SearchQuery) -> str:
    return q.text.strip('"')


def run_queries(path: Path, n: int, n_like: int) -> dict[str, Any]:
    rnd = random.Random(SEED)
    out: dict[str, Any] = {}
    with Store.open(path, readonly=True) as st:
        sets = query_sets(st, n, rnd)
        for q in rnd.sample([q for qs in sets.values() for q in qs], min(20, n * 5)):
            search(st, q)  # warm-up: page cache, regex and fold caches
        for name, queries in sets.items():
            ms, hits = [], 0
            for q in queries:
                t0 = time.perf_counter()
                page = search(st, q)
                ms.append((time.perf_counter() - t0) * 1000)
                hits += len(page.hits)
            like = []
            for q in queries[:n_like]:
                t0 = time.perf_counter()
                st.conn.execute(
                    "SELECT COUNT(*) FROM messages WHERE text LIKE ? ESCAPE '\\'",
                    ("%" + re.sub(r"([%_\\])", r"\\\1", _like_term(q)) + "%",),
                ).fetchone()
                like.append((time.perf_counter() - t0) * 1000)
            s = _summary(ms)
            if name == "filtered":
                by: dict[str, list[float]] = {}
                for q, t in zip(queries, ms, strict=True):
                    by.setdefault(_filter_name(q), []).append(t)
                out["filtered_by"] = {k: _summary(v) for k, v in sorted(by.items())}
            out[name] = {
                **s,
                "hits_per_query": round(hits / len(queries), 1),
                "like_scan_ms": _summary(like),
                "like_over_fts_p50": round(statistics.median(like) / s["p50"], 1),
                "p50_vs_goal_20ms": goal_ratio(s["p50"], GOAL_P50_MS, higher_is_better=False),
                "p99_vs_goal_100ms": goal_ratio(s["p99"], GOAL_P99_MS, higher_is_better=False),
                "examples": [q.text for q in queries[:5]],
            }
        out["messages"] = st.count("messages")
    return out


@pytest.fixture(scope="module")
def store_1m(bench_size: Size) -> tuple[Path, float]:
    return search_store(bench_size("OA_BENCH_SEARCH_MESSAGES", SMOKE_MESSAGES, FULL_MESSAGES))


def test_bench_search_latency(benchmark: Any, store_1m: Any, full: bool, record: Record) -> None:
    path, build_s = store_1m
    n = FULL_QUERIES if full else SMOKE_QUERIES
    n_like = FULL_LIKE if full else SMOKE_LIKE
    res = benchmark.pedantic(run_queries, args=(path, n, n_like), rounds=1, iterations=1)
    res["store"] = {"path": str(path.relative_to(ROOT)), "build_s": build_s, **_index_share(path)}
    res["load"] = {"loadavg_1m": round(os.getloadavg()[0], 2)}
    print("\nsearch latency (ms):", json.dumps(res, indent=2, ensure_ascii=False))
    for name in ("words", "phrases", "cjk", "other_scripts", "filtered"):
        print(goal_line(f"{name} p50", res[name]["p50"], GOAL_P50_MS, "ms", higher_is_better=False))
        print(goal_line(f"{name} p99", res[name]["p99"], GOAL_P99_MS, "ms", higher_is_better=False))
        assert res[name]["hits_per_query"] > 0, name
    record(res, save=res["messages"] >= 1_000_000, name="latency")


# -- indexing cost -------------------------------------------------------------------------------------
def backfill(home: Path, db: Path, index: bool) -> tuple[float, float]:
    """Seconds to backfill `home`'s sessions into a new store at `db` (engine, one process): wall
    clock and this process's CPU time (all threads: other jobs on the machine stretch the first
    far more than the second)."""
    for p in db.parent.glob(db.name + "*"):
        p.unlink()
    real, real_entry = Store._index_messages, tailer_core.index_entry
    if not index:
        # both halves of the indexing work: the tailer's index columns and the writer's inserts
        Store._index_messages = lambda self, *_: None  # type: ignore[method-assign]
        tailer_core.index_entry = lambda row: None

    async def go() -> tuple[float, float]:
        store = Store.open(db)
        sink = StoreSink(store)
        svc = TailerService([home / "sessions"], sink, on_forget=sink.forget, watch=False, rescan_seconds=0)
        t0, c0 = time.perf_counter(), time.process_time()
        await svc.start({}, backfill=True)
        await svc.wait_idle()
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        await svc.stop()
        store.close()
        return dt, cpu

    try:
        return asyncio.run(go())
    finally:
        Store._index_messages = real  # type: ignore[method-assign]
        tailer_core.index_entry = real_entry


def run_index_cost(tmp: Path, home: Path, files: list[Path]) -> dict[str, Any]:
    nbytes = sum(p.stat().st_size for p in files)
    for p in files:
        p.read_bytes()  # warm the page cache
    runs: dict[str, list[float]] = {"off": [], "on": []}
    cpus: dict[str, list[float]] = {"off": [], "on": []}
    for mode in ("off", "on", "off", "on"):
        wall, cpu = backfill(home, tmp / f"{mode}.sqlite3", index=mode == "on")
        runs[mode].append(wall)
        cpus[mode].append(cpu)
    off, on = min(runs["off"]), min(runs["on"])
    cost = 1 - off / on
    cost_cpu = 1 - min(cpus["off"]) / min(cpus["on"])
    return {
        "corpus_MB": round(nbytes / 1e6, 1),
        "off_MB_per_s": round(nbytes / off / 1e6, 1),
        "on_MB_per_s": round(nbytes / on / 1e6, 1),
        "runs_s": {k: [round(x, 2) for x in v] for k, v in runs.items()},
        "runs_cpu_s": {k: [round(x, 2) for x in v] for k, v in cpus.items()},
        "throughput_cost": round(cost, 3),
        "cost_vs_goal_25pct": goal_ratio(cost, GOAL_INDEX_COST, higher_is_better=False),
        "throughput_cost_cpu": round(cost_cpu, 3),
        "cost_cpu_vs_goal_25pct": goal_ratio(cost_cpu, GOAL_INDEX_COST, higher_is_better=False),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "store_with_index": _index_share(tmp / "on.sqlite3"),
    }


def test_bench_search_index_cost(
    benchmark: Any, tmp_path: Path, bench_size: Size, sessions_corpus: Any, record: Record
) -> None:
    home, files = sessions_corpus(bench_size("OA_BENCH_TAILER_MB", 20, 1000))
    res = benchmark.pedantic(run_index_cost, args=(tmp_path, home, files), rounds=1, iterations=1)
    print("\nindexing cost (backfill, engine):", json.dumps(res, indent=2))
    cost = res["throughput_cost"]
    print(goal_line("index cost to backfill throughput", cost, GOAL_INDEX_COST, "", higher_is_better=False))
    assert res["store_with_index"]["index_MB"] > 0
    record(res, save=res["corpus_MB"] >= 500, name="index_cost")
