"""Watching session folders with watchdog (inotify on Linux), feeding an asyncio queue of paths.

One inotify watch per directory (day folders), never per file. Events only say "look at this
path"; the tailer decides what changed. A periodic rescan in the tailer is the safety net for an
inotify queue overflow, a folder created before its watch existed, or a missed event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

log = logging.getLogger("oa.tailer.watch")


class _Handler(FileSystemEventHandler):
    def __init__(self, notify: Callable[[str, bool], None]) -> None:
        self._notify = notify

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = [event.src_path]
        dest = getattr(event, "dest_path", "")
        if dest:
            paths.append(dest)
        for p in paths:
            p = p.decode() if isinstance(p, bytes) else p
            if event.is_directory:
                self._notify(p, True)  # a new day folder: rescan it (files may predate the watch)
            elif p.endswith(".jsonl"):
                self._notify(p, False)


class FolderWatch:
    """Recursive watches on existing roots; roots that do not exist yet are picked up by `ensure`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, on_path: Callable[[str, bool], None]) -> None:
        self._loop = loop
        self._on_path = on_path
        self._observer = Observer()
        self._observer.daemon = True
        self._watched: set[Path] = set()
        self._started = False

    def _notify(self, path: str, is_dir: bool) -> None:
        # Called on the observer's thread.
        self._loop.call_soon_threadsafe(self._on_path, path, is_dir)

    def ensure(self, roots: list[Path]) -> list[Path]:
        """Watch every root that exists and is not watched yet; returns the newly watched ones."""
        added = []
        for root in roots:
            if root in self._watched or not root.is_dir():
                continue
            try:
                self._observer.schedule(_Handler(self._notify), str(root), recursive=True)
            except OSError as exc:  # e.g. inotify watch limit reached: the rescan still covers it
                log.warning("cannot watch %s (%s); relying on periodic rescans", root, exc)
                continue
            self._watched.add(root)
            added.append(root)
            log.info("watching %s", root)
        if added and not self._started:
            self._observer.start()
            self._started = True
        return added

    @property
    def watched(self) -> list[str]:
        return sorted(str(p) for p in self._watched)

    def stop(self) -> None:
        if self._started:
            self._observer.stop()
            self._observer.join(timeout=5)
