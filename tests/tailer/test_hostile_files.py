"""Hostile entries in the sessions tree (issue 11 points 2 and 3), on the engine with real files,
real FIFOs, sockets, symlink loops and real inotify: only regular files are tailed, everything
else is skipped and counted once, and none of it stops startup, the rescan or the other files."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
from pathlib import Path

import pytest

from oa_actors.store import Store
from oa_actors.tailer.files import SkippedFiles, list_session_files
from oa_actors.tailer.service import TailerService
from oa_actors.tailer.sink import StoreSink
from tests.support.gen import write_sessions
from tests.tailer.test_service import expected_keys, stored_keys, until

pytestmark = pytest.mark.timeout(90)  # a blocking open of a FIFO must fail the test, not hang it


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "store.sqlite3")
    yield s
    s.close()


def make_hostile(folder: Path, tag: str = "") -> list[socket.socket]:
    """A FIFO, a socket, a device link, a symlink loop and a dangling link, all named *.jsonl.
    Returns the bound sockets (the caller closes them)."""
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / f"fifo{tag}.jsonl")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(folder / f"sock{tag}.jsonl"))
    os.symlink("/dev/null", folder / f"dev{tag}.jsonl")
    os.symlink(f"loop{tag}.jsonl", folder / f"loop{tag}.jsonl")  # refers to itself: ELOOP
    os.symlink(folder / f"nowhere{tag}", folder / f"dangling{tag}.jsonl")
    return [sock]


HOSTILE_COUNTS = {"fifo": 1, "socket": 1, "device": 1, "symlink_loop": 1, "missing": 1}


def test_listing_skips_and_counts_what_is_not_a_regular_file(tmp_path: Path) -> None:
    root = tmp_path / "sessions"
    (regular,) = write_sessions(root, 1)
    socks = make_hostile(root / "2026" / "11" / "10")
    try:
        os.symlink(regular, root / "link.jsonl")  # a symlink to a regular file is followed
        (root / "dir.jsonl").mkdir()  # a folder with the suffix is walked, not read
        write_sessions(root / "dir.jsonl", 1)
        skipped = SkippedFiles()
        found = {p for p, _size, _mtime in list_session_files([root], skipped)}
        assert found == {
            str(regular),
            str(root / "link.jsonl"),
            *map(str, (root / "dir.jsonl").rglob("*.jsonl")),
        }
        assert skipped.counts == HOSTILE_COUNTS
        list_session_files([root], skipped)
        assert skipped.counts == HOSTILE_COUNTS  # counted once per path and reason
    finally:
        for s in socks:
            s.close()


def test_unreadable_files_and_folders_are_skipped_and_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The suite runs as root, which permission bits do not stop: EACCES is injected on two paths.
    root = tmp_path / "sessions"
    ok, locked = write_sessions(root, 2)
    hidden = root / "2026" / "12" / "01"
    write_sessions(hidden, 1)
    real_stat, real_scandir = os.stat, os.scandir

    def stat(p, *a, **kw):
        if os.fspath(p) == str(locked):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(p))
        return real_stat(p, *a, **kw)

    def scandir(p=".", *a, **kw):
        if os.fspath(p) == str(hidden):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(p))
        return real_scandir(p, *a, **kw)

    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "scandir", scandir)
    skipped = SkippedFiles()
    found = [p for p, _size, _mtime in list_session_files([root], skipped)]
    assert found == [str(ok)]
    assert skipped.counts == {"permission_denied": 2}


async def test_hostile_files_change_nothing_for_the_other_sessions(tmp_path: Path, store: Store) -> None:
    """At start, in a rescan and in watch callbacks: a FIFO, socket, device, symlink loop and dangling
    link named *.jsonl are skipped and counted once; every regular session is mirrored."""
    root = tmp_path / "sessions"
    before = write_sessions(root, 5)
    socks = make_hostile(root / "2026" / "11" / "10")
    sink = StoreSink(store)
    svc = TailerService([root], sink, on_forget=sink.forget, rescan_seconds=0.2)
    await svc.start({})
    try:
        await until(lambda: stored_keys(store) >= expected_keys(before))
        assert svc.core.skipped.counts == HOSTILE_COUNTS
        # Live: new hostile entries (watch events, then every rescan) and new sessions around them.
        socks += make_hostile(root / "2026" / "11" / "20", tag="-live")
        after = write_sessions(root / "live", 3)
        await until(lambda: stored_keys(store) >= expected_keys(before + after))
        await until(lambda: svc.core.skipped.counts == {k: 2 * v for k, v in HOSTILE_COUNTS.items()})
        await asyncio.sleep(0.6)  # a few more rescans: still counted once each
        assert svc.core.skipped.counts == {k: 2 * v for k, v in HOSTILE_COUNTS.items()}
        assert not any(t.done() for t in svc._tasks), "a tailer task died"
        assert stored_keys(store) == expected_keys(before + after)
        # A tailed file replaced by a FIFO: forgotten (its rows stay), counted, nothing blocks.
        victim = after[0]
        victim.unlink()
        os.mkfifo(victim)
        await until(lambda: str(victim) not in svc.core.known())
        await until(lambda: svc.core.skipped.counts["fifo"] == 3)
        more = write_sessions(root / "more", 1)
        await until(lambda: stored_keys(store) >= expected_keys(more))
    finally:
        await svc.stop()
        for s in socks:
            s.close()


async def test_files_that_start_empty_are_never_reset(tmp_path: Path, store: Store) -> None:
    """Issue 11 point 7: 500 files created empty, seen empty, then written: no reset at all."""
    root = tmp_path / "sessions"
    sources = write_sessions(tmp_path / "src", 500, turns=1)
    day = root / "2026" / "11" / "22"
    day.mkdir(parents=True)
    targets = [day / p.name for p in sources]
    for t in targets:
        t.touch()
    sink = StoreSink(store)
    svc = TailerService([root], sink, on_forget=sink.forget, rescan_seconds=0.2)
    await svc.start({})
    try:
        await until(lambda: len(svc.core.known()) == len(targets))  # every file read while empty
        for src, t in zip(sources, targets, strict=True):
            data = src.read_bytes()
            with open(t, "ab") as f:
                f.write(data[: len(data) // 3])  # a head first, then the rest
                f.flush()
                await asyncio.sleep(0)
                f.write(data[len(data) // 3 :])
        await until(lambda: stored_keys(store) >= expected_keys(sources), timeout=60)
        assert svc.core.stats.resets == 0
    finally:
        await svc.stop()
