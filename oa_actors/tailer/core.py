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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from oa_actors import jsonl
from oa_actors.messages import RowBatch
from oa_actors.regular_files import NotRegularFile, open_regular, skip_reason
from oa_actors.store.search_text import index_entry
from oa_actors.tailer.batches import (
    BATCH_BYTES,
    BATCH_ROWS,
    GROUP_BYTES,
    GROUP_ROWS,
    MAX_BATCH_BYTES,
    Sizer,
    batch_overhead,
    cut,
    fit_row,
)
from oa_actors.tailer.files import SkippedFiles

log = logging.getLogger("oa.tailer")

READ_CHUNK = 1 << 20
MAX_OPEN_FILES = 64
# With `group=True` consecutive batches (of one or several files) are merged into one RowBatch of at
# most GROUP_ROWS rows and GROUP_BYTES encoded bytes (batches.py), sent when full or on `flush()`:
# the writer then commits them, with every one of their checkpoints, in one transaction. The
# service flushes as soon as it has nothing more queued, and while a session is being written it
# lowers both limits (`set_group`, LIVE_GROUP_*) so no backfill transaction makes live rows wait.


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
    rows_truncated: int = 0  # rows too large for any bus frame, stored cut (batches.fit_row)
    snapshots_dropped: int = 0  # checkpoints sent without their (too large) snapshot


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
        max_batch_bytes: int = MAX_BATCH_BYTES,
    ) -> None:
        self._send = send
        self.group = group
        self.group_rows, self.group_bytes = GROUP_ROWS, GROUP_BYTES
        self.max_batch_bytes = max_batch_bytes
        self._sizer = Sizer()
        self.skipped = SkippedFiles()
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
        self._logged_big: set[str] = set()

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

    def is_known(self, path: str) -> bool:
        """Whether `path` has tail state (a checkpoint may exist for it)."""
        return path in self._files

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
            f.fd, _st = open_regular(path)  # never blocks (a FIFO), never opens a non-file
        self._open[path] = None
        self._open.move_to_end(path)
        f.last_used = time.monotonic()
        return f.fd

    # -- reading ------------------------------------------------------------------------------------
    async def read(self, path: str, final: bool = False) -> int:
        """Read everything appended to `path` and send its rows; returns the number of new rows.

        A missing file is forgotten. A replaced, truncated or rewritten file restarts from 0.
        A file that cannot be read (not a regular file, a symlink loop, no permission...) is
        counted in `skipped` and logged once; it never raises, so the other files keep flowing.
        Exceptions of `send` propagate.
        """
        f = self._files.get(path)
        if f is None:
            f = _File(jsonl.JsonlTail(path, max_line_bytes=self.max_line_bytes, source=self._source_of(path)))
        opened = self._open_checked(path, f)
        if opened is None:
            return 0
        fd, st, head = opened
        self._files[path] = f
        if f.tail.check_identity(st.st_dev, st.st_ino, st.st_size, head):
            self.stats.resets += 1
            log.info("%s was truncated or replaced: reading it again from the start", path)
        elif (
            f.tail.offset > 0
            and f.tail.position == f.tail.offset
            and self._pread(path, fd, 1, f.tail.offset - 1) not in (b"\n", b"")  # b"": an I/O error
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
            chunk = self._pread(path, fd, min(READ_CHUNK, st.st_size - pos), pos)
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

    def _open_checked(self, path: str, f: _File) -> tuple[int, os.stat_result, bytes] | None:
        """(fd, fstat, head bytes) of the file now at `path`, or None when it is gone or skipped."""
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
                    return None
                fd = self._fd(path, f)
                st = os.fstat(fd)
            head = os.pread(fd, 1024, 0)
        except FileNotFoundError:
            self.forget(path)
            return None
        except NotRegularFile as exc:
            # Replaced by (or created as) a FIFO, socket or device: never tailed.
            self.forget(path)
            self.skipped.add(path, exc.kind, "not a regular file")
            return None
        except OSError as exc:
            if path not in self._files:
                self._close(path, f)
            self.skipped.add(path, skip_reason(exc), exc.strerror)
            return None
        self.skipped.readable(path)
        return fd, st, head

    def _pread(self, path: str, fd: int, n: int, offset: int) -> bytes:
        """`os.pread`; an I/O error ends this read (counted, logged once): the next one retries."""
        try:
            return os.pread(fd, n, offset)
        except OSError as exc:
            self.skipped.add(path, skip_reason(exc), exc.strerror)
            return b""

    async def _emit(self, path: str, tail: Any, batch: Any) -> int:
        self._count_errors(path, batch.errors)
        messages = batch.messages
        threads = batch.threads
        sizer = self._sizer
        sizes = [sizer.size(m) for m in messages]
        overhead = batch_overhead(path)
        limit = self.max_batch_bytes - overhead
        for i, n in enumerate(sizes):
            if n > limit:
                messages = list(messages) if messages is batch.messages else messages
                messages[i] = fit_row(messages[i], limit, sizer)
                sizes[i] = sizer.size(messages[i])
                self.stats.rows_truncated += 1
                self._log_big(path, f"row {messages[i].get('key')} of {n} bytes was cut to fit a bus frame")
        # The rows' full-text index columns travel with them (the writer only inserts them); an
        # entry is at most the row's own text and data again, so a row and its entry fit a frame.
        fts = [index_entry(m) for m in messages]
        for i, e in enumerate(fts):
            if e is not None:
                sizes[i] += sizer.size(e)
        full_snapshot: bytes = tail.snapshot()
        snapshot: bytes | None = full_snapshot
        if len(full_snapshot) > limit:
            # A checkpoint without its snapshot still moves the offset; after a restart this file
            # is read again from 0 and the store drops the rows it already has by key.
            self.stats.snapshots_dropped += 1
            self._log_big(path, f"its tail snapshot of {len(full_snapshot)} bytes does not fit a bus frame")
            snapshot = None
        last_bytes = sum(sizer.size(t) for t in threads) + (len(snapshot) if snapshot else 0)
        # Parts of at most BATCH_ROWS rows / BATCH_BYTES bytes (a bigger row travels alone); only
        # the last one carries the threads and the checkpoint, alone if they would overflow it.
        part_rows, part_bytes = min(BATCH_ROWS, self.group_rows), min(BATCH_BYTES, self.group_bytes)
        parts = cut(sizes, part_rows, part_bytes)
        a, b, nbytes = parts[-1]
        if b > a and nbytes + last_bytes > part_bytes:
            parts.append((b, b, 0))
        for n, (a, b, nbytes) in enumerate(parts):
            last = n == len(parts) - 1
            await self._out(
                RowBatch(
                    path=path,
                    offset=batch.offset,
                    snapshot=snapshot if last else None,
                    threads=threads if last else [],
                    messages=messages[a:b],
                    checkpoint=last,
                    fts=fts[a:b],
                ),
                overhead + nbytes + (last_bytes if last else 0),
            )
            self.stats.batches += 1
        self.stats.rows += len(messages)
        return len(messages)

    def _log_big(self, path: str, what: str) -> None:
        if path not in self._logged_big:  # once per file, counted always
            self._logged_big.add(path)
            log.warning("%s: %s (further ones are only counted)", path, what)

    async def _out(self, batch: RowBatch, nbytes: int) -> None:
        if not self.group:
            await self._send(batch)
            return
        if self._held and (
            self._held_rows + len(batch.messages) > self.group_rows
            or self._held_bytes + nbytes > self.group_bytes
        ):
            await self.flush()
        self._held.append(batch)
        self._held_rows += len(batch.messages)
        self._held_bytes += nbytes
        if self._held_bytes >= self.group_bytes:
            await self.flush()

    def set_group(self, rows: int, nbytes: int) -> None:
        """Limits of the batches merged from now on (group mode; the held ones keep theirs)."""
        self.group_rows, self.group_bytes = rows, nbytes

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
                fts=[e for b in held for e in b.fts],
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
