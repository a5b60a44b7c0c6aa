"""Reading whole files or folders through a JsonlTail (used by `parse`, backfill and tests)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from oa_actors import jsonl

READ_CHUNK = 1 << 20


def iter_jsonl_files(paths: list[str | Path]) -> Iterator[Path]:
    """Every `*.jsonl` file under the given files/folders, in sorted path order."""
    for p in map(Path, paths):
        if p.is_dir():
            yield from sorted(q for q in p.rglob("*.jsonl") if q.is_file())
        else:
            yield p


def identity_of(fd: int) -> tuple[int, int, int, bytes]:
    """(dev, ino, size, head bytes) of an open file, for JsonlTail.check_identity."""
    st = os.fstat(fd)
    head = os.pread(fd, 1024, 0)
    return st.st_dev, st.st_ino, st.st_size, head


def parse_file(
    path: str | Path, tail: Any | None = None, chunk_size: int = READ_CHUNK
) -> tuple[Any, list[Any]]:
    """Read a finished file from its tail's position to the end; returns (tail, batches)."""
    tail = tail or jsonl.JsonlTail(str(path))
    batches = []
    with open(path, "rb") as f:
        tail.check_identity(*identity_of(f.fileno()))
        f.seek(tail.position)
        while True:
            chunk = f.read(chunk_size)
            if not chunk:
                batches.append(tail.feed(b"", final=True))
                break
            batches.append(tail.feed(chunk))
    return tail, batches
