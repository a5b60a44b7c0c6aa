"""The tailer's engine, free of actors and watches so it can be driven directly (tests, CLI).

It keeps one `JsonlTail` per file, reads what was appended since its position, and hands rows to
`send` in batches; the last batch of a read carries the tail's snapshot as the checkpoint, which
the writer commits in the same transaction as the rows. After a crash the state comes back from
those checkpoints, and re-read rows are dropped by key, so the effect is exactly once.
"""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oa_actors import jsonl
from oa_actors.messages import RowBatch

log = logging.getLogger("oa.tailer")

READ_CHUNK = 1 << 20
BATCH_ROWS = 500
BATCH_BYTES = 512 * 1024
MAX_OPEN_FILES = 64
# With `group=True` consecutive batches (of one or several files) are merged into one RowBatch of at
# most this size, sent when full or on `flush()`: the writer then commits them, with every one of
# their checkpoints, in one transaction. The service flushes as soon as it has nothing more queued.
GROUP_ROWS = 5000
GROUP_BYTES = 2 * 1024 * 1024


@dataclass
class _File:
    tail: Any
    fd: int | None = None
    last_used: float = 0.0


@dataclass
class TailerStats:
    """Counters for status and tests."""

    reads: int = 0
    bytes: int = 0
    rows: int = 0
    batches: int = 0
    resets: int = 0
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(jsonl.ERROR_KINDS, 0))


def _approx_size(row: dict[str, Any]) -> int:
    text = row.get("text")
    return 200 + (len(text) if isinstance(text, str) else 0)


