"""Claude Code session files through the tailer engine: real files, real inotify, a real SQLite store.

Each test runs on every JSONL backend: `oa_actors.jsonl.JsonlTail` (what the tailer uses) is set to
each backend in turn; the expected rows come from the pure-Python twin, the spec.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from oa_actors import jsonl
from oa_actors.jsonl import _pytail
from oa_actors.jsonl.files import parse_file
from oa_actors.runner.manager import RunManager
from oa_actors.store import Store
from oa_actors.tailer.service import TailerService
from oa_actors.tailer.sink import StoreSink
from tests.jsonl.corpus import CLAUDE_VERSION, CORPUS, manifest
from tests.support import claude_convo
from tests.support.mock_anthropic import MockAnthropic

BASE = CORPUS / CLAUDE_VERSION / "projects"
SESSIONS = sorted(BASE.rglob("*.jsonl"))
ROOT = Path(__file__).resolve().parents[2]
CLAUDE = ROOT / "node_modules" / ".bin" / "claude"


@pytest.fixture(autouse=True, params=sorted(jsonl.implementations()))
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonl, "JsonlTail", jsonl.implementations()[request.param])


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "store.sqlite3")
    yield s
    s.close()


def rows_of(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    _, batches = parse_file(path, _pytail.JsonlTail(str(path), source="claude"))
    return [m for b in batches for m in b.messages], [t for b in batches for t in b.threads][-1]


def stored_keys(store: Store) -> set[str]:
    return {k for (k,) in store.conn.execute("SELECT key FROM messages")}


def stored_threads(store: Store) -> dict[str, dict[str, Any]]:
    return {t["threadId"]: t for t in store.threads(1000)}


async def until(cond, timeout: float = 30.0, step: float = 0.05) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(step)


def is_claude(root: Path):
    prefix = str(root).rstrip("/") + "/"
    return lambda p: "claude" if p.startswith(prefix) else "codex"


async def test_incremental_writes_are_mirrored_exactly_once(tmp_path: Path, store: Store) -> None:
    projects = tmp_path / "claude" / "projects"
    sink = StoreSink(store)
    svc = TailerService(
        [projects], sink, on_forget=sink.forget, rescan_seconds=0.5, source_of=is_claude(projects)
    )
    await svc.start({}, backfill=True)  # the folder does not exist yet
    try:
        rng = random.Random(11)
        targets = []
        for src in SESSIONS:
            dst = projects / src.relative_to(BASE)
            dst.parent.mkdir(parents=True, exist_ok=True)
            targets.append((src, dst))
            data = src.read_bytes()
            pos = 0
            with open(dst, "wb") as f:
                while pos < len(data):
                    n = rng.randint(1, 3000)
                    f.write(data[pos : pos + n])
                    f.flush()
                    pos += n
                    if rng.random() < 0.2:
                        await asyncio.sleep(0.01)
        want = {m["key"] for src, _ in targets for m in rows_of(src)[0]}
        await until(lambda: stored_keys(store) >= want)
        await asyncio.sleep(0.5)
        assert stored_keys(store) == want
        assert store.count("messages") == len(want)
        threads = stored_threads(store)
        expected = {rows_of(src)[1]["threadId"] for src, _ in targets}
        assert set(threads) == expected
        assert {t["source"] for t in threads.values()} == {"claude"}
        for e in manifest(CLAUDE_VERSION):
            assert e["session_id"] in threads, e["run"]
        sub = "96ad6385-f9dc-4cbf-99cd-1e1c2e35d5de/agent-ac4f11bf2fc190939"
        assert threads[sub]["parentThreadId"] == "96ad6385-f9dc-4cbf-99cd-1e1c2e35d5de"
        # The resumed and compacted session: every row once, in file order, under its sessionId.
        rows = store.messages_for_thread("c09da64e-8c77-4838-b53b-b65a7bb6c7c8", limit=1000)
        assert [m["text"] for m in rows if m["role"] == "user"] == [
            "[[S:resume1]] Remember the secret word: pineapple.",
            "[[S:resume2]] What was the secret word?",
            "[[S:resume3]] Run pwd, then finish.",
            "[[S:plain]] Hello after compaction.",
        ]
    finally:
        await svc.stop()


async def test_backfill_then_restart_from_checkpoints_adds_nothing(tmp_path: Path, store: Store) -> None:
    projects = tmp_path / "claude" / "projects"
    shutil.copytree(BASE, projects)
    sink = StoreSink(store)
    svc = TailerService([projects], sink, watch=False, rescan_seconds=0, source_of=is_claude(projects))
    await svc.start({})
    await svc.wait_idle(30)
    await svc.stop()
    assert stored_keys(store) == {m["key"] for src in SESSIONS for m in rows_of(src)[0]}
    assert svc.progress.files_done == svc.progress.files_total == len(SESSIONS)
    items = {p: store.checkpoint(p) for p in store.checkpoints()}
    before = store.count("outbox")
    # A resumed session appends a turn; after a restart only the new rows arrive.
    resumed = next(projects.rglob("c09da64e-8c77-4838-b53b-b65a7bb6c7c8.jsonl"))
    n_before = len(store.messages_for_thread("c09da64e-8c77-4838-b53b-b65a7bb6c7c8", limit=1000))
    extra = (
        '{"parentUuid":"2d6e9ffa-17eb-449a-aba2-90ccf1e152e2","isSidechain":false,"promptId":"p-extra","type":"user",'
        '"message":{"role":"user","content":"One more turn"},"uuid":"u-extra",'
        '"timestamp":"2026-11-22T03:00:00.000Z",'
        '"cwd":"/home/dev/work/resume","sessionId":"c09da64e-8c77-4838-b53b-b65a7bb6c7c8","version":"2.1.197","gitBranch":"main"}\n'
    )
    with open(resumed, "a") as f:
        f.write(extra)
    svc2 = TailerService([projects], sink, watch=False, rescan_seconds=0, source_of=is_claude(projects))
    await svc2.start({p: v for p, v in items.items() if v is not None})
    await svc2.wait_idle(30)
    await svc2.stop()
    assert svc2.progress.files_total == 1
    assert store.count("outbox") > before
    after = store.messages_for_thread("c09da64e-8c77-4838-b53b-b65a7bb6c7c8", limit=1000)
    assert len(after) == n_before + 1 and after[-1]["text"] == "One more turn"


@pytest.mark.e2e
@pytest.mark.skipif(not CLAUDE.exists(), reason="node_modules missing: run `make test` (npm install)")
async def test_real_cli_runs_and_an_outside_session_are_mirrored_once(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs of the claude provider (a new session, then a resumed turn) and a session started by
    hand outside the supervisor, all while the tailer watches `<CLAUDE_CONFIG_DIR>/projects`."""
    ws = tmp_path / "ws"
    ws.mkdir()
    config = tmp_path / "claude"
    projects = config / "projects"
    with MockAnthropic() as mock:
        env = {
            **mock.env(str(config)),
            "HOME": str(tmp_path),
            "CLAUDE_BIN": str(CLAUDE),
            "OPENAGENTS_CLAUDE_ARGS": "--dangerously-skip-permissions",
        }
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        sink = StoreSink(store)
        svc = TailerService(
            [projects], sink, on_forget=sink.forget, rescan_seconds=0.5, source_of=is_claude(projects)
        )
        await svc.start({})
        try:
            events: list[dict[str, Any]] = []

            async def on_event(e: dict[str, Any]) -> None:
                events.append(e)

            mgr = RunManager(on_event, logs_dir=tmp_path / "logs")
            r1 = await mgr.submit("T", "First [[S:bash]] cmd: echo mirrored", cwd=str(ws), provider="claude")
            async with asyncio.timeout(90):
                while r1.status not in ("done", "failed", "interrupted"):
                    await asyncio.sleep(0.05)
            r2 = await mgr.submit("T", "Second turn", cwd=str(ws), provider="claude")
            async with asyncio.timeout(90):
                while r2.status not in ("done", "failed", "interrupted"):
                    await asyncio.sleep(0.05)
            assert r1.status == r2.status == "done" and r1.sessionId == r2.sessionId
            outside = subprocess.run(
                [str(CLAUDE), "-p", "Started by hand", "--output-format", "stream-json", "--verbose"],
                cwd=ws,
                env={**os.environ, **env},
                capture_output=True,
                timeout=120,
                check=True,
            )
            sid_outside = re.search(rb'"session_id":"([0-9a-f-]{36})"', outside.stdout).group(1).decode()  # type: ignore[union-attr]
            files = sorted(projects.rglob("*.jsonl"))
            assert len(files) == 2
            want = {m["key"] for f in files for m in rows_of(f)[0]}
            await until(lambda: stored_keys(store) >= want, 60)
            await asyncio.sleep(1.0)
            assert stored_keys(store) == want and store.count("messages") == len(want)
            threads = stored_threads(store)
            assert set(threads) == {r1.sessionId, sid_outside}
            assert {t["source"] for t in threads.values()} == {"claude"}
            run_rows = store.messages_for_thread(r1.sessionId, limit=100)
            assert [(m["role"], m["kind"]) for m in run_rows] == [
                ("user", "message"),
                ("tool", "cmd"),
                ("assistant", "message"),
                ("user", "message"),
                ("assistant", "message"),
            ]
            assert run_rows[1]["data"]["exitCode"] == 0 and run_rows[1]["data"]["output"] == "mirrored"
            assert [m["text"] for m in store.messages_for_thread(sid_outside, limit=100)] == [
                "Started by hand",
                "Echo: Started by hand",
            ]
        finally:
            await svc.stop()


