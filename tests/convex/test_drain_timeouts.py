"""Issue 11: a slow Convex still drains. A batch whose `sync:applyBatch` call times out is not
resent whole forever: the drain halves it until calls answer in time, and grows it back once
Convex is quick again. Against the emulator (the real functions) holding big batches' answers back.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from oa_actors.convex.batch_size import BatchSize
from oa_actors.convex.client import ConvexHttpClient
from oa_actors.convex.drain import OutboxDrain
from oa_actors.store import Store
from tests.convex.test_drain import all_keys, convex_counts, generated
from tests.support import convex_emulator
from tests.support.convex_emulator import ConvexEmulator

pytestmark = pytest.mark.skipif(
    not convex_emulator.available(), reason="node_modules missing: run `make test` (npm ci)"
)

MAX_ROWS = 400
SLOW_ABOVE = 60  # the emulator answers batches of more rows than this ...
SLOW_MS = 12000  # ... this late, well past the client's timeout
TIMEOUT = 4.0


async def _drain_until_empty(drain: OutboxDrain, store: Store) -> None:
    task = asyncio.create_task(drain.run())
    try:
        async with asyncio.timeout(120):
            while store.outbox_last_id() > store.outbox_cursor():
                assert not task.done(), task
                await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _exactly_once(client: ConvexHttpClient, threads: int, per_thread: int) -> None:
    ids = [f"thread-{t:04d}" for t in range(threads)]
    assert await convex_counts(client, ids) == dict.fromkeys(ids, per_thread)
    for tid in ids:
        keys = await all_keys(client, tid)
        assert len(keys) == len(set(keys)) == per_thread


async def test_timeouts_halve_the_batch_and_quick_answers_grow_it_back(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store.sqlite3")
    threads, messages = generated(4, 100)  # 404 outbox entries: one batch of MAX_ROWS + 4
    store.apply_batch(threads, messages)
    state = tmp_path / "convex-state.json"
    try:
        # 1. Convex answers any batch above 60 rows 12 s late, the client waits 4 s: the old drain
        #    resent the same 400 rows forever. Now 400 -> 200 -> 100 -> 50, and the rest goes.
        with ConvexEmulator(state=state, slow_batch=(SLOW_ABOVE, SLOW_MS)) as emu:
            drain = OutboxDrain(store, ConvexHttpClient(emu.url, emu.admin_key, TIMEOUT), max_rows=MAX_ROWS)
            await _drain_until_empty(drain, store)
            assert drain.size.shrinks >= 3  # 400 -> 200 -> 100 -> 50: below the slow size
            grows = drain.size.grows
            assert drain.status.state == "connected" and store.count("quarantine") == 0
            await _exactly_once(drain.client, 4, 100)
            await drain.client.close()
        # 2. Convex is quick again (same state): the batch grows back to its maximum.
        more_t, more_m = generated(8, 500)  # threads 4-7: 2,000 new rows
        store.apply_batch(more_t[4:], [m for m in more_m if m["threadId"] >= "thread-0004"])
        with ConvexEmulator(state=state) as emu:
            # Quick relative to the timeout: a generous one, as the emulator persists its state on
            # every call and this machine is shared (a call counts as quick under a quarter of it).
            client = ConvexHttpClient(emu.url, emu.admin_key, 60.0)
            drain.client, drain.size.timeout = client, client.timeout
            await _drain_until_empty(drain, store)
            assert drain.size.grows > grows and drain.size.rows == MAX_ROWS
            ids = [f"thread-{t:04d}" for t in range(4, 8)]
            assert await convex_counts(client, ids) == dict.fromkeys(ids, 500)
            await client.close()
    finally:
        store.close()


def test_batch_size_rules() -> None:
    size = BatchSize(max_rows=1000, max_bytes=8 << 20, timeout=30.0)
    for _ in range(12):
        size.shrink()
    assert size.rows == 1  # never below one row
    size.success(20.0)  # slow but in time: no growth
    assert size.rows == 1
    for _ in range(3):
        size.success(1.0)
    size.success(10.0)  # a slow one starts the count over
    for _ in range(3):
        size.success(1.0)
    assert size.rows == 1
    size.success(1.0)  # the fourth quick call in a row
    assert size.rows == 2 and size.bytes == (8 << 20) >> 11
    for _ in range(4 * 12):
        size.success(0.1)
    assert (size.rows, size.bytes) == (1000, 8 << 20)  # capped at the maxima
