"""Where a run works: the project's folder, else the thread's own folder, else the user's home.

A run that continues a desktop thread (a resume) must run where that thread ran: Codex and Claude
Code resolve files, `AGENTS.md` / `CLAUDE.md` and the sandbox from the working dir. The thread's
folder is its `cwd` in the local store (from the rollout's `session_meta`), read here read-only;
the store belongs to `convex_writer`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from oa_actors.store import Store

# Looks up the folder a mirrored thread ran in, by its thread (session) id; None when unknown.
ThreadFolder = Callable[[str], str | None]


def store_thread_folder(store_path: Path) -> ThreadFolder:
    """A `ThreadFolder` that reads the thread's `cwd` from the store at `store_path`, read-only."""

    def lookup(thread_id: str) -> str | None:
        if not store_path.exists():
            return None
        try:
            store = Store.open(store_path, readonly=True)
        except sqlite3.Error:
            return None
        try:
            thread = store.thread(thread_id)
        except sqlite3.Error:
            return None
        finally:
            store.close()
        cwd = thread.get("cwd") if thread else None
        return cwd if isinstance(cwd, str) and cwd else None

    return lookup


@dataclass(frozen=True)
class WorkDir:
    """The folder a run starts in, and why it is not the thread's own folder (if it is not)."""

    path: str
    warning: str | None = None


def choose(
    *,
    project_dir: str | None,
    earlier_dir: str | None,
    thread_ids: list[str],
    thread_folder: ThreadFolder | None,
    resuming: bool,
) -> WorkDir:
    """The project's folder wins (a missing one is the caller's error); then the folder of this
    thread's earlier runs; then the mirrored thread's own `cwd` (the first of `thread_ids` the store
    knows); else the user's home, with a warning when a resumed thread's folder is unknown or gone."""
    if project_dir:
        return WorkDir(project_dir)
    if earlier_dir and Path(earlier_dir).is_dir():
        return WorkDir(earlier_dir)
    home = str(Path.home())
    found = next((f for t in thread_ids if thread_folder and (f := thread_folder(t))), None)
    if found and Path(found).is_dir():
        return WorkDir(found)
    if found:
        return WorkDir(home, f"the thread's folder {found} does not exist any more; running in {home}")
    if resuming:
        return WorkDir(home, f"the thread's folder is not known (not in the local store); running in {home}")
    return WorkDir(home)
