"""The tailer as a service: watches, rescans, backfill with progress, and one read loop.

Live changes are read before backfill work, so a session being written shows up at once even
while thousands of old files are imported: a `BackfillGate` (the actor's send window to the
writer) holds back the next backfill file while enough of it is in flight, and a live change
wakes the loop out of that wait; the sender learns from `reading_live` that a batch comes from a
live read (the actor sends it ahead of the writer's queue when that is safe).
Used by the `sessions_tailer` actor and by `oa-supervisor backfill` when no supervisor is running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from oa_actors.folder_watch import FolderWatch
from oa_actors.messages import BackfillStatus, RowBatch
from oa_actors.runtime.tasks import LocalTasks, Spawn
from oa_actors.tailer.batches import (
    BACKFILL_WINDOW_BATCHES,
    GROUP_BYTES,
    GROUP_ROWS,
    LIVE_GROUP_BYTES,
    LIVE_GROUP_ROWS,
    LIVE_SECONDS,
)
from oa_actors.tailer.core import TailerCore
from oa_actors.tailer.files import SUFFIX, list_session_files

log = logging.getLogger("oa.tailer")

NEWEST_FIRST = 20
RESCAN_SECONDS = 2.0
IDLE_CLOSE_SECONDS = 30.0
# Folder events are coalesced and their folders listed at most this often. Every file created,
# moved or deleted also reports its folder as modified, and listing the folder each time made
# ingestion quadratic: 2,500 files created in one day folder meant millions of `stat` calls in
# event callbacks that ran ahead of the read loop, so nothing was read for minutes while status
# said "running". The files themselves arrive as file events; the listing only catches files
# created before a new folder was watched.
DIR_SCAN_SECONDS = 0.5


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _wanted(path: str, is_dir: bool) -> bool:
    # Filters watch events on the observer thread: folders (a new day, a root appearing) and
    # session files; nothing else wakes the loop.
    return is_dir or path.endswith(SUFFIX)


class BackfillGate(Protocol):
    """When the next backfill file may be read: while fewer than `window` bytes sent are not
    committed yet (`is_open` now, or `wait` until then)."""

    def is_open(self, window: int) -> bool: ...

    async def wait(self, window: int) -> None: ...


class TailerService:
    """Keeps `roots` mirrored: every appended line of every `*.jsonl` below them becomes rows."""

    def __init__(
        self,
        roots: list[Path],
        send: Callable[[RowBatch], Awaitable[None]],
        *,
        on_forget: Callable[[str], Awaitable[None]] | None = None,
        on_progress: Callable[[BackfillStatus], Awaitable[None]] | None = None,
        watch: bool = True,
        rescan_seconds: float = RESCAN_SECONDS,
        max_open: int = 64,
        source_of: Callable[[str], str] | None = None,
        spawn: Spawn | None = None,
        gate: BackfillGate | None = None,
    ) -> None:
        self.roots = [Path(r) for r in roots]
        self._gate = gate
        self._last_live = -LIVE_SECONDS  # when a live read last happened (monotonic)
        # True while the batches being sent come from a live read (see the module docstring).
        self.reading_live = False
        # `spawn` starts the read and rescan loops supervised: `ctx.spawn` in the actor (a failure
        # crashes it); by default a failure is kept and raised by `wait_idle`.
        self._local_tasks = LocalTasks(log, on_failure=self._wake_waiters)
        self._spawn: Spawn = spawn or self._local_tasks.spawn
        # `source_of(path)` names the agent of a new file's thread ("codex" unless told otherwise).
        # The core merges consecutive batches while more files are queued (one transaction in the
        # writer for several files); `_read` flushes them as soon as nothing more is queued, and
        # after every live read, so a live append is still sent at once.
        self.core = (
            TailerCore(send, max_open=max_open, group=True)
            if source_of is None
            else TailerCore(send, max_open=max_open, source_of=source_of, group=True)
        )
        self._on_forget = on_forget
        self._on_progress = on_progress
        self._use_watch = watch
        self._watch: FolderWatch | None = None
        self._failure: BaseException | None = None  # raised by the read loop (the actor crashes)
        self.rescan_seconds = rescan_seconds
        self._live: dict[str, None] = {}  # ordered set of paths to read soon
        self._dirs: dict[str, None] = {}  # folders to list soon (coalesced, see DIR_SCAN_SECONDS)
        self._last_dir_scan = 0.0
        self.folder_scans = 0  # folder listings done for folder events (status: folderScans)
        self._backlog: list[str] = []  # backfill order (newest first), consumed from the front
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self.progress = BackfillStatus(
            running=False, files_done=0, files_total=0, bytes_done=0, bytes_total=0, rows=0
        )
        self._backfill_set: set[str] = set()
        self._last_progress = 0.0

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self, checkpoints: dict[str, tuple[int, bytes | None]], backfill: bool = True) -> None:
        self.core.restore(checkpoints)
        if self._use_watch:
            self._watch = FolderWatch(
                asyncio.get_running_loop(), self._on_event, on_error=self._on_watch_error, accept=_wanted
            )
            self._watch.sync(self.roots)
        if backfill:
            self.start_backfill()
        self._tasks = [self._spawn(self._read_loop(), "tailer-read")]
        if self.rescan_seconds > 0:
            self._tasks.append(self._spawn(self._rescan_loop(), "tailer-rescan"))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):  # a failure was reported already
                await t
        if self._watch:
            self._watch.stop()
        self.core.close_all()

    @property
    def watched(self) -> list[str]:
        """Folders watched recursively now (a missing root's parent is watched too, not listed)."""
        return [str(w["path"]) for w in self._watch.watched if w["recursive"]] if self._watch else []

    @property
    def watch_failures(self) -> int:
        return self._watch.failures if self._watch else 0

    # -- inputs ---------------------------------------------------------------------------------
    def _on_event(self, path: str, is_dir: bool) -> None:
        # A loop callback: an exception here would only be logged by the loop, so it goes to the
        # read loop instead (which raises it: the actor crashes and is restarted).
        try:
            self._route_event(path, is_dir)
        except Exception as exc:
            self._on_watch_error(exc)

    def _route_event(self, path: str, is_dir: bool) -> None:
        roots = [str(r) for r in self.roots]
        if is_dir:
            if self._watch is not None and any(_under(r, path) for r in roots):
                # A root (or a folder above it) appeared, went or was replaced: watch it now.
                self._sync_watch()
            if any(_under(path, r) for r in roots):
                # A new folder (a new day) may hold files that predate its watch: list it soon,
                # once for however many events it gets meanwhile.
                self._dirs[path] = None
                self._idle.clear()
                self._wake.set()
        elif any(_under(path, r) for r in roots):
            self.mark(path)

    def _on_watch_error(self, exc: BaseException) -> None:
        self._failure = exc
        self._wake.set()

    def _sync_watch(self) -> None:
        assert self._watch is not None
        fresh = [root for root in self._watch.sync(self.roots) if root.is_dir()]
        for root in fresh:
            log.info("%s is watched now: reading it", root)
        self._mark_files(fresh)

    def _mark_files(self, folders: list[Path]) -> None:
        if folders:
            for p, size, _mtime in list_session_files(folders, self.core.skipped):
                if self.core.pending(p, size):
                    self.mark(p)

    def _scan_dirs(self) -> None:
        """List the folders that had events since the last listing (one walk per subtree)."""
        kept: list[str] = []
        for d in sorted(self._dirs):
            if not (kept and _under(d, kept[-1])):
                kept.append(d)
        self._dirs.clear()
        self._last_dir_scan = time.monotonic()
        self.folder_scans += 1
        self._mark_files([Path(d) for d in kept])

    def mark(self, path: str) -> None:
        """Read this file soon (live priority)."""
        self._live[path] = None
        self._idle.clear()
        self._wake.set()

    def start_backfill(self, roots: list[Path] | None = None) -> BackfillStatus:
        """Queue every file with unread bytes: the ~20 newest first, then the rest, newest first."""
        files = list_session_files(roots or self.roots, self.core.skipped)
        todo = [(p, s) for p, s, _ in files if self.core.pending(p, s)]
        self._backlog = [p for p, _ in todo[:NEWEST_FIRST]] + [p for p, _ in todo[NEWEST_FIRST:]]
        self._backfill_set = set(self._backlog)
        self.progress = BackfillStatus(
            running=bool(todo),
            files_done=0,
            files_total=len(todo),
            bytes_done=0,
            bytes_total=sum(s - self.core.position(p) for p, s in todo if s > self.core.position(p)),
            rows=0,
            started_at=time.time(),
            finished_at=0.0 if todo else time.time(),
            files_up_to_date=len(files) - len(todo),
        )
        log.info("backfill: %d file(s), %.1f MB to read", len(todo), self.progress.bytes_total / 1e6)
        self._idle.clear()
        self._wake.set()
        return self.progress

    async def wait_idle(self, timeout: float | None = None) -> None:
        """Until nothing is queued (live or backfill): used by the CLI and tests. Raises `TaskFailed`
        if a loop failed (without an injected `spawn`)."""
        async with asyncio.timeout(timeout):
            await self._idle.wait()
        self._local_tasks.raise_failure()

    def _wake_waiters(self) -> None:
        self._idle.set()

    # -- loops ----------------------------------------------------------------------------------
    async def _read_loop(self) -> None:
        while True:
            if self._failure is not None:
                raise self._failure
            if self._dirs:
                wait = self._last_dir_scan + DIR_SCAN_SECONDS - time.monotonic()
                if wait <= 0:
                    self._scan_dirs()
                    continue
                if not self._live and not self._backlog:
                    self._wake.clear()  # nothing else to do until the next listing or an event
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            await self._wake.wait()
                    continue
            if not self._live and not self._backlog:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            if self._live:
                path = next(iter(self._live))
                del self._live[path]
                live = True
            elif self._gate is not None and not self._gate.is_open(self._window()):
                await self._wait_gate()
                continue
            else:
                path = self._backlog.pop(0)
                live = False
            await self._read(path, live)
            await asyncio.sleep(0)  # let pings and acks through between files

    def _window(self) -> int:
        """The backfill's send window, after choosing the batch size (`LIVE_GROUP_*` while a
        session is being written)."""
        if time.monotonic() - self._last_live < LIVE_SECONDS:
            self.core.set_group(LIVE_GROUP_ROWS, LIVE_GROUP_BYTES)
        else:
            self.core.set_group(GROUP_ROWS, GROUP_BYTES)
        return BACKFILL_WINDOW_BATCHES * self.core.group_bytes

    async def _wait_gate(self) -> None:
        """Until the gate opens or a live change (or anything else) wakes the loop."""
        assert self._gate is not None
        self._wake.clear()
        gate = asyncio.ensure_future(self._gate.wait(self._window()))
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait((gate, woken), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (gate, woken):
                t.cancel()
            await asyncio.gather(gate, woken, return_exceptions=True)
        if gate.done() and not gate.cancelled() and (exc := gate.exception()) is not None:
            raise exc

    async def _read(self, path: str, live: bool = True) -> None:
        before = self.core.position(path)
        was_known = self.core.is_known(path)
        if live:
            self._last_live = time.monotonic()
            await self.core.flush()  # backfill rows held so far go first, in their own batch
        self.reading_live = live
        try:
            rows = await self.core.read(path)  # a file it cannot read is skipped and counted there
            forgotten = was_known and not self.core.is_known(path)
            if live or forgotten or not (self._live or self._backlog):
                # Send what was merged so far: a live change goes out at once, the end of a
                # backfill is committed before it is reported, and a checkpoint is never sent
                # after its drop.
                await self.core.flush()
        finally:
            self.reading_live = False
        if forgotten and self._on_forget is not None:
            await self._on_forget(path)
        if path in self._backfill_set:
            self._backfill_set.discard(path)
            p = self.progress
            p.files_done += 1
            p.bytes_done += max(0, self.core.position(path) - before)
            p.rows += rows
            if not self._backfill_set:
                p.running = False
                p.finished_at = time.time()
                log.info("backfill done: %d file(s), %d row(s)", p.files_done, p.rows)
            await self._report(force=not p.running)

    async def _report(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._on_progress is not None and (force or now - self._last_progress >= 0.5):
            self._last_progress = now
            await self._on_progress(self.progress)

    async def _rescan_loop(self) -> None:
        last_close = time.monotonic()
        while True:
            await asyncio.sleep(self.rescan_seconds)
            self.rescan()
            if time.monotonic() - last_close > IDLE_CLOSE_SECONDS / 3:
                self.core.close_idle(IDLE_CLOSE_SECONDS)
                last_close = time.monotonic()

    def rescan(self) -> int:
        """Find files with unread bytes (missed events, queue overflow, new roots); returns how many."""
        if self._watch:
            self._sync_watch()
        found = 0
        for p, size, _ in list_session_files(self.roots, self.core.skipped):
            if self.core.pending(p, size) and p not in self._live and p not in self._backfill_set:
                self.mark(p)
                found += 1
        for p in self.core.known():
            if not os.path.exists(p):
                self.mark(p)  # the read notices it is gone and forgets it
        return found