# -- conversation order (docs/rows.md, "Order") --------------------------------------------------------
def shuffled_sessions(n: int, turns: int = 4) -> list[tuple[str, bytes, bytes]]:
    """(sessionId, the file in chain order, the same records written out of order) x n."""
    out = []
    for i in range(n):
        sid = f"5e55{i:04x}-0000-4000-8000-000000000000"
        ordered, shuffled = claude_convo.session(1000 + i, turns, sid)
        out.append((sid, ordered, shuffled))
    return out


def chain_rows(ordered: bytes) -> list[tuple[Any, ...]]:
    """The rows of the file in chain order, as the conversation reads (no file-order fields)."""
    tail = _pytail.JsonlTail("x.jsonl")
    return [claude_convo.content(m) for m in tail.feed(ordered, final=True).messages]


def assert_stored_in_chain_order(store: Store, sessions: list[tuple[str, bytes, bytes]]) -> None:
    exported = [r for r in store.export() if r["table"] == "messages"]
    for sid, ordered, _ in sessions:
        want = chain_rows(ordered)
        rows = store.messages_for_thread(sid, limit=10_000)
        assert [claude_convo.content(m) for m in rows] == want, sid
        assert [claude_convo.content(m) for m in exported if m["threadId"] == sid] == want, sid


