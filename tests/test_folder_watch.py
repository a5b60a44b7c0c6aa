"""The one watchdog-to-asyncio bridge (issue 12 item 6), with real inotify, and its two owners:
the sessions tailer and the FS syncer behave the same for missing roots, watch-limit errors and
exceptions on the watch thread."""

from __future__ import annotations

import asyncio
import errno
import logging
from pathlib import Path
from typing import Any

import pytest

from oa_actors.folder_watch import FolderWatch, WatchThreadDied
from oa_actors.fs.syncer import FolderReconciler
from oa_actors.store import Store
from oa_actors.tailer.service import TailerService
from oa_actors.tailer.sink import StoreSink
from tests.support.gen import write_sessions
from tests.tailer.test_service import expected_keys, stored_keys, until


class Events:
    def __init__(self) -> None:
        self.paths: list[tuple[str, bool]] = []
        self.errors: list[BaseException] = []

    def on_path(self, path: str, is_dir: bool) -> None:
        self.paths.append((path, is_dir))

    def on_error(self, exc: BaseException) -> None:
        self.errors.append(exc)


async def test_a_missing_root_is_watched_through_its_parent_then_itself(tmp_path: Path) -> None:
    ev = Events()
    watch = FolderWatch(asyncio.get_running_loop(), ev.on_path, on_error=ev.on_error)
    root = tmp_path / "home" / "sessions"
    try:
        # The parent standing in for the missing root is new: the root is reported (read it again).
        assert watch.sync([root]) == [root]
        assert watch.watched == [{"path": str(tmp_path), "recursive": False}]
        assert watch.sync([root]) == []  # nothing new
        (tmp_path / "home").mkdir()
        await until(lambda: (str(tmp_path / "home"), True) in ev.paths)
        assert watch.sync([root]) == [root]  # now the nearest parent is home/, watched only now
        root.mkdir()
        await until(lambda: (str(root), True) in ev.paths)
        assert watch.sync([root]) == [root]
        (root / "a.jsonl").write_text("x\n")
        await until(lambda: (str(root / "a.jsonl"), False) in ev.paths)
        assert watch.watched == [{"path": str(root), "recursive": True}] and ev.errors == []
    finally:
        watch.stop()


async def test_an_exception_on_the_watch_thread_reaches_the_loop(tmp_path: Path) -> None:
    ev = Events()

    def accept(path: str, is_dir: bool) -> bool:
        raise RuntimeError(f"boom on {path}")

    watch = FolderWatch(asyncio.get_running_loop(), ev.on_path, on_error=ev.on_error, accept=accept)
    try:
        watch.sync([tmp_path])
        (tmp_path / "f").write_text("x")
        await until(lambda: bool(ev.errors))
        assert "boom on" in str(ev.errors[0]) and ev.paths == []
        # A dead observer thread is not silent either: the next sync raises.
        watch._observer.stop()
        watch._observer.join(5)
        with pytest.raises(WatchThreadDied):
            watch.sync([tmp_path])
    finally:
        watch.stop()


def refuse_watches(watch: FolderWatch, monkeypatch: pytest.MonkeyPatch) -> None:
    def schedule(*_a: Any, **_kw: Any) -> Any:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(watch._observer, "schedule", schedule)


async def test_tailer_falls_back_to_rescans_when_watches_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store.open(tmp_path / "store.sqlite3")
    sink = StoreSink(store)
    root = tmp_path / "sessions"
    root.mkdir()
    svc = TailerService([root], sink, rescan_seconds=0.2, watch=False)
    svc._watch = FolderWatch(asyncio.get_running_loop(), svc._on_event, on_error=svc._on_watch_error)
    refuse_watches(svc._watch, monkeypatch)
    try:
        with caplog.at_level(logging.WARNING, logger="oa.watch"):
            await svc.start({})
            paths = write_sessions(root, 3)
            await until(lambda: stored_keys(store) >= expected_keys(paths))
            await until(lambda: svc.watch_failures >= 3)  # tried again at every rescan ...
        assert sum("relying on periodic rescans" in r.message for r in caplog.records) == 1  # ... logged once
    finally:
        await svc.stop()
        store.close()


async def test_tailer_read_task_fails_on_a_watch_thread_exception(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store.sqlite3")
    sink = StoreSink(store)
    svc = TailerService([tmp_path], sink, rescan_seconds=0)
    await svc.start({})
    try:
        assert svc._watch is not None

        def accept(path: str, is_dir: bool) -> bool:
            raise RuntimeError("boom in the watch thread")

        svc._watch._accept = accept
        (tmp_path / "x.jsonl").write_text("{}\n")
        read_task = svc._tasks[0]
        await asyncio.wait_for(asyncio.shield(asyncio.wait([read_task])), 10)
        assert isinstance(read_task.exception(), RuntimeError)
    finally:
        await svc.stop()
        store.close()


async def test_fs_syncer_task_fails_on_a_watch_thread_exception(tmp_path: Path) -> None:
    async def on_changes(_changes: Any) -> None:
        return None

    syncer = FolderReconciler(tmp_path / "home", None, on_changes, rescan_interval=None)
    await syncer.start()
    try:
        assert syncer._watch is not None

        def accept(path: str, is_dir: bool) -> bool:
            raise RuntimeError("boom in the watch thread")

        syncer._watch._accept = accept
        (tmp_path / "home" / "skills" / "s").mkdir()
        debounce = syncer._tasks[0]
        await asyncio.wait_for(asyncio.shield(asyncio.wait([debounce])), 10)
        assert isinstance(debounce.exception(), RuntimeError)
    finally:
        await syncer.stop()


async def test_fs_syncer_counts_refused_watches_and_logs_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    syncer = FolderReconciler(tmp_path / "home", None, None, rescan_interval=None)
    real = FolderWatch.__init__

    def init(self: FolderWatch, *a: Any, **kw: Any) -> None:
        real(self, *a, **kw)
        refuse_watches(self, monkeypatch)

    monkeypatch.setattr(FolderWatch, "__init__", init)
    with caplog.at_level(logging.WARNING, logger="oa.watch"):
        await syncer.start()
        await syncer.refresh()
    try:
        st = syncer.stats()
        assert st["watched"] == [] and st["watchFailures"] >= 4  # projects + skills, twice
        assert sum("relying on periodic rescans" in r.message for r in caplog.records) == 2  # once per folder
    finally:
        await syncer.stop()
