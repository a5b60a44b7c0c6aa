"""The writer's outbox drain against the Convex emulator running the real functions."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from oa_actors.convex.client import (
    ConvexFunctionError,
    ConvexHttpClient,
    ConvexMisconfigured,
    ConvexUnauthorized,
    ConvexUnavailable,
)
from oa_actors.convex.drain import OutboxDrain, resync
from oa_actors.convex.limits import MAX_DOCUMENT_BYTES, TRUNCATION_MARK, doc_size
from oa_actors.jsonl import _pytail
from oa_actors.store import Store
from tests.support import claude_convo, convex_emulator
from tests.support.convex_emulator import ConvexEmulator

pytestmark = pytest.mark.skipif(
    not convex_emulator.available(), reason="node_modules missing: run `make test` (npm ci)"
)


def generated(threads: int, per_thread: int) -> tuple[list[dict], list[dict]]:
    ts, ms = [], []
    for t in range(threads):
        tid = f"thread-{t:04d}"
        ts.append(
            {
                "threadId": tid,
                "source": "codex",
                "title": f"T{t}",
                "createdAt": 1000 + t,
                "updatedAt": 2000 + t,
            }
        )
        for i in range(per_thread):
            ms.append(
                {
                    "threadId": tid,
                    "key": f"k-{t}-{i}",
                    "seq": i,
                    "ts": 1000 + i,
                    "role": "user" if i % 2 == 0 else "assistant",
                    "kind": "message",
                    "text": f"message {i} of {tid}",
                    "data": None,
                    "turnId": None,
                }
            )
    return ts, ms


async def convex_counts(client: ConvexHttpClient, thread_ids: list[str]) -> dict[str, int]:
    return {t: await client.query("messages:countForThread", {"threadId": t}) for t in thread_ids}


async def all_keys(client: ConvexHttpClient, thread_id: str) -> list[str]:
    keys: list[str] = []
    after = None
    while True:
        page = await client.query(
            "messages:forThread", {"threadId": thread_id, "afterSeq": after, "limit": 1000}
        )
        if not page:
            return keys
        keys += [m["key"] for m in page]
        after = page[-1]["seq"]


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "store.sqlite3")
    yield s
    s.close()


async def test_thousands_of_messages_arrive_exactly_once(store: Store, tmp_path: Path) -> None:
    threads, messages = generated(10, 300)
    for i in range(0, len(messages), 500):
        store.apply_batch(threads if i == 0 else [], messages[i : i + 500])
    with ConvexEmulator() as emu:
        async with ConvexHttpClient(emu.url, emu.admin_key) as client:
            drain = OutboxDrain(store, client, max_rows=700)
            while await drain.drain_once():
                pass
            assert drain.lag()["rows"] == 0
            counts = await convex_counts(client, [t["threadId"] for t in threads])
            assert counts == {t["threadId"]: 300 for t in threads}
            keys = await all_keys(client, "thread-0003")
            assert keys == [f"k-3-{i}" for i in range(300)]
            # Replaying the whole store changes nothing (idempotent batch mutations).
            await resync(store, client)
            assert await convex_counts(client, [t["threadId"] for t in threads]) == counts
            listed = await client.query("threads:listWithCounts", {"limit": 100})
            assert sorted(t["count"] for t in listed) == [300] * 10


async def test_emulator_killed_mid_drain_and_down_for_a_while(store: Store, tmp_path: Path) -> None:
    threads, messages = generated(4, 500)
    store.apply_batch(threads, messages)
    state = tmp_path / "convex-state.json"
    emu = ConvexEmulator(state=state).start()
    port = emu.port
    client = ConvexHttpClient(emu.url, emu.admin_key)
    drain = OutboxDrain(store, client, max_rows=100)
    task = asyncio.create_task(drain.run())
    try:
        async with asyncio.timeout(60):
            while drain.status.sent_rows < 600:
                await asyncio.sleep(0.02)
        emu.kill()  # SIGKILL mid-drain: a batch may be lost or committed without its reply
        async with asyncio.timeout(30):
            while drain.status.connected:
                await asyncio.sleep(0.05)
        assert drain.status.last_error
        await asyncio.sleep(1.5)  # down for a while; more rows arrive meanwhile
        _more_threads, more = generated(5, 40)
        store.apply_batch(
            [],
            [
                dict(m, threadId="thread-0000", key="late-" + m["key"], seq=1000 + i)
                for i, m in enumerate(more)
            ],
        )
        emu = ConvexEmulator(state=state, port=port).start()
        async with asyncio.timeout(90):
            while drain.lag()["rows"] > 0:
                await asyncio.sleep(0.05)
        counts = await convex_counts(client, [t["threadId"] for t in threads])
        assert counts == {"thread-0000": 700, "thread-0001": 500, "thread-0002": 500, "thread-0003": 500}
        keys = await all_keys(client, "thread-0000")
        assert len(keys) == len(set(keys)) == 700
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.close()
        emu.stop()


async def test_refused_rows_are_quarantined_and_long_texts_cut(store: Store) -> None:
    threads, messages = generated(1, 20)
    messages[5]["role"] = "robot"  # the Convex validator refuses this role
    huge = "é" * 900_000  # 1.8 MB of UTF-8
    messages[7]["text"] = huge
    store.apply_batch(threads, messages)
    with ConvexEmulator() as emu:
        async with ConvexHttpClient(emu.url, emu.admin_key) as client:
            drain = OutboxDrain(store, client)
            while await drain.drain_once():
                pass
            assert drain.status.quarantined == 1
            assert store.count("quarantine") == 1
            assert await client.query("messages:countForThread", {"threadId": "thread-0000"}) == 19
            page = await client.query("messages:forThread", {"threadId": "thread-0000", "limit": 100})
            cut = next(m for m in page if m["key"] == "k-0-7")
            assert cut["text"].endswith(TRUNCATION_MARK) and cut["data"]["truncated"] is True
            assert doc_size(cut) <= MAX_DOCUMENT_BYTES + 2000
            # The local store keeps the full text.
            assert store.messages_by_keys(["k-0-7"])["k-0-7"]["text"] == huge


async def test_client_errors_are_classified() -> None:
    # A refused key is not a row error (it used to be a ConvexFunctionError, which made the drain
    # quarantine every row): it is its own class, and so is a URL without our functions.
    with ConvexEmulator() as emu:
        async with ConvexHttpClient(emu.url, "wrong-key") as bad:
            with pytest.raises(ConvexUnauthorized, match="401") as refused:
                await bad.query("threads:list", {})
            assert refused.value.state == "unauthorized" and refused.value.http_status == 401
        async with ConvexHttpClient(emu.url, emu.admin_key) as client:
            assert await client.instance_name()
            with pytest.raises(ConvexFunctionError, match="ArgumentValidationError") as row:
                await client.mutation("sync:applyBatch", {"threads": [{"nope": 1}]})
            assert row.value.code == "ArgumentValidationError"
            with pytest.raises(ConvexFunctionError) as typed:
                await client.mutation("messages:create", {"threadId": "nope", "role": "user", "text": "hi"})
            assert typed.value.code == "UnknownThread" and typed.value.data["threadId"] == "nope"
            with pytest.raises(ConvexMisconfigured, match="Could not find public function") as missing:
                await client.mutation("sync:nope", {})
            assert missing.value.state == "misconfigured"
            with pytest.raises(ConvexMisconfigured, match="BadConvexFunctionIdentifier"):
                await client.mutation("not a path!", {})
        async with ConvexHttpClient(emu.url + "/nothing-here", emu.admin_key) as wrong_url:
            with pytest.raises(ConvexMisconfigured, match="404"):
                await wrong_url.mutation("sync:applyBatch", {})
    async with ConvexHttpClient("http://127.0.0.1:9", "k") as down:
        with pytest.raises(ConvexUnavailable):
            await down.query("threads:list", {})


async def test_values_convex_cannot_store_are_kept_as_json(store: Store) -> None:
    threads, messages = generated(1, 3)
    messages[1]["data"] = {"name": "t", "arguments": {"$schema": "x", "ünïcode": [1, {"ok": True}]}}
    store.apply_batch(threads, messages)
    with ConvexEmulator() as emu:
        async with ConvexHttpClient(emu.url, emu.admin_key) as client:
            drain = OutboxDrain(store, client)
            while await drain.drain_once():
                pass
            assert drain.status.quarantined == 0
            page = await client.query("messages:forThread", {"threadId": "thread-0000", "limit": 10})
            data = next(m for m in page if m["key"] == "k-0-1")["data"]
            import json as _json

            assert _json.loads(data["json"]) == messages[1]["data"]


async def test_claude_rows_written_late_sort_in_chain_order_in_convex(store: Store) -> None:
    """Fractional seqs (docs/rows.md, "Order") go through the drain unchanged: Convex reads the
    conversation order, paging with fractional `afterSeq` cursors."""
    sid = "c0c0c0c0-0000-4000-8000-000000000000"
    ordered, shuffled = claude_convo.session(42, 6, sid)
    want = [claude_convo.content(m) for m in _pytail.JsonlTail("x").feed(ordered, final=True).messages]
    tail = _pytail.JsonlTail(f"/p/{sid}.jsonl")
    batch = tail.feed(shuffled, final=True)
    assert any(isinstance(m["seq"], float) for m in batch.messages)
    store.apply_batch(batch.threads, batch.messages)
    with ConvexEmulator() as emu:
        async with ConvexHttpClient(emu.url, emu.admin_key) as client:
            drain = OutboxDrain(store, client, max_rows=50)
            while await drain.drain_once():
                pass
            rows: list[dict] = []
            after = None
            while True:
                page = await client.query(
                    "messages:forThread", {"threadId": sid, "afterSeq": after, "limit": 7}
                )
                if not page:
                    break
                rows += page
                after = page[-1]["seq"]
            assert [claude_convo.content({"data": None, "text": None, "ts": None, **m}) for m in rows] == want