async def test_shuffled_sessions_live_across_a_restart_sort_in_chain_order(
    tmp_path: Path, store: Store
) -> None:
    """Records written out of order, appended in random chunks while the tailer runs, with a
    restart from the committed checkpoints (snapshots) in the middle: the store, its export and
    every stored seq follow the conversation."""
    projects = tmp_path / "claude" / "projects"
    sessions = shuffled_sessions(6)
    files = {sid: projects / "-w" / f"{sid}.jsonl" for sid, _, _ in sessions}
    sink = StoreSink(store)
    rng = random.Random(5)

    def service() -> TailerService:
        return TailerService(
            [projects], sink, on_forget=sink.forget, rescan_seconds=0.5, source_of=is_claude(projects)
        )

    async def write(upto: float) -> None:
        for sid, _, data in sessions:
            dst = files[sid]
            dst.parent.mkdir(parents=True, exist_ok=True)
            start = dst.stat().st_size if dst.exists() else 0
            end = int(len(data) * upto)
            with open(dst, "ab") as f:
                pos = start
                while pos < end:
                    n = min(rng.randint(1, 1500), end - pos)
                    f.write(data[pos : pos + n])
                    f.flush()
                    pos += n
                    if rng.random() < 0.3:
                        await asyncio.sleep(0.01)

    def expected_keys() -> set[str]:
        return {m["key"] for _, _, data in sessions for m in _pytail.JsonlTail("x").feed(data, True).messages}

    svc = service()
    await svc.start({}, backfill=True)
    try:
        await write(0.55)
        await asyncio.sleep(1.0)
    finally:
        await svc.stop()
    checkpoints = {p: store.checkpoint(p) for p in store.checkpoints()}
    assert checkpoints, "the first run committed checkpoints"
    svc = service()
    await svc.start({p: v for p, v in checkpoints.items() if v is not None})
    try:
        await write(1.0)
        want = {m["key"] for sid, _, data in sessions for m in rows_of(files[sid])[0]}
        assert want == expected_keys()
        await until(lambda: stored_keys(store) >= want)
        await asyncio.sleep(0.3)
        assert stored_keys(store) == want
    finally:
        await svc.stop()
    assert_stored_in_chain_order(store, sessions)
    seqs = [m["seq"] for m in store.iter_messages()]
    assert any(isinstance(s, float) for s in seqs)  # some rows were written late and placed between


async def test_shuffled_sessions_backfill_sorts_in_chain_order(tmp_path: Path, store: Store) -> None:
    projects = tmp_path / "claude" / "projects"
    sessions = shuffled_sessions(5)
    for sid, _, data in sessions:
        dst = projects / "-w" / f"{sid}.jsonl"
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(data)
    sink = StoreSink(store)
    svc = TailerService([projects], sink, watch=False, rescan_seconds=0, source_of=is_claude(projects))
    await svc.start({})
    await svc.wait_idle(30)
    await svc.stop()
    assert_stored_in_chain_order(store, sessions)
