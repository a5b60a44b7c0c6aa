"""Watchdog (inotify on Linux) watches for the projects/skills roots, reporting changed paths.

`RootWatch.sync(roots)` makes the set of watches match the roots wanted now: a root that exists is
watched recursively; a root that does not exist yet is covered by a non-recursive watch on its
nearest existing parent (so its creation is seen); a root that was deleted and re-created is
watched again. Events only say "something changed at this path": the syncer decides what to reread.
Our own reads produce `opened` / `closed_no_write` events; they are ignored, or every scan would
trigger the next one.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

log = logging.getLogger("oa.fs.watch")

IGNORED_EVENTS = frozenset({"opened", "closed_no_write"})


class _Handler(FileSystemEventHandler):
    def __init__(self, notify: Callable[[str], None]) -> None:
        self._notify = notify

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in IGNORED_EVENTS:
            return
        for p in (event.src_path, getattr(event, "dest_path", "")):
            if p:
                self._notify(os.fsdecode(p))


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _nearest_existing(path: Path) -> Path | None:
    for parent in path.parents:
        if parent.is_dir():
            return parent
    return None


class RootWatch:
    """A set of watchdog watches kept in line with the roots the syncer cares about."""

    def __init__(self, loop: asyncio.AbstractEventLoop, on_path: Callable[[str], None]) -> None:
        self._loop = loop
        self._on_path = on_path
        self._observer = Observer()
        self._observer.daemon = True
        self._handler = _Handler(self._notify)
        # (folder, recursive) -> (watch, identity of the folder when scheduled)
        self._watches: dict[tuple[str, bool], tuple[ObservedWatch, tuple[int, int] | None]] = {}
        self._started = False
        self.failures = 0

    def _notify(self, path: str) -> None:
        # Called on the observer's thread.
        try:
            self._loop.call_soon_threadsafe(self._on_path, path)
        except RuntimeError:  # the loop is closed: we are shutting down
            pass

    def sync(self, roots: Iterable[Path]) -> list[Path]:
        """Watch what `roots` need now; returns the roots whose recursive watch is new.

        Changes made inside a newly watched root before its watch existed were not seen, so the
        caller rescans those roots.
        """
        wanted: dict[tuple[str, bool], Path] = {}
        for root in roots:
            if root.is_dir():
                wanted[(str(root), True)] = root
            else:
                parent = _nearest_existing(root)
                if parent is not None:
                    wanted.setdefault((str(parent), False), root)
        for key in list(self._watches):
            watch, ident = self._watches[key]
            if key not in wanted or _identity(Path(key[0])) != ident:
                self._unschedule(key, watch)
        fresh: list[Path] = []
        for key, root in wanted.items():
            if key in self._watches:
                continue
            folder, recursive = key
            try:
                watch = self._observer.schedule(self._handler, folder, recursive=recursive)
            except OSError as exc:  # e.g. the inotify watch limit: the periodic rescan covers it
                self.failures += 1
                log.warning("cannot watch %s (%s); relying on periodic rescans", folder, exc)
                continue
            self._watches[key] = (watch, _identity(Path(folder)))
            if recursive:
                fresh.append(root)
        if self._watches and not self._started:
            self._observer.start()
            self._started = True
        return fresh

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
        """Stop the observer thread (blocking: call it off the event loop)."""
        if self._started:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._started = False
