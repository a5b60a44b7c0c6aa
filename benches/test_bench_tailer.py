"""Tailer benchmarks (issue 4): live latency and backfill throughput through the REAL actors.

Plain `pytest` (benchmarks disabled) smoke-runs each body once on small inputs (~50 appends,
~20 MB of sessions). `--benchmark-enable` (or `OA_BENCH_TAILER_MB=1000`, `OA_BENCH_APPENDS=2000`)
runs the full size; each test prints its targets as ratios beside their goals and records its
figures in `benches/results/tailer.json`.

Live latency
    `oa-supervisor run --actors convex_writer,sessions_tailer` (tests/support/supervisor.py) on an
    empty CODEX_HOME/sessions; one rollout file; lines appended one at a time (alternating an
    `event_msg/user_message` and an assistant `response_item/message`, each with a unique text,
    written with one unbuffered `os.write`), the next one only after the previous row is committed.
    For each append two latencies are taken on the same wall clock:
    - `stored`: the row's `stored_at` (the writer's `time.time()` in ms, taken at the start of the
      batch's transaction) minus `time.time()` just before the write. Resolution 1 ms (stored_at is
      truncated to whole ms, so a value can be up to 1 ms low); it excludes the commit itself
      (a one-row WAL commit with synchronous=NORMAL, well under 1 ms).
    - `seen`: until a read-only SQLite connection in this process sees the committed row, polling
      `SELECT ... WHERE rowid > ?` every 0.5 ms. An upper bound: includes the poll interval and the
      query (~0.1 ms), and the poller competes for the 2 CPUs.
Backfill
    ~1 GB (about 2,000 files) of generated sessions (the realistic 0.169 / classic shapes of
    benches/codex_corpus.py, i.e. modelled on tests/data/corpus), deterministic, cached under
    target/bench-sessions/. The supervisor starts with an empty OPENAGENTS_HOME on that CODEX_HOME;
    the end is when every file's checkpoint is committed at its full size (polled in the store every
    0.1 s, then the tailer's `backfill` status and the message count are confirmed). The window
    used for MB/s is the tailer's `backfill.started_at` to the newest checkpoint's `updated_at` (both
    wall clock; the process start-up is reported separately). RSS of every process (supervisor,
    forkserver, writer, tailer, resource tracker) is sampled with psutil every 50 ms.
    The same corpus is also run through the engine alone (TailerService + StoreSink in this process,
    no actors, no bus) and through the JSONL hot path alone (native JsonlTail.feed, no store).
Heavy backfill (issue 11)
    Rollouts whose rows carry their weight in tool arguments (200 custom tool calls with 6 KB
    inputs each, tests/support/gen.py; ~1.2 MB per file, ~200 MB in full, ~12 MB in the smoke run)
    backfilled through the same two actors. Batches are cut by their encoded size; the figures
    are MB/s and rows/s beside the ordinary backfill, and every row must be stored (before issue 11
    none was: a 31 MB batch exceeded the bus frame).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
import statistics
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest
from codex_corpus import session_meta_line
from measure import Record, Size, goal_line, goal_ratio

from oa_actors.store import Store
from oa_actors.tailer.service import TailerService
from oa_actors.tailer.sink import StoreSink
from tests.support.gen import heavy_rollout_lines
from tests.support.supervisor import Supervisor

try:
    from oa_actors import _oa_native
except ImportError:  # pragma: no cover - pure-Python install
    _oa_native = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "target" / "bench-sessions"
ACTORS = ["--actors", "convex_writer,sessions_tailer"]
SEED = 20261122
SMOKE_MB, FULL_MB = 20, 1000
HEAVY_SMOKE_FILES, HEAVY_FULL_FILES = 10, 170  # ~1.2 MB each
SMOKE_APPENDS, FULL_APPENDS = 50, 2000
WARMUP_APPENDS = 10
POLL = 0.0005
RSS_EVERY = 0.05

# Goals (docs/architecture.md, issues 4 and 15): live rows seen within 10 ms p50 / 50 ms p99; a
# backfill through `oa-supervisor run` at 250 MB/s or more measured from process launch to the last
# row committed (issue 15; the window from the tailer's start is kept as information); the tailer
# process under 200 MB of RSS and the writer under 300 MB.
GOAL_P50_MS, GOAL_P99_MS, GOAL_TAILER_RSS_MB = 10.0, 50.0, 200.0
GOAL_BACKFILL_MBPS, GOAL_WRITER_RSS_MB = 250.0, 300.0
# The heavy-rows backfill (issue 11) keeps its own goal, measured over the backfill window.
GOAL_HEAVY_MBPS = 200.0


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def _summary(xs: list[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(xs), 2),
        "p90": round(_pct(xs, 90), 2),
        "p99": round(_pct(xs, 99), 2),
        "max": round(max(xs), 2),
        "mean": round(statistics.fmean(xs), 2),
        "n": len(xs),
    }


def _load() -> dict[str, float]:
    one, five, _ = os.getloadavg()
    return {"loadavg_1m": round(one, 2), "loadavg_5m": round(five, 2)}


def hot_path(files: list[Path]) -> tuple[float, int, int]:
    """Native JsonlTail over every file (1 MiB chunks, no store): (seconds, rows, distinct keys)."""
    assert _oa_native is not None
    keys: set[str] = set()
    rows = 0
    t0 = time.perf_counter()
    for p in files:
        t = _oa_native.JsonlTail(str(p))
        with open(p, "rb") as f:
            while chunk := f.read(1 << 20):
                ms = t.feed(chunk).messages
                rows += len(ms)
                keys.update(m["key"] for m in ms)
        ms = t.feed(b"", final=True).messages
        rows += len(ms)
        keys.update(m["key"] for m in ms)
    return time.perf_counter() - t0, rows, len(keys)


# -- RSS sampling ----------------------------------------------------------------------------------
class RssSampler(threading.Thread):
    """Peak RSS per pid of a process tree (or of this process), every `every` seconds."""

    def __init__(self, root_pid: Any, every: float = RSS_EVERY) -> None:
        super().__init__(daemon=True)
        self.root_pid = root_pid  # an int, or a callable returning the pid once it exists
        self.every = every
        self.peak: dict[int, int] = {}
        self.cmd: dict[int, str] = {}
        self.parent: dict[int, int] = {}
        self.cpu: dict[int, float] = {}  # user + system seconds at the last sample
        self.samples = 0
        self._stop_evt = threading.Event()

    def run(self) -> None:
        while not self._stop_evt.is_set():
            pid = self.root_pid() if callable(self.root_pid) else self.root_pid
            if pid:
                try:
                    root = psutil.Process(pid)
                    procs = [root, *root.children(recursive=True)]
                except psutil.NoSuchProcess:
                    procs = []
                for p in procs:
                    try:
                        rss = p.memory_info().rss
                        ct = p.cpu_times()
                        self.cpu[p.pid] = ct.user + ct.system
                        if p.pid not in self.cmd:
                            self.cmd[p.pid] = " ".join(p.cmdline())
                            self.parent[p.pid] = p.ppid()
                    except psutil.Error:
                        continue
                    self.peak[p.pid] = max(self.peak.get(p.pid, 0), rss)
                self.samples += 1
            self._stop_evt.wait(self.every)

    def stop(self) -> None:
        self._stop_evt.set()
        self.join(5)

    def by_role(self, sup_pid: int, actor_pids: dict[str, int], what: str = "rss") -> dict[str, float]:
        names = {pid: name for name, pid in actor_pids.items()}
        out: dict[str, float] = {}
        values = self.peak if what == "rss" else self.cpu
        for pid, value in values.items():
            cmd = self.cmd.get(pid, "")
            if pid == sup_pid:
                role = "supervisor"
            elif pid in names:
                role = names[pid]
            elif "resource_tracker" in cmd:
                role = "resource_tracker"
            elif "forkserver" in cmd and self.parent.get(pid) == sup_pid:
                role = "forkserver"
            else:
                role = f"other:{pid}"
            v = round(value / 2**20, 1) if what == "rss" else round(value, 2)
            out[role] = max(out.get(role, 0.0), v)
        return out


# -- live latency ----------------------------------------------------------------------------------
def _line(i: int, text: str) -> bytes:
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{i % 1000:03d}Z"
    if i % 2 == 0:
        obj = {
            "timestamp": ts,
            "type": "event_msg",
            "payload": {"type": "user_message", "message": text, "images": []},
        }
    else:
        obj = {
            "timestamp": ts,
            "type": "response_item",
            "payload": {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text}],
            },
        }
    return (json.dumps(obj) + "\n").encode()


def run_latency(tmp: Path, appends: int) -> dict[str, Any]:
    sup = Supervisor(tmp, args=ACTORS)
    day = sup.codex_home / "sessions" / "2026" / "11" / "22"
    day.mkdir(parents=True)
    sup.start()
    try:
        tid = str(uuid.UUID(int=random.Random(SEED).getrandbits(128), version=4))
        path = day / f"rollout-2026-11-22T01-00-00-{tid}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.write(fd, session_meta_line(tid))
        db = sqlite3.connect(f"file:{sup.home / 'store.sqlite3'}?mode=ro", uri=True, isolation_level=None)
        last = 0
        stored: list[float] = []
        seen: list[float] = []
        for i in range(appends + WARMUP_APPENDS):
            text = f"bench line {i} {uuid.uuid4().hex}"
            line = _line(i, text)
            t_wall = time.time()
            t0 = time.perf_counter()
            os.write(fd, line)
            deadline = t0 + 30
            hit = None
            while hit is None:
                for rowid, txt, stored_at in db.execute(
                    "SELECT rowid, text, stored_at FROM messages WHERE rowid > ?", (last,)
                ):
                    last = max(last, rowid)
                    if txt == text:
                        hit = stored_at
                if hit is None:
                    if time.perf_counter() > deadline:
                        raise TimeoutError(
                            f"append {i} was not committed within 30 s; log:\n{sup.log.read_text()[-3000:]}"
                        )
                    time.sleep(POLL)
            t_seen = time.perf_counter()
            if i >= WARMUP_APPENDS:
                stored.append(hit - t_wall * 1000)
                seen.append((t_seen - t0) * 1000)
            time.sleep(0.002)  # appends come one at a time, not back to back
        os.close(fd)
        db.close()
        tailer = sup.actor("sessions_tailer")
        return {
            "appends": appends,
            "warmup": WARMUP_APPENDS,
            "stored_ms": _summary(stored),
            "seen_ms": _summary(seen),
            "slowest": [
                [i + WARMUP_APPENDS, round(ms, 1)]
                for i, ms in sorted(enumerate(seen), key=lambda t: -t[1])[:5]
            ],
            "tailer_restarts": tailer["restarts"],
            "load": _load(),
            "method": "stored = row.stored_at (writer clock, ms, start of txn) - time.time() before write; "
            "seen = until a read-only connection polling every 0.5 ms sees the row (upper bound)",
        }
    finally:
        sup.stop()


def test_bench_tailer_latency(benchmark: Any, tmp_path: Path, bench_size: Size, record: Record) -> None:
    appends = bench_size("OA_BENCH_APPENDS", SMOKE_APPENDS, FULL_APPENDS)
    res = benchmark.pedantic(run_latency, args=(tmp_path, appends), rounds=1, iterations=1)
    p50, p99 = res["seen_ms"]["p50"], res["seen_ms"]["p99"]
    res["targets"] = {
        "seen_p50_vs_10ms": goal_ratio(p50, GOAL_P50_MS, higher_is_better=False),
        "seen_p99_vs_50ms": goal_ratio(p99, GOAL_P99_MS, higher_is_better=False),
    }
    print("\nlive latency:", json.dumps(res, indent=2))
    print(goal_line("append -> row seen p50", p50, GOAL_P50_MS, "ms", higher_is_better=False))
    print(goal_line("append -> row seen p99", p99, GOAL_P99_MS, "ms", higher_is_better=False))
    assert res["stored_ms"]["n"] == appends
    record(res, save=appends >= 1000, name="latency")


# -- backfill ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def corpus(bench_size: Size, sessions_corpus: Any) -> dict[str, Any]:
    """The sessions corpus, read once into the page cache, and the hot path alone on it."""
    mb = bench_size("OA_BENCH_TAILER_MB", SMOKE_MB, FULL_MB)
    t0 = time.perf_counter()
    home, files = sessions_corpus(mb)
    gen_s = time.perf_counter() - t0
    nbytes = sum(p.stat().st_size for p in files)
    for p in files:  # warm the page cache so every contender reads from memory
        p.read_bytes()
    secs, rows, keys = hot_path(files)
    info: dict[str, Any] = {"home": home, "files": files, "bytes": nbytes, "rows": rows, "keys": keys}
    info["figures"] = {
        "path": str(home.relative_to(ROOT)),
        "files": len(files),
        "bytes": nbytes,
        "rows": rows,
        "distinct_keys": keys,
        "generate_or_cache_s": round(gen_s, 1),
    }
    info["hot_path"] = {
        "seconds": round(secs, 3),
        "MB_per_s": round(nbytes / secs / 1e6, 1),
        "rows_per_s": round(rows / secs),
    }
    return info


def run_backfill(tmp: Path, corpus: dict[str, Any]) -> dict[str, Any]:
    files, nbytes = corpus["files"], corpus["bytes"]
    sup = Supervisor(tmp, env={"CODEX_HOME": str(corpus["home"])}, args=ACTORS)
    sampler = RssSampler(lambda: sup.proc.pid if sup.proc else None)
    sampler.start()
    t_launch = time.time()
    sup.start(timeout=120)
    t_up = time.time()
    try:
        actors = {a["name"]: a["pid"] for a in (sup.status() or {})["actors"]}
        db = sqlite3.connect(f"file:{sup.home / 'store.sqlite3'}?mode=ro", uri=True, isolation_level=None)
        deadline = time.monotonic() + 1800
        while True:
            n, total, newest = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(offset), 0), COALESCE(MAX(updated_at), 0) FROM "
                "tail_checkpoints"
            ).fetchone()
            if n >= len(files) and total >= nbytes:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"backfill incomplete: {n}/{len(files)} files, {total}/{nbytes} bytes")
            time.sleep(0.1)
        t_seen = time.time()
        wal = sup.home / "store.sqlite3-wal"
        store_mb = {
            "db": round((sup.home / "store.sqlite3").stat().st_size / 1e6, 1),
            "wal": round(wal.stat().st_size / 1e6, 1) if wal.exists() else 0.0,
        }
        messages = db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        threads = db.execute("SELECT COUNT(*) FROM threads").fetchone()[0]
        db.close()
        health: dict[str, Any] = {}
        for _ in range(100):  # health arrives with the next pong
            health = sup.actor("sessions_tailer").get("health", {})
            bf = health.get("backfill", {})
            if not bf.get("running", True) and bf.get("files_done") == bf.get("files_total"):
                break
            time.sleep(0.2)
        bf = health["backfill"]
        restarts = {a["name"]: a["restarts"] for a in (sup.status() or {})["actors"]}
    finally:
        sup.stop()
        sampler.stop()
    assert bf["files_total"] == len(files) and bf["files_done"] == len(files) and not bf["running"], bf
    assert messages == corpus["keys"], (messages, corpus["keys"])
    window = newest / 1000 - bf["started_at"]
    assert sup.proc is not None
    return {
        "files": len(files),
        "bytes": nbytes,
        "messages": messages,
        "threads": threads,
        "startup_s": round(t_up - t_launch, 2),
        "backfill_s": round(window, 2),
        "MB_per_s": round(nbytes / window / 1e6, 1),
        "rows_per_s": round(messages / window),
        "launch_to_done_s": round(newest / 1000 - t_launch, 2),
        "MB_per_s_from_launch": round(nbytes / (newest / 1000 - t_launch) / 1e6, 1),
        "observed_done_after_s": round(t_seen - t_launch, 2),
        "peak_rss_MB": sampler.by_role(sup.proc.pid, actors),
        "rss_samples": sampler.samples,
        "cpu_s": sampler.by_role(sup.proc.pid, actors, "cpu"),
        "store_MB_at_end": store_mb,
        "restarts": restarts,
        "load": _load(),
    }


def test_bench_tailer_backfill(
    benchmark: Any, tmp_path: Path, corpus: dict[str, Any], record: Record
) -> None:
    res = benchmark.pedantic(run_backfill, args=(tmp_path, corpus), rounds=1, iterations=1)
    hot = corpus["hot_path"]
    rss = res["peak_rss_MB"].get("sessions_tailer", 0)
    writer_rss = res["peak_rss_MB"].get("convex_writer", 0)
    launch = res["MB_per_s_from_launch"]
    res.update(corpus=corpus["figures"], hot_path=hot)
    res["ratios"] = {"actors_vs_hot_path": round(res["MB_per_s"] / hot["MB_per_s"], 2)}
    # Judged (issue 15): MB/s from process launch to the last row committed; `MB_per_s` (the
    # tailer's backfill window, start-up excluded) is information.
    res["targets"] = {
        "MB_per_s_from_launch_vs_250": goal_ratio(launch, GOAL_BACKFILL_MBPS),
        "tailer_rss_vs_200MB": goal_ratio(rss, GOAL_TAILER_RSS_MB, higher_is_better=False),
        "writer_rss_vs_300MB": goal_ratio(writer_rss, GOAL_WRITER_RSS_MB, higher_is_better=False),
    }
    print("\nbackfill through the actors:", json.dumps(res, indent=2))
    print(goal_line("backfill from launch to last row committed", launch, GOAL_BACKFILL_MBPS, "MB/s"))
    print(f"(info) backfill window alone: {res['MB_per_s']} MB/s, start-up {res['startup_s']} s")
    print(goal_line("tailer peak RSS", rss, GOAL_TAILER_RSS_MB, "MB", higher_is_better=False))
    print(goal_line("writer peak RSS", writer_rss, GOAL_WRITER_RSS_MB, "MB", higher_is_better=False))
    record(res, save=corpus["bytes"] >= 500_000_000, name="backfill")


# -- engine alone ------------------------------------------------------------------------------------
def run_engine(tmp: Path, corpus: dict[str, Any]) -> dict[str, Any]:
    sampler = RssSampler(os.getpid())
    base = psutil.Process().memory_info().rss
    sampler.start()

    cpu: list[float] = []

    async def go() -> tuple[float, int]:
        store = Store.open(tmp / "engine.sqlite3")
        sink = StoreSink(store)
        svc = TailerService(
            [corpus["home"] / "sessions"], sink, on_forget=sink.forget, watch=False, rescan_seconds=0
        )
        t0, c0 = time.perf_counter(), time.process_time()
        await svc.start({}, backfill=True)
        await svc.wait_idle()
        dt = time.perf_counter() - t0
        cpu.append(time.process_time() - c0)
        await svc.stop()
        n = store.count("messages")
        store.close()
        return dt, n

    try:
        secs, messages = asyncio.run(go())
    finally:
        sampler.stop()
    assert messages == corpus["keys"]
    return {
        "seconds": round(secs, 2),
        "MB_per_s": round(corpus["bytes"] / secs / 1e6, 1),
        "rows_per_s": round(messages / secs),
        "messages": messages,
        "cpu_s": round(cpu[0], 2),
        "peak_rss_MB": round(max(sampler.peak.values()) / 2**20, 1),
        "rss_before_MB": round(base / 2**20, 1),
        "load": _load(),
    }


def test_bench_tailer_engine(benchmark: Any, tmp_path: Path, corpus: dict[str, Any], record: Record) -> None:
    res = benchmark.pedantic(run_engine, args=(tmp_path, corpus), rounds=1, iterations=1)
    res["ratios"] = {"engine_vs_hot_path": round(res["MB_per_s"] / corpus["hot_path"]["MB_per_s"], 2)}
    print("\nengine alone (TailerService + StoreSink, one process):", json.dumps(res, indent=2))
    record(res, save=corpus["bytes"] >= 500_000_000, name="engine")


# -- heavy rows ---------------------------------------------------------------------------------------
def heavy_corpus(files: int) -> Path:
    """A CODEX_HOME of `files` heavy rollouts (cached, deterministic)."""
    home = CACHE / f"heavy-v1-{files}"
    if not (home / "DONE").exists():
        day = home / "sessions" / "2026" / "11" / "23"
        day.mkdir(parents=True, exist_ok=True)
        for i in range(files):
            tid = str(uuid.UUID(int=(0x0BEE << 112) | i))
            p = day / f"rollout-2026-11-23T02-00-00-{tid}.jsonl"
            p.write_text("\n".join(heavy_rollout_lines(tid, seed=i)) + "\n")
            t = 1_790_000_000 + i * 60
            os.utime(p, (t, t))
        (home / "DONE").write_text(str(files))
    return home


def run_heavy_backfill(tmp: Path, files: int) -> dict[str, Any]:
    home = heavy_corpus(files)
    paths = sorted((home / "sessions").rglob("*.jsonl"))
    nbytes = sum(p.stat().st_size for p in paths)
    for p in paths:
        p.read_bytes()
    want = sum(202 for _ in paths)  # the prompt, 200 tool rows and the reply per file
    sup = Supervisor(tmp, env={"CODEX_HOME": str(home)}, args=ACTORS)
    sup.start(timeout=120)
    try:
        db = sqlite3.connect(f"file:{sup.home / 'store.sqlite3'}?mode=ro", uri=True, isolation_level=None)
        deadline = time.monotonic() + 600
        while True:
            n, total, newest = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(offset), 0), COALESCE(MAX(updated_at), 0) FROM "
                "tail_checkpoints"
            ).fetchone()
            if n >= len(paths) and total >= nbytes:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"heavy backfill incomplete: {n}/{len(paths)} files")
            time.sleep(0.1)
        messages = db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        db.close()
        health: dict[str, Any] = {}
        for _ in range(100):
            health = sup.actor("sessions_tailer").get("health", {})
            if not health.get("backfill", {}).get("running", True):
                break
            time.sleep(0.2)
        restarts = {a["name"]: a["restarts"] for a in (sup.status() or {})["actors"]}
    finally:
        sup.stop()
    assert messages == want, (messages, want)
    window = newest / 1000 - health["backfill"]["started_at"]
    return {
        "files": len(paths),
        "bytes": nbytes,
        "messages": messages,
        "backfill_s": round(window, 2),
        "MB_per_s": round(nbytes / window / 1e6, 1),
        "rows_per_s": round(messages / window),
        "tailer_batches": health.get("batches"),
        "rows_truncated": health.get("rowsTruncated"),
        "restarts": restarts,
        "load": _load(),
    }


def test_bench_tailer_heavy_backfill(benchmark: Any, tmp_path: Path, full: bool, record: Record) -> None:
    files = HEAVY_FULL_FILES if full else HEAVY_SMOKE_FILES
    res = benchmark.pedantic(run_heavy_backfill, args=(tmp_path, files), rounds=1, iterations=1)
    res["targets"] = {"MB_per_s_vs_200": goal_ratio(res["MB_per_s"], GOAL_HEAVY_MBPS)}
    print("\nheavy rows backfill through the actors:", json.dumps(res, indent=2))
    print(goal_line("heavy rows backfill", res["MB_per_s"], GOAL_HEAVY_MBPS, "MB/s"))
    record(res, name="heavy_backfill")
