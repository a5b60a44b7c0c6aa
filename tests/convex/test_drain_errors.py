"""Convex errors by class (issue 11 point 4), against the emulator running the real functions.

A refused key or a wrong set-up pauses the drain and keeps every row; only rows Convex refuses
themselves are quarantined, and those can be re-queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from oa_actors.config import Config, write_secret
from oa_actors.convex import backend
from oa_actors.convex.client import ConvexHttpClient
from oa_actors.convex.drain import OutboxDrain
from oa_actors.store import Store
from tests.convex.test_drain import all_keys, convex_counts, generated
from tests.support import convex_emulator
from tests.support.convex_emulator import ConvexEmulator
from tests.support.http_proxy import ProxyAnswer, ReverseProxy

pytestmark = pytest.mark.skipif(
    not convex_emulator.available(), reason="node_modules missing: run `make test` (npm ci)"
)

ROOT = Path(__file__).resolve().parents[2]
THREADS, PER_THREAD = 10, 46  # 10 thread rows + 460 messages: 470 outbox entries


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "oa-home"


@pytest.fixture
def store(home: Path):
    s = Store.open(home / "store.sqlite3")
    threads, messages = generated(THREADS, PER_THREAD)
    s.apply_batch(threads, messages)
    assert s.outbox_last_id() == 470
    yield s
    s.close()


@contextlib.asynccontextmanager
async def running(drain: OutboxDrain) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(drain.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await drain.client.close()


async def until(cond, timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.05)


def pending(store: Store) -> int:
    return store.outbox_last_id() - store.outbox_cursor()


async def assert_all_exactly_once(client: ConvexHttpClient) -> None:
    ids = [f"thread-{t:04d}" for t in range(THREADS)]
    assert await convex_counts(client, ids) == dict.fromkeys(ids, PER_THREAD)
    for tid in ids:
        keys = await all_keys(client, tid)
        assert len(keys) == len(set(keys)) == PER_THREAD


async def test_wrong_key_pauses_keeps_the_outbox_and_a_restart_with_the_right_key_drains_it(
    store: Store,
) -> None:
    with ConvexEmulator() as emu:
        drain = OutboxDrain(store, ConvexHttpClient(emu.url, "wrong-key"), max_rows=100)
        async with running(drain):
            await until(lambda: drain.status.last_error is not None)
            await asyncio.sleep(1.5)  # paused: re-probes, sends nothing, blames no row
            assert store.count("quarantine") == 0 and drain.status.quarantined == 0
            assert store.outbox_cursor() == 0 and pending(store) == 470
            assert drain.status.state == "unauthorized" and not drain.status.connected
            assert "401" in (drain.status.last_error or "") and "BadAdminKey" in drain.status.last_error
            assert drain.status.sent_rows == 0
        # The writer restarts with the right key: the backlog drains by itself, each row once.
        drain = OutboxDrain(store, ConvexHttpClient(emu.url, emu.admin_key), max_rows=100)
        async with running(drain):
            await until(lambda: pending(store) == 0)
            assert drain.status.state == "connected" and store.count("quarantine") == 0
            await assert_all_exactly_once(drain.client)


async def test_a_fixed_key_file_is_picked_up_without_a_restart(store: Store, home: Path) -> None:
    with ConvexEmulator() as emu:
        cfg = Config(home=home, codex_home=home / "codex", convex_url=emu.url)
        key_file = backend.secrets_dir(cfg) / "admin_key"
        write_secret(key_file, "stale-key\n")
        target = backend.target(cfg)
        assert target is not None and target.admin_key == "stale-key"

        async def refresh() -> tuple[str, str | None] | None:
            t = await asyncio.to_thread(backend.target, cfg)
            return (t.url, t.admin_key) if t else None

        drain = OutboxDrain(store, ConvexHttpClient(target.url, target.admin_key), refresh=refresh)
        async with running(drain):
            await until(lambda: drain.status.state == "unauthorized")
            for _ in range(4):  # let the pause back off past the first quick re-probes
                probes = drain.status.probes
                await until(lambda p=probes: drain.status.probes > p, 30)
            assert pending(store) == 470 and store.count("quarantine") == 0
            write_secret(key_file, emu.admin_key + "\n")
            await until(lambda: pending(store) == 0, 15)  # within about a second, not the next probe
            assert drain.status.state == "connected"
            await assert_all_exactly_once(drain.client)


PROXY_ANSWERS = {
    "json-400": ProxyAnswer(400, json.dumps({"error": "request blocked by policy"})),
    "json-422-message": ProxyAnswer(422, json.dumps({"message": "Unprocessable"})),
    "html-404": ProxyAnswer(404, "<html><body>Not Found</body></html>", "text/html"),
    "html-200": ProxyAnswer(200, "<html><body>Please log in</body></html>", "text/html"),
}


@pytest.mark.parametrize("name", sorted(PROXY_ANSWERS))
async def test_a_proxy_answering_4xx_is_misconfigured_not_a_row_error(store: Store, name: str) -> None:
    with ConvexEmulator() as emu, ReverseProxy(emu.url) as proxy:
        proxy.answer = PROXY_ANSWERS[name]
        drain = OutboxDrain(store, ConvexHttpClient(proxy.url, emu.admin_key), max_rows=100)
        async with running(drain):
            await until(lambda: drain.status.last_error is not None)
            await asyncio.sleep(1.0)
            assert store.count("quarantine") == 0 and drain.status.quarantined == 0
            assert store.outbox_cursor() == 0 and pending(store) == 470
            assert drain.status.state == "misconfigured"
            assert "OPENAGENTS_CONVEX_URL" in (drain.status.last_error or "")
            # The proxy is fixed: the paused drain re-probes and the backlog drains by itself.
            proxy.answer = None
            await until(lambda: pending(store) == 0, 60)
            await assert_all_exactly_once(drain.client)
            assert store.count("quarantine") == 0


async def test_missing_functions_are_misconfigured(store: Store) -> None:
    with ConvexEmulator() as emu, ReverseProxy(emu.url) as proxy:
        # The deployment answers like one without our functions (a fresh or another project).
        proxy.answer = ProxyAnswer(
            200,
            json.dumps(
                {"status": "error", "errorMessage": "Could not find public function for 'sync:applyBatch'."}
            ),
        )
        drain = OutboxDrain(store, ConvexHttpClient(proxy.url, emu.admin_key))
        async with running(drain):
            await until(lambda: drain.status.last_error is not None)
            await asyncio.sleep(0.5)
            assert pending(store) == 470 and store.count("quarantine") == 0
            assert drain.status.state == "misconfigured"
            assert "npx convex deploy" in (drain.status.last_error or "")


def retry_quarantine(home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENAGENTS_HOME": str(home), "HOME": str(home.parent)}
    return subprocess.run(
        [sys.executable, "-m", "oa_actors", "convex", "retry-quarantine"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_bad_rows_are_quarantined_the_rest_goes_through_and_retry_resends_them(
    store: Store, home: Path
) -> None:
    _, extra = generated(1, 3)
    extra[1]["role"] = "robot"  # the Convex validator refuses this row: quarantined for good
    big = dict(extra[2], key="big-row", text="b" * 300_000)  # fits Convex, not the proxy's limit
    store.apply_batch(
        [], [dict(m, threadId="thread-0001", key=f"extra-{i}", seq=100 + i) for i, m in enumerate(extra[:2])]
    )
    store.apply_batch([], [dict(big, threadId="thread-0002", seq=100)])
    with ConvexEmulator() as emu, ReverseProxy(emu.url) as proxy:
        proxy.max_body = 200_000  # like nginx's client_max_body_size
        drain = OutboxDrain(store, ConvexHttpClient(proxy.url, emu.admin_key), max_rows=100)
        async with running(drain):
            await until(lambda: pending(store) == 0)
            assert store.count("quarantine") == 2 and drain.status.quarantined == 2
            errors = {r[0]: r[1] for r in store.conn.execute("SELECT key, error FROM quarantine")}
            assert errors["big-row"].startswith("RequestTooLarge: ")
            assert errors["extra-1"].startswith("ArgumentValidationError: ")
            assert proxy.refused_413 >= 1
            counts = await convex_counts(drain.client, ["thread-0001", "thread-0002"])
            assert counts == {"thread-0001": PER_THREAD + 1, "thread-0002": PER_THREAD}
        # The proxy's limit is raised; no supervisor runs, so the command re-queues in the store
        # under the single-instance lock, and the next drain resends both rows.
        proxy.max_body = None
        out = retry_quarantine(home)
        assert out.returncode == 0, out.stderr
        assert "re-queued 2 quarantined rows" in out.stdout
        assert store.count("quarantine") == 0 and pending(store) == 2
        drain = OutboxDrain(store, ConvexHttpClient(proxy.url, emu.admin_key))
        async with running(drain):
            await until(lambda: pending(store) == 0)
            counts = await convex_counts(drain.client, ["thread-0001", "thread-0002"])
            assert counts == {"thread-0001": PER_THREAD + 1, "thread-0002": PER_THREAD + 1}
            assert store.count("quarantine") == 1  # the invalid row is refused again, and kept
        again = retry_quarantine(home)
        assert again.returncode == 0 and "re-queued 1 quarantined row " in again.stdout
    empty = retry_quarantine(home)
    assert empty.returncode == 0


async def test_a_named_oversized_row_is_set_aside_without_bisecting(store: Store) -> None:
    """`DocumentTooLarge` names its row (table, key): the drain quarantines it in one step."""
    with ConvexEmulator() as emu:
        calls = 0
        async with ConvexHttpClient(emu.url, emu.admin_key) as client:
            real = client.mutation

            async def counting(path: str, args: dict | None = None) -> object:
                nonlocal calls
                calls += 1
                return await real(path, args)

            client.mutation = counting  # type: ignore[method-assign]
            drain = OutboxDrain(store, client, max_rows=1000)
            items = drain._resolve(store.outbox_after(0, 1000))
            # The writer cuts long rows itself (limits.fit_document); an older writer, or another
            # limit, may still send one: Convex's typed error names it.
            victim = next(i for i, it in enumerate(items) if it.table == "messages" and i > 100)
            items[victim].doc = dict(items[victim].doc or {}, text="h" * 1_100_000)
            sent = await drain._send(items)
            assert sent == 469 and calls == 2  # one refused call, then the rest at once
            (key, err) = store.conn.execute("SELECT key, error FROM quarantine").fetchone()
            assert key == items[victim].key and err.startswith("DocumentTooLarge: ")
            await assert_all_exactly_once_but(client, items[victim].key)


async def assert_all_exactly_once_but(client: ConvexHttpClient, missing: str) -> None:
    ids = [f"thread-{t:04d}" for t in range(THREADS)]
    keys = [k for tid in ids for k in await all_keys(client, tid)]
    assert len(keys) == len(set(keys)) == THREADS * PER_THREAD - 1 and missing not in keys