class TailerCore:
    """Reads appended bytes of many files with few open descriptors."""

    def __init__(
        self,
        send: Callable[[RowBatch], Awaitable[None]],
        *,
        max_open: int = MAX_OPEN_FILES,
        max_line_bytes: int = jsonl.DEFAULT_MAX_LINE,
        source_of: Callable[[str], str] = lambda _p: "codex",
        group: bool = False,
    ) -> None:
        self._send = send
        self.group = group
        self._held: list[RowBatch] = []  # batches read but not sent yet (group mode)
        self._held_rows = 0
        self._held_bytes = 0
        self._files: dict[str, _File] = {}
        self._open: OrderedDict[str, None] = OrderedDict()  # LRU of paths with an open fd
        self.max_open = max_open
        self.max_line_bytes = max_line_bytes
        self._source_of = source_of
        self.stats = TailerStats()
        self._logged_errors: set[tuple[str, str]] = set()

    # -- state --------------------------------------------------------------------------------------
    def restore(self, checkpoints: dict[str, tuple[int, bytes | None]]) -> None:
        """Resume every file from the writer's committed checkpoints."""
        for path, (_offset, snapshot) in checkpoints.items():
            if snapshot is None:
                continue
            try:
                tail = jsonl.JsonlTail.restore(snapshot)
            except ValueError as exc:
                log.warning(
                    "ignoring the unreadable checkpoint of %s (%s); the file is read again", path, exc
                )
                continue
            self._files[path] = _File(tail)

    def known(self) -> list[str]:
        return list(self._files)

    def position(self, path: str) -> int:
        f = self._files.get(path)
        return f.tail.position if f else 0

    @property
    def open_files(self) -> int:
        return len(self._open)

    def pending(self, path: str, size: int) -> bool:
        """Whether a file of this size has bytes the tail has not consumed (or shrank)."""
        f = self._files.get(path)
        return f is None or size != f.tail.position

    def forget(self, path: str) -> None:
        """The file is gone: close it and drop its state."""
        f = self._files.pop(path, None)
        if f is not None:
            self._close(path, f)

    def close_all(self) -> None:
        for path, f in list(self._files.items()):
            self._close(path, f)

    def close_idle(self, idle_seconds: float) -> int:
        """Close descriptors unused for `idle_seconds`; returns how many were closed."""
        cutoff = time.monotonic() - idle_seconds
        closed = 0
        for path in list(self._open):
            f = self._files.get(path)
            if f is not None and f.last_used < cutoff:
                self._close(path, f)
                closed += 1
        return closed

    def _close(self, path: str, f: _File) -> None:
        if f.fd is not None:
            try:
                os.close(f.fd)
            except OSError:
                pass
            f.fd = None
        self._open.pop(path, None)

    def _fd(self, path: str, f: _File) -> int:
        if f.fd is None:
            while len(self._open) >= self.max_open:
                old, _ = self._open.popitem(last=False)
                of = self._files.get(old)
                if of is not None and of.fd is not None:
                    os.close(of.fd)
                    of.fd = None
            f.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self._open[path] = None
        self._open.move_to_end(path)
        f.last_used = time.monotonic()
        return f.fd

    # -- reading ------------------------------------------------------------------------------------
    async def read(self, path: str, final: bool = False) -> int:
        """Read everything appended to `path` and send its rows; returns the number of new rows.

        A missing file is forgotten. A replaced, truncated or rewritten file restarts from 0.
        """
        f = self._files.get(path)
        if f is None:
            f = _File(jsonl.JsonlTail(path, max_line_bytes=self.max_line_bytes, source=self._source_of(path)))
            self._files[path] = f
        try:
            fd = self._fd(path, f)
            st = os.fstat(fd)
            try:
                named = os.stat(path)
            except FileNotFoundError:
                named = None
            if named is None or (named.st_dev, named.st_ino) != (st.st_dev, st.st_ino):
                # Replaced or deleted under the same name: reopen the new file (or forget it).
                self._close(path, f)
                if named is None:
                    self.forget(path)
                    return 0
                fd = self._fd(path, f)
                st = os.fstat(fd)
            head = os.pread(fd, 1024, 0)
        except FileNotFoundError:
            self.forget(path)
            return 0
        if f.tail.check_identity(st.st_dev, st.st_ino, st.st_size, head):
            self.stats.resets += 1
            log.info("%s was truncated or replaced: reading it again from the start", path)
        elif (
            f.tail.offset > 0
            and f.tail.position == f.tail.offset
            and os.pread(fd, 1, f.tail.offset - 1) != b"\n"
        ):
            # Rewritten in place with the same head and no shorter: the last line read no longer
            # ends where it did. Start over; the store drops rows it already has by key.
            self.stats.resets += 1
            log.info("%s was rewritten in place: reading it again from the start", path)
            f.tail = jsonl.JsonlTail(path, max_line_bytes=self.max_line_bytes, source=self._source_of(path))
            f.tail.check_identity(st.st_dev, st.st_ino, st.st_size, head)
        rows = 0
        pos = f.tail.position
        while pos < st.st_size:
            chunk = os.pread(fd, min(READ_CHUNK, st.st_size - pos), pos)
            if not chunk:
                break
            pos += len(chunk)
            batch = f.tail.feed(chunk, final=final and pos >= st.st_size)
            self.stats.reads += 1
            self.stats.bytes += len(chunk)
            rows += await self._emit(path, f.tail, batch)
        if final and pos >= st.st_size and f.tail.position > f.tail.offset:
            rows += await self._emit(path, f.tail, f.tail.feed(b"", final=True))
        return rows

    async def _emit(self, path: str, tail: Any, batch: Any) -> int:
        self._count_errors(path, batch.errors)
        messages = batch.messages
        threads = batch.threads
        # Split big reads into frames of a few hundred rows; only the last one moves the checkpoint.
        start = 0
        size = 0
        parts: list[tuple[int, int]] = []
        sizes: list[int] = []
        for i, m in enumerate(messages):
            size += _approx_size(m)
            if i + 1 - start >= BATCH_ROWS or size >= BATCH_BYTES:
                parts.append((start, i + 1))
                sizes.append(size)
                start, size = i + 1, 0
        parts.append((start, len(messages)))
        sizes.append(size)
        snapshot = tail.snapshot()
        for n, (a, b) in enumerate(parts):
            last = n == len(parts) - 1
            await self._out(
                RowBatch(
                    path=path,
                    offset=batch.offset,
                    snapshot=snapshot if last else None,
                    threads=threads if last else [],
                    messages=messages[a:b],
                    checkpoint=last,
                ),
                sizes[n],
            )
            self.stats.batches += 1
        self.stats.rows += len(messages)
        return len(messages)

    async def _out(self, batch: RowBatch, nbytes: int) -> None:
        if not self.group:
            await self._send(batch)
            return
        if self._held and (
            self._held_rows + len(batch.messages) > GROUP_ROWS or self._held_bytes + nbytes > GROUP_BYTES
        ):
            await self.flush()
        self._held.append(batch)
        self._held_rows += len(batch.messages)
        self._held_bytes += nbytes

    @property
    def held(self) -> int:
        """Batches read but not sent yet (group mode): `flush()` sends them."""
        return len(self._held)

    async def flush(self) -> None:
        """Send the held batches as one RowBatch (rows in read order, every checkpoint in order)."""
        if not self._held:
            return
        held = self._held
        self._held, self._held_rows, self._held_bytes = [], 0, 0
        if len(held) == 1:
            await self._send(held[0])
            return
        last = held[-1]
        await self._send(
            RowBatch(
                path=last.path,
                offset=last.offset,
                snapshot=None,
                threads=[t for b in held for t in b.threads],
                messages=[m for b in held for m in b.messages],
                checkpoint=False,
                checkpoints=[c for b in held for c in b.all_checkpoints()],
            )
        )

    def _count_errors(self, path: str, errors: dict[str, int]) -> None:
        for kind, n in errors.items():
            if not n:
                continue
            self.stats.errors[kind] = self.stats.errors.get(kind, 0) + n
            if (path, kind) not in self._logged_errors:  # log once per file and kind, count always
                self._logged_errors.add((path, kind))
                log.warning("%s: skipped %d line(s): %s (further ones are only counted)", path, n, kind)


def list_session_files(roots: Iterable[Path]) -> list[tuple[str, int, float]]:
    """(path, size, mtime) of every `*.jsonl` under the roots, newest first."""
    found = []
    for root in roots:
        if not root.is_dir():
            continue
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                if name.endswith(".jsonl"):
                    p = os.path.join(dirpath, name)
                    try:
                        st = os.stat(p)
                    except FileNotFoundError:
                        continue
                    found.append((p, st.st_size, st.st_mtime))
    found.sort(key=lambda t: (-t[2], t[0]))
    return found
