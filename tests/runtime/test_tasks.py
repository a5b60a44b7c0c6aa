"""Supervised tasks (oa_actors/runtime/tasks.py), and the services' default when no actor runs them:
a failed loop is never silent, it is raised to the caller (`wait_idle`, `refresh`)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from oa_actors.fs import syncer as fs_syncer
from oa_actors.fs.syncer import FolderReconciler
from oa_actors.messages import RowBatch
from oa_actors.runtime.tasks import LocalTasks, TaskFailed, spawn_supervised
from oa_actors.tailer.service import TailerService
from tests.fs.helpers import write_project
from tests.support.gen import write_sessions


async def test_spawn_supervised_reports_a_raise_and_a_return_but_not_a_cancel() -> None:
    failures: list[TaskFailed] = []

    async def boom() -> None:
        await asyncio.sleep(0)
        raise KeyError("gone")

    async def ends() -> None:
        await asyncio.sleep(0)

    async def forever() -> None:
        await asyncio.Event().wait()

    raised = spawn_supervised(boom(), "boom", failures.append)
    ended = spawn_supervised(ends(), "ends", failures.append)
    cancelled = spawn_supervised(forever(), "forever", failures.append)
    await asyncio.sleep(0.05)
    cancelled.cancel()
    await asyncio.gather(raised, ended, cancelled, return_exceptions=True)
    await asyncio.sleep(0)
    assert [str(f) for f in failures] == [
        "background task 'boom' failed: KeyError: 'gone'",
        "background task 'ends' ended, but it must run until cancelled",
    ]
    assert isinstance(failures[0].__cause__, KeyError) and failures[0].task_name == "boom"
    assert failures[1].__cause__ is None


async def test_local_tasks_log_the_first_failure_once_and_raise_it(caplog: pytest.LogCaptureFixture) -> None:
    woken: list[bool] = []
    tasks = LocalTasks(logging.getLogger("oa.test"), on_failure=lambda: woken.append(True))

    async def boom() -> None:
        raise ValueError("bad")

    t = tasks.spawn(boom(), "b")
    with pytest.raises(ValueError):
        await t
    await asyncio.sleep(0)
    assert woken == [True]
    with pytest.raises(TaskFailed, match="background task 'b' failed: ValueError: bad"):
        tasks.raise_failure()
    records = [r for r in caplog.records if r.name == "oa.test"]
    assert len(records) == 1 and records[0].exc_info is not None


async def test_tailer_service_raises_a_failed_read_loop_from_wait_idle(tmp_path: Path) -> None:
    """Without an actor (`oa-supervisor backfill`), an unexpected error in the read loop used to
    leave the loop dead and `wait_idle` waiting forever; now `wait_idle` raises it."""
    sessions = tmp_path / "sessions"
    write_sessions(sessions, 2, turns=1)

    async def broken_sink(batch: RowBatch) -> None:
        raise RuntimeError("the store is gone")

    svc = TailerService([sessions], broken_sink, watch=False, rescan_seconds=0)
    await svc.start({})
    try:
        with pytest.raises(TaskFailed, match="'tailer-read' failed: RuntimeError: the store is gone"):
            await svc.wait_idle(30)
    finally:
        await svc.stop()


async def test_fs_syncer_raises_a_failed_loop_from_refresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    syncer = FolderReconciler(home, None, debounce=0.01, rescan_interval=None)
    await syncer.start()
    try:

        def unreadable(*args: object) -> object:
            raise PermissionError(13, "Permission denied", str(home / "projects"))

        monkeypatch.setattr(fs_syncer, "rescan", unreadable)
        write_project(home, "p", "P", work)  # a watch event: the debounce loop rescans and fails
        async with asyncio.timeout(20):
            while syncer.failure is None:
                await asyncio.sleep(0.02)
        assert "'fs-syncer-debounce' failed: PermissionError" in str(syncer.failure)
        with pytest.raises(TaskFailed):
            await syncer.refresh()
    finally:
        await syncer.stop()
