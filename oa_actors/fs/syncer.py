"""`FolderReconciler`: keep a snapshot of projects and skills in line with the disk, reporting `Changes`.

`start(previous)` reconciles the disk against `previous` (what the store holds), so upserts cover
what is on disk and removals what was deleted while we were down. Then watchdog events mark scopes
dirty; after `debounce` seconds without events (at most `max_delay` after the first) only the
dirty scopes are read again, diffed, and the changes handed to `on_changes`. The new snapshot is
kept only when `on_changes` returns: if it raises, the same changes are computed again on a retry.
Watches follow the projects' `workingDir`s. A periodic full rescan is the safety net for missed
events (inotify overflow, watch limits).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from oa_actors.folder_watch import FolderWatch
from oa_actors.fs.changes import Changes, carry_over, diff
from oa_actors.fs.formats import MAX_FILE_BYTES, FsError
from oa_actors.fs.scan import (
    PROJECTS,
    REGISTRY,
    TOP_SCOPES,
    USER,
    Scope,
    Snapshot,
    project_skills_root,
    rescan,
)
from oa_actors.runtime.tasks import LocalTasks, Spawn

log = logging.getLogger("oa.fs.syncer")

OnChanges = Callable[[Changes], Awaitable[None]]


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class FolderReconciler:
    """Watches the projects/skills folders and reports upserts and removals (see module doc)."""

    def __init__(
        self,
        home: Path,
        registry: Path | None = None,
        on_changes: OnChanges | None = None,
        debounce: float = 0.2,
        *,
        max_delay: float = 2.0,
        rescan_interval: float | None = 60.0,
        retry_delay: float = 1.0,
        max_bytes: int = MAX_FILE_BYTES,
        create_dirs: bool = True,
        spawn: Spawn | None = None,
    ) -> None:
        self.home = Path(home)
        self.registry = Path(registry) if registry is not None else None
        self._on_changes = on_changes
        self.debounce = debounce
        self.max_delay = max_delay
        self.rescan_interval = rescan_interval
        self.retry_delay = retry_delay
        self.max_bytes = max_bytes
        self.create_dirs = create_dirs
        self._snapshot = Snapshot()
        self._dirty: set[Scope] = set()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        # `spawn` starts the loops supervised: `ctx.spawn` in the actor (a failure crashes it); by
        # default a failure is logged, kept in `failure` and raised by `refresh`.
        self._local_tasks = LocalTasks(log)
        self._spawn: Spawn = spawn or self._local_tasks.spawn
        self._watch: FolderWatch | None = None
        self._watch_error: BaseException | None = None
        self._roots: dict[Scope, Path] = {}
        self._stats: dict[str, Any] = {
            "events": 0, "scans": 0, "fullScans": 0, "lastScanMs": None, "lastScanAt": None,
            "callbackFailures": 0, "projectUpserts": 0, "projectRemovals": 0,
            "skillUpserts": 0, "skillRemovals": 0,
        }  # fmt: skip

    # -- public API ---------------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        """The last snapshot whose changes were delivered."""
        return self._snapshot

    @property
    def errors(self) -> list[FsError]:
        """Invalid files of the last scan (file, field, reason)."""
        return self._snapshot.errors

    def stats(self) -> dict[str, Any]:
        """Counters and state for `status` / `bridge.status`."""
        snap = self._snapshot
        return {
            **self._stats,
            "projects": len(snap.projects),
            "skills": len(snap.skills),
            "errors": [e.to_dict() for e in snap.errors[:50]],
            "errorCount": len(snap.errors),
            "watched": self._watch.watched if self._watch else [],
            "watchFailures": self._watch.failures if self._watch else 0,
            "pending": sorted(str(s) for s in self._dirty),
        }

    async def start(self, previous: Snapshot | None = None) -> Changes:
        """Full reconcile against `previous` (default: nothing known), then watch for changes.

        Returns the reconcile's changes (already handed to `on_changes`). If `on_changes` raises
        here, the exception propagates and nothing is started.
        """
        if self.create_dirs:
            for d in (self.home / "projects", self.home / "skills"):
                with contextlib.suppress(OSError):
                    d.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._snapshot = previous.copy() if previous is not None else Snapshot()
        loop = asyncio.get_running_loop()
        self._watch = FolderWatch(loop, self._on_path, on_error=self._on_watch_error)
        # watch what we know before reading, so nothing changed during the scan is missed
        self._roots = self._compute_roots(self._snapshot)
        await asyncio.to_thread(self._watch.sync, self._roots.values())
        try:
            changes = await self._apply(set(TOP_SCOPES), raise_errors=True)
        except BaseException:
            await self.stop()
            raise
        self._tasks.append(self._spawn(self._run(), "fs-syncer-debounce"))
        if self.rescan_interval:
            self._tasks.append(self._spawn(self._periodic(), "fs-syncer-rescan"))
        return changes

    async def stop(self) -> None:
        """Stop watching; pending events are dropped (the next start reconciles)."""
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        if self._watch is not None:
            await asyncio.to_thread(self._watch.stop)
            self._watch = None

    @property
    def failure(self) -> BaseException | None:
        """Why a loop stopped (only without an injected `spawn`, which handles failures itself)."""
        return self._local_tasks.failure

    async def refresh(self, scopes: Iterable[Scope] | None = None) -> Changes:
        """Read the given scopes (default: everything) now and deliver the changes. Raises
        `TaskFailed` if a loop failed (without an injected `spawn`)."""
        self._local_tasks.raise_failure()
        return await self._apply(set(scopes) if scopes is not None else set(TOP_SCOPES), raise_errors=True)

    # -- internals ----------------------------------------------------------------------------

    def _compute_roots(self, snap: Snapshot) -> dict[Scope, Path]:
        roots: dict[Scope, Path] = {PROJECTS: self.home / "projects", USER: self.home / "skills"}
        if self.registry is not None:
            roots[REGISTRY] = self.registry
        for e in snap.projects.values():
            roots[("project", e.row["id"])] = project_skills_root(e)
        return roots

    def _on_watch_error(self, exc: BaseException) -> None:
        """An exception on the watch thread: the debounce task raises it (the actor crashes)."""
        self._watch_error = exc
        self._wake.set()

    def _on_path(self, path: str, _is_dir: bool = False) -> None:
        """A watchdog event (on the loop): mark the scopes whose root holds, or is under, `path`."""
        hit = False
        for scope, root in self._roots.items():
            r = str(root)
            if _under(path, r) or _under(r, path):
                self._dirty.add(scope)
                hit = True
        if hit:
            self._stats["events"] += 1
            self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if self._watch_error is not None:
                raise self._watch_error
            first = time.monotonic()
            while True:
                self._wake.clear()
                timeout = min(self.debounce, first + self.max_delay - time.monotonic())
                if timeout <= 0:
                    break
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout)
                except TimeoutError:
                    break
            self._wake.clear()
            scopes, self._dirty = self._dirty, set()
            if scopes:
                await self._apply(scopes, raise_errors=False)

    async def _periodic(self) -> None:
        assert self.rescan_interval
        while True:
            await asyncio.sleep(self.rescan_interval)
            self._dirty |= TOP_SCOPES
            self._wake.set()

    async def _apply(self, scopes: set[Scope], raise_errors: bool) -> Changes:
        async with self._lock:
            old = self._snapshot
            t0 = time.monotonic()
            new = await asyncio.to_thread(rescan, old, self.home, self.registry, scopes, self.max_bytes)
            carry_over(old, new)
            changes = diff(old, new)
            self._stats["scans"] += 1
            if scopes >= TOP_SCOPES:
                self._stats["fullScans"] += 1
            self._stats["lastScanMs"] = round((time.monotonic() - t0) * 1000, 2)
            self._stats["lastScanAt"] = int(time.time() * 1000)
            if changes and self._on_changes is not None:
                try:
                    await self._on_changes(changes)
                except Exception:
                    self._stats["callbackFailures"] += 1
                    if raise_errors:
                        raise
                    log.exception("on_changes failed; retrying in %.1fs", self.retry_delay)
                    self._dirty |= scopes
                    asyncio.get_running_loop().call_later(self.retry_delay, self._wake.set)
                    return changes
            for k, v in changes.counts().items():
                self._stats[k] += v
            for err in new.errors:
                if err not in old.errors:
                    log.warning("skipped %s", err)
            self._snapshot = new
            await self._sync_watches(new)
            return changes

    async def _sync_watches(self, snap: Snapshot) -> None:
        self._roots = self._compute_roots(snap)
        if self._watch is None:
            return
        fresh = await asyncio.to_thread(self._watch.sync, self._roots.values())
        # a root watched only now may have changed before its watch existed: read it again
        fresh_s = {str(p) for p in fresh}
        for scope, root in self._roots.items():
            if str(root) in fresh_s and scope not in self._dirty:
                self._dirty.add(scope)
                self._wake.set()
