"""Outbox -> Convex benchmark: messages/s into the emulator, batched (`OutboxDrain`) versus one
`sync:applyBatch` mutation per message, in the same run, with the ratio.

Both variants send the same store (generated threads and messages) over one `ConvexHttpClient` to a
fresh Convex emulator (tests/convex_emulator: the real `convex/` functions under convex-test), and
both are checked afterwards (every message counted in Convex). With `--benchmark-disable` (the
default in pyproject) the body runs once with ~100 messages as a smoke test; `make bench`
(`--benchmark-enable -s`) runs 3,000 messages, prints the figures and writes
`benches/results/convex.json`.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import pytest

from oa_actors.convex.client import ConvexHttpClient
from oa_actors.convex.drain import OutboxDrain
from oa_actors.convex.limits import MAX_BATCH_ROWS, fit_document
from oa_actors.store import Store
from tests.support import convex_emulator
from tests.support.convex_emulator import ConvexEmulator

RESULTS = Path(__file__).resolve().parent / "results" / "convex.json"
PER_THREAD = 100

pytestmark = pytest.mark.skipif(
    not convex_emulator.available(), reason="node_modules missing: run `make test` (npm ci)"
)


def fill_store(path: Path, n: int) -> Store:
    store = Store.open(path)
    threads, messages = [], []
    for t in range((n + PER_THREAD - 1) // PER_THREAD):
        tid = f"bench-thread-{t:04d}"
        threads.append(
            {
                "threadId": tid,
                "source": "codex",
                "title": f"bench {t}",
                "createdAt": 1000 + t,
                "updatedAt": 2000 + t,
            }
        )
    for i in range(n):
        t, seq = divmod(i, PER_THREAD)
        messages.append(
            {
                "threadId": f"bench-thread-{t:04d}",
                "key": f"bench-{t}-{seq}",
                "seq": seq,
                "ts": 1_000_000 + i,
                "role": "user" if seq % 2 == 0 else "assistant",
                "kind": "message",
                "text": f"message {seq} " + "lorem ipsum dolor sit amet " * 8,
                "data": None,
                "turnId": f"turn-{seq // 2}",
            }
        )
    for i in range(0, n, 1000):
        store.apply_batch(threads if i == 0 else [], messages[i : i + 1000])
    return store


async def batched(store: Store, url: str, key: str) -> float:
    async with ConvexHttpClient(url, key) as client:
        drain = OutboxDrain(store, client, max_rows=MAX_BATCH_ROWS)
        await client.query("threads:list", {})  # warm-up: the emulator loads the functions on first use
        t0 = time.perf_counter()
        while await drain.drain_once():
            pass
        secs = time.perf_counter() - t0
        assert drain.lag()["rows"] == 0 and drain.status.quarantined == 0
        return secs


async def one_per_message(store: Store, url: str, key: str) -> float:
    threads = [fit_document(t) for t in store.all_threads()]
    messages = [fit_document(m) for m in store.iter_messages()]
    async with ConvexHttpClient(url, key) as client:
        await client.query("threads:list", {})  # warm-up, as above
        t0 = time.perf_counter()
        await client.mutation("sync:applyBatch", {"threads": threads, "messages": []})
        for m in messages:
            await client.mutation("sync:applyBatch", {"threads": [], "messages": [m]})
        return time.perf_counter() - t0


async def convex_total(url: str, key: str, thread_ids: list[str]) -> int:
    async with ConvexHttpClient(url, key) as client:
        return sum([await client.query("messages:countForThread", {"threadId": t}) for t in thread_ids])


def run_convex_benchmark(tmp: Path, n: int) -> dict[str, Any]:
    store = fill_store(tmp / "store.sqlite3", n)
    thread_ids = [t["threadId"] for t in store.all_threads()]
    figures: dict[str, float] = {}
    try:
        for name, fn in (("batched", batched), ("one_per_message", one_per_message)):
            with ConvexEmulator(admin_key="bench-key") as emu:
                secs = asyncio.run(fn(store, emu.url, emu.admin_key))
                assert asyncio.run(convex_total(emu.url, emu.admin_key, thread_ids)) == n
            figures[name] = secs
    finally:
        store.close()
    b, o = n / figures["batched"], n / figures["one_per_message"]
    return {
        "workload": {"messages": n, "threads": len(thread_ids), "max_batch_rows": MAX_BATCH_ROWS},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "batched": {"seconds": round(figures["batched"], 3), "messages_per_s": round(b, 1)},
        "one_per_message": {"seconds": round(figures["one_per_message"], 3), "messages_per_s": round(o, 1)},
        "ratio_batched_over_one_per_message": round(b / o, 2),
        "note": "Convex emulator (convex-test, in-memory, requests one at a time): its per-row cost "
        "grows with the table size, so both rates fall as N grows; the ratio measures the per-mutation "
        "overhead saved.",
    }


def test_bench_convex(benchmark: Any, tmp_path: Path) -> None:
    enabled = not getattr(benchmark, "disabled", False)
    n = int(os.environ.get("OA_BENCH_CONVEX_MESSAGES") or (3000 if enabled else 100))
    results: list[dict[str, Any]] = []

    def run() -> None:
        d = tmp_path / f"run{len(results)}"
        d.mkdir()
        results.append(run_convex_benchmark(d, n))

    # One round: the figures come from inside the scenario (two fresh emulators).
    benchmark.pedantic(run, rounds=1, iterations=1)
    r = results[-1]
    print()
    print(
        f"outbox -> Convex emulator, {n} messages: batched {r['batched']['messages_per_s']:,.0f} msg/s, "
        f"one mutation per message {r['one_per_message']['messages_per_s']:,.0f} msg/s, "
        f"ratio {r['ratio_batched_over_one_per_message']}x"
    )
    if enabled:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(r, indent=2) + "\n")
    assert r["batched"]["messages_per_s"] > 0 and r["one_per_message"]["messages_per_s"] > 0
