"""Finding session files below the roots, and counting the ones that cannot be tailed.

The sessions tree is not ours: a FIFO, socket or device named `*.jsonl`, a symlink loop, a file
we may not read or one deleted while we list it must never stop the tailer. Such a file is skipped
and counted once per path and reason (`SkippedFiles.counts`, shown by `sessions.watch_status`),
logged once, and every other file keeps flowing. Only regular files are tailed (a symlink to a
regular file is followed).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from oa_actors.regular_files import file_kind, skip_reason

log = logging.getLogger("oa.tailer")

SUFFIX = ".jsonl"
#: Distinct skipped files whose path is logged; beyond it they are only counted.
LOG_LIMIT = 20
#: Distinct (path, reason) pairs remembered so each is counted once; beyond it, counted again.
REMEMBER_LIMIT = 100_000


class SkippedFiles:
    """Files that were skipped, counted once per path and reason, logged once."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._seen: dict[str, set[str]] = {}
        self._remembered = 0
        self._logged = 0

    def add(self, path: str, reason: str, detail: object = "") -> None:
        """Count `path` as skipped for `reason` (once), logging the first few."""
        reasons = self._seen.get(path)
        if reasons is not None and reason in reasons:
            return
        if self._remembered < REMEMBER_LIMIT:
            self._seen.setdefault(path, set()).add(reason)
            self._remembered += 1
        self.counts[reason] = self.counts.get(reason, 0) + 1
        if self._logged < LOG_LIMIT:
            self._logged += 1
            more = "; further skipped files are only counted" if self._logged == LOG_LIMIT else ""
            log.warning("skipping %s: %s (%s)%s", path, reason, detail or reason, more)

    def readable(self, path: str) -> None:
        """`path` was read fine: if it is skipped again later, it is counted again."""
        if self._seen:
            reasons = self._seen.pop(path, None)
            if reasons is not None:
                self._remembered -= len(reasons)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _is_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:
        return False


def list_session_files(
    roots: Iterable[Path], skipped: SkippedFiles | None = None
) -> list[tuple[str, int, float]]:
    """(path, size, mtime) of every regular `*.jsonl` file under the roots, newest first.

    Never raises for what it finds: an entry that is not a regular file, or whose `stat` fails
    (ELOOP, EACCES, ENOENT...), and a folder that cannot be listed are reported to `skipped`.
    """

    def unlisted(exc: OSError) -> None:
        if skipped is not None and exc.filename is not None:
            skipped.add(os.fsdecode(exc.filename), skip_reason(exc), exc.strerror)

    found = []
    for root in roots:
        if not _is_dir(root):
            continue
        for dirpath, _dirs, files in os.walk(root, onerror=unlisted):
            for name in files:
                if not name.endswith(SUFFIX):
                    continue
                p = os.path.join(dirpath, name)
                try:
                    st = os.stat(p)
                except OSError as exc:
                    if skipped is not None:
                        skipped.add(p, skip_reason(exc), exc.strerror)
                    continue
                if not stat.S_ISREG(st.st_mode):
                    if skipped is not None:
                        skipped.add(p, file_kind(st.st_mode), "not a regular file")
                    continue
                found.append((p, st.st_size, st.st_mtime))
    found.sort(key=lambda t: (-t[2], t[0]))
    return found
