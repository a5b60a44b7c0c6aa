"""The one bridge from watchdog (inotify on Linux) observer threads to an asyncio event loop.

Used by the sessions tailer and the FS syncer. Events only say "look at this path": the owner
decides what changed, and a periodic rescan of its own is the safety net for everything a watch
can miss. One behaviour for both owners:

- `sync(roots)` makes the watches match the roots wanted now: a root that exists is watched
  recursively (one inotify watch per folder, never per file); a root that does not exist yet is
  covered by a non-recursive watch on its nearest existing parent, so its creation is reported
  (the owner then calls `sync` again, and reads the new root once: it may have changed before
  its watch existed); a root deleted and re-created is watched again.
- A watch that cannot be added (the inotify watch or instance limit, a permission error) is
  counted in `failures` and logged once; the owner's rescans cover that root.
- An exception in the observer thread (in our callback, or a watchdog thread that died) never
  vanishes: it is handed to the loop through `on_error`, or raised by the next `sync`, so the
  owning task fails and the actor crashes and is restarted (let it crash).
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

log = logging.getLogger("oa.watch")

#: Our own reads produce these; reporting them would make every scan trigger the next one.
IGNORED_EVENTS = frozenset({"opened", "closed_no_write"})


class WatchThreadDied(RuntimeError):
    """The watchdog observer thread stopped: events would be lost silently from now on."""


class _Handler(FileSystemEventHandler):
    """Runs on the observer thread: filters, then hands (path, is_dir) to the loop."""

    def __init__(self, bridge: FolderWatch) -> None:
        self._bridge = bridge

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            if event.event_type in IGNORED_EVENTS:
                return
            for p in (event.src_path, getattr(event, "dest_path", "")):
                if p:
                    self._bridge._notify(os.fsdecode(p), event.is_directory)
        except BaseException as exc:  # handed to the loop, never swallowed
            self._bridge._fail(exc)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _is_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:  # missing, a symlink loop, no permission: not a folder we can watch
        return False


def _nearest_existing(path: Path) -> Path | None:
    for parent in path.parents:
        if _is_dir(parent):
            return parent
    return None


class FolderWatch:
    """A set of watchdog watches kept in line with the roots an owner cares about.

    `on_path(path, is_dir)` is called on the loop for every change below a watched root (and for
    entries of a missing root's parent). `accept(path, is_dir)`, if given, filters on the
    observer thread so uninteresting events never wake the loop. `on_error(exc)` is called on
    the loop with an exception raised on the observer thread.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_path: Callable[[str, bool], None],
        *,
        on_error: Callable[[BaseException], None],
        accept: Callable[[str, bool], bool] | None = None,
    ) -> None:
        self._loop = loop
        self._on_path = on_path
        self._on_error = on_error
        self._accept = accept
        self._observer = Observer()
        self._observer.daemon = True
        self._observer.name = "folder-watch"  # in thread dumps and in a crash report ("thread '...'")
        self._handler = _Handler(self)
        # (folder, recursive) -> (watch, identity of the folder when scheduled)
        self._watches: dict[tuple[str, bool], tuple[ObservedWatch, tuple[int, int] | None]] = {}
        self._started = False
        self._stopped = False
        self._failed_once: set[str] = set()
        self.failures = 0

    # -- observer thread ------------------------------------------------------------------------
    def _notify(self, path: str, is_dir: bool) -> None:
        if self._accept is not None and not self._accept(path, is_dir):
            return
        try:
            self._loop.call_soon_threadsafe(self._on_path, path, is_dir)
        except RuntimeError:  # the loop is closed: we are shutting down
            pass

    def _fail(self, exc: BaseException) -> None:
        try:
            self._loop.call_soon_threadsafe(self._on_error, exc)
        except RuntimeError:  # the loop is closed: we are shutting down
            pass

    # -- owner (loop or a worker thread) ----------------------------------------------------------
    def sync(self, roots: Iterable[Path]) -> list[Path]:
        """Watch what `roots` need now; returns the roots whose watch is new: their own recursive
        watch, or the watch of the nearest existing parent that stands in for a missing root (the
        owner reads those roots again: they may have changed before the watch existed).

        Raises `WatchThreadDied` if the observer thread stopped on its own.
        """
        if self._stopped:
            return []
        if not self._started:
            # Started before any schedule, so a schedule that fails raises here, in `sync`, and
            # never later inside `Observer.start` (which would leave the thread unstarted).
            self._observer.start()
            self._started = True
        elif not self._observer.is_alive():
            raise WatchThreadDied("the folder watch thread stopped; restarting to watch again")
        self._drop_dead_emitters()
        wanted: dict[tuple[str, bool], list[Path]] = {}
        for root in roots:
            root = Path(root)
            if _is_dir(root):
                wanted.setdefault((str(root), True), []).append(root)
            else:
                parent = _nearest_existing(root)
                if parent is not None:
                    wanted.setdefault((str(parent), False), []).append(root)
        for key in list(self._watches):
            watch, ident = self._watches[key]
            if key not in wanted or _identity(Path(key[0])) != ident:
                self._unschedule(key, watch)
        fresh: list[Path] = []
        for key, covered in wanted.items():
            if key in self._watches:
                continue
            folder, recursive = key
            try:
                watch = self._observer.schedule(self._handler, folder, recursive=recursive)
            except OSError as exc:  # e.g. the inotify watch limit: the owner's rescans cover it
                self.failures += 1
                if folder not in self._failed_once:
                    self._failed_once.add(folder)
                    log.warning("cannot watch %s (%s); relying on periodic rescans", folder, exc)
                continue
            self._watches[key] = (watch, _identity(Path(folder)))
            fresh.extend(covered)
            if recursive:
                log.info("watching %s", folder)
        return fresh

    def _drop_dead_emitters(self) -> None:
        """A watch whose emitter thread died (e.g. a watch limit hit below it) delivers nothing:
        count it, drop it, and let this `sync` schedule it again."""
        dead = {e.watch for e in self._observer.emitters if not e.is_alive()}
        for key, (watch, _ident) in list(self._watches.items()):
            if watch in dead:
                self.failures += 1
                if key[0] not in self._failed_once:
                    self._failed_once.add(key[0])
                    log.warning("the watch on %s stopped; watching it again", key[0])
                self._unschedule(key, watch)

    def _unschedule(self, key: tuple[str, bool], watch: ObservedWatch) -> None:
        del self._watches[key]
        try:
            self._observer.unschedule(watch)
        except (KeyError, OSError, ValueError):
            pass

    @property
    def watched(self) -> list[dict[str, object]]:
        """The folders watched now (for status)."""
        return [{"path": p, "recursive": r} for (p, r) in sorted(self._watches)]

    def stop(self) -> None:
        """Stop the observer thread (blocking up to 5 s: call it off the loop if that matters)."""
        self._stopped = True
        if self._started:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._started = False
        self._watches.clear()
