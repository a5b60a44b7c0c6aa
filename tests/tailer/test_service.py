"""The tailer engine on real files, real inotify and a real SQLite store (no actors)."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
from pathlib import Path

import pytest

from oa_actors.commands.parse import rows_of
from oa_actors.store import Store
from oa_actors.tailer.service import TailerService
from oa_actors.tailer.sink import StoreSink
from tests.jsonl.corpus import CORPUS

ROLLOUTS = sorted((CORPUS / "codex-0.169.0" / "sessions").rglob("*.jsonl")) + sorted(
    (CORPUS / "codex-0.50.0" / "sessions").rglob("*.jsonl")
)


def expected_keys(paths: list[Path]) -> set[str]:
    return {r["key"] for p in paths for r in rows_of(p)[0] if r["table"] == "messages"}


async def until(cond, timeout: float = 20.0, step: float = 0.05) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(step)


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "store.sqlite3")
    yield s
    s.close()


def stored_keys(store: Store) -> set[str]:
    return {k for (k,) in store.conn.execute("SELECT key FROM messages")}


async def test_live_appends_in_random_chunks(tmp_path: Path, store: Store) -> None:
    sessions = tmp_path / "sessions"
    sink = StoreSink(store)
    svc = TailerService([sessions], sink, on_forget=sink.forget, rescan_seconds=0.5)
    await svc.start({}, backfill=True)  # the folder does not exist yet
    try:
        day = sessions / "2026" / "11" / "22"
        rng = random.Random(7)
        targets = []
        for src in ROLLOUTS:  # the whole shared corpus, both CLI versions
            day.mkdir(parents=True, exist_ok=True)
            dst = day / src.name
            targets.append(dst)
            data = src.read_bytes()
            pos = 0
            with open(dst, "wb") as f:
                while pos < len(data):
                    n = rng.randint(1, 4000)
                    f.write(data[pos : pos + n])
                    f.flush()
                    pos += n
                    if rng.random() < 0.2:
                        await asyncio.sleep(0.01)
        want = expected_keys(targets)
        await until(lambda: stored_keys(store) >= want)
        assert stored_keys(store) == want
        # Every stored row has the id the file's own session_meta gives.
        assert {t["threadId"] for t in store.threads(100)} == {p.name[-42:-6] for p in targets}
        assert svc.core.stats.errors == {"invalid_json": 0, "invalid_utf8": 0, "oversized": 0, "unknown": 0}
    finally:
        await svc.stop()


async def test_backfill_resumes_from_checkpoints(tmp_path: Path, store: Store) -> None:
    sessions = tmp_path / "sessions"
    for src in ROLLOUTS:
        dst = sessions / src.relative_to(src.parents[3])
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dst)
    files = sorted(sessions.rglob("*.jsonl"))
    sink = StoreSink(store)
    svc = TailerService([sessions], sink, watch=False, rescan_seconds=0)
    await svc.start({})
    await svc.wait_idle(30)
    await svc.stop()
    assert stored_keys(store) == expected_keys(files)
    assert svc.progress.files_done == svc.progress.files_total == len(files)
    assert not svc.progress.running
    # A restart from the committed checkpoints finds nothing left to do and writes nothing new.
    items = {p: store.checkpoint(p) for p in store.checkpoints()}
    before = store.count("outbox")
    svc2 = TailerService([sessions], sink, watch=False, rescan_seconds=0)
    await svc2.start({p: v for p, v in items.items() if v is not None})
    await svc2.wait_idle(30)
    await svc2.stop()
    assert svc2.progress.files_total == 0 and store.count("outbox") == before


async def test_truncate_replace_delete_and_garbage(tmp_path: Path, store: Store) -> None:
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    sink = StoreSink(store)
    svc = TailerService([sessions], sink, on_forget=sink.forget, rescan_seconds=0.3)
    await svc.start({})
    try:
        src = ROLLOUTS[3]
        dst = sessions / src.name
        data = src.read_bytes()
        dst.write_bytes(data[: len(data) // 2] + b"garbage line\n\xff\xfe\n")
        await until(lambda: svc.core.stats.errors["invalid_utf8"] >= 1)
        # Truncated: the tail restarts from 0; then the file grows again with the real content.
        dst.write_bytes(b"")
        await until(lambda: svc.core.stats.resets >= 1)
        with open(dst, "ab") as f:
            f.write(data)
        await until(lambda: stored_keys(store) >= expected_keys([src]))
        n = store.count("messages")
        # Replace it under the same name with a copy (new inode): still nothing new.
        tmp = sessions / "x.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, dst)
        await asyncio.sleep(1.0)
        assert store.count("messages") == n
        # Rewritten in place with the same head and a longer body: detected, nothing duplicated.
        resets = svc.core.stats.resets
        dst.write_bytes(data[:3000] + b"\n" + data)
        await until(lambda: svc.core.stats.resets > resets)
        await asyncio.sleep(0.5)
        assert store.count("messages") == n
        # Delete it: its checkpoint goes, its rows stay.
        dst.unlink()
        await until(lambda: store.checkpoint(str(dst)) is None and str(dst) not in svc.core.known())
        assert store.count("messages") == n
    finally:
        await svc.stop()


async def test_many_files_few_descriptors(tmp_path: Path, store: Store) -> None:
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    line = (
        b'{"timestamp":"2026-11-22T01:00:00.000Z","type":"event_msg","payload":{"type":"user_message",'
        b'"message":"hello %d"}}\n'
    )
    for i in range(600):
        (sessions / f"rollout-2026-11-22T01-00-00-00000000-0000-0000-0000-{i:012d}.jsonl").write_bytes(
            line % i
        )
    sink = StoreSink(store)
    svc = TailerService([sessions], sink, watch=False, rescan_seconds=0, max_open=16)
    await svc.start({})
    await svc.wait_idle(60)
    assert svc.core.open_files <= 16
    assert store.count("messages") == 600 and store.count("threads") == 600
    await svc.stop()
    assert svc.core.open_files == 0


async def test_lost_watch_events_are_found_by_the_rescan(tmp_path: Path, store: Store) -> None:
    # Stands in for an inotify queue overflow: the watch delivers nothing, the periodic rescan
    # still finds every appended byte.
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    sink = StoreSink(store)
    svc = TailerService([sessions], sink, rescan_seconds=0.3)
    await svc.start({})
    try:
        assert svc._watch is not None
        svc._watch.stop()
        src = ROLLOUTS[0]
        (sessions / src.name).write_bytes(src.read_bytes())
        await until(lambda: stored_keys(store) >= expected_keys([src]))
    finally:
        await svc.stop()


async def test_a_100_mb_line_is_skipped_with_bounded_memory(tmp_path: Path, store: Store) -> None:
    import psutil

    sessions = tmp_path / "sessions"
    sessions.mkdir()
    src = ROLLOUTS[0]
    path = sessions / src.name
    with open(path, "wb") as f:
        f.write(src.read_bytes())
        f.write(
            b'{"type":"event_msg","payload":{"type":"user_message","message":"'
            + b"x" * (100 << 20)
            + b'"}}\n'
        )
        f.write(
            b'{"timestamp":"2026-11-22T02:00:00.000Z","type":"event_msg","payload":{"type":"user_message",'
            b'"message":"after the big line"}}\n'
        )
    sink = StoreSink(store)
    svc = TailerService([sessions], sink, watch=False, rescan_seconds=0)
    proc = psutil.Process()
    before = proc.memory_info().rss
    await svc.start({})
    await svc.wait_idle(60)
    await svc.stop()
    grown = proc.memory_info().rss - before
    assert svc.core.stats.errors["oversized"] == 1
    texts = {m["text"] for m in store.messages_for_thread(src.name[-42:-6], limit=1000)}
    assert "after the big line" in texts
    assert grown < 80 << 20, f"RSS grew by {grown >> 20} MiB reading past a 100 MiB line (limit 32 MiB)"


async def test_backfill_merges_batches_and_commits_every_checkpoint(tmp_path: Path, store: Store) -> None:
    """While files are queued, batches of several files go out as one RowBatch with all their
    checkpoints; each checkpoint travels with (or after) every row read before it in its file,
    and nothing is held back once the service is idle."""
    sessions = tmp_path / "sessions"
    for src in ROLLOUTS:
        dst = sessions / src.relative_to(src.parents[3])
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dst)
    files = sorted(sessions.rglob("*.jsonl"))
    sink = StoreSink(store)
    sent: list = []
    seen_keys: set[str] = set()

    async def send(batch) -> None:
        sent.append(batch)
        seen_keys.update(m["key"] for m in batch.messages)
        for path, offset, _snap in batch.all_checkpoints():
            if offset == os.path.getsize(
                path
            ):  # a file's last checkpoint: all its rows come with or before it
                assert {r["key"] for r in rows_of(Path(path))[0] if r["table"] == "messages"} <= seen_keys
        await sink(batch)

    svc = TailerService([sessions], send, watch=False, rescan_seconds=0)
    await svc.start({})
    await svc.wait_idle(30)
    assert svc.core.held == 0
    await svc.stop()
    assert stored_keys(store) == expected_keys(files)
    assert len(sent) < len(files)  # merged
    assert any(len(b.all_checkpoints()) > 1 for b in sent)
    assert {p: store.checkpoint(p)[0] for p in store.checkpoints()} == {
        str(p): p.stat().st_size for p in files
    }


async def test_a_live_append_is_sent_at_once_while_grouping(tmp_path: Path, store: Store) -> None:
    sessions = tmp_path / "sessions"
    day = sessions / "2026" / "11" / "22"
    day.mkdir(parents=True)
    sink = StoreSink(store)
    svc = TailerService([sessions], sink, on_forget=sink.forget, rescan_seconds=0)
    await svc.start({})
    try:
        src = ROLLOUTS[0]
        lines = src.read_bytes().splitlines(keepends=True)
        dst = day / src.name
        with open(dst, "wb") as f:
            f.write(b"".join(lines[:3]))
        await svc.wait_idle(10)
        await until(
            lambda: (
                store.checkpoint(str(dst)) is not None and store.checkpoint(str(dst))[0] == dst.stat().st_size
            )
        )
        assert svc.core.held == 0
    finally:
        await svc.stop()
