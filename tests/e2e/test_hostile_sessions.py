"""Issue 11: heavy rows, FIFOs and symlink loops in the sessions tree change nothing for the other
sessions, through the real actors (`oa-supervisor run`: the tailer, the writer, the bus).

Before the fix: 30 heavy rollouts were 0 of 6,060 rows stored and every session written after
them was lost too (a 31 MB batch killed the tailer's read task); a FIFO named `*.jsonl` blocked
the tailer's `open` for good; a symlink loop made startup fail.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from pathlib import Path

import pytest

from tests.support.gen import big_line_session, write_heavy_sessions, write_sessions
from tests.support.supervisor import Supervisor
from tests.tailer.test_service import expected_keys

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

ACTORS = ["--actors", "convex_writer,sessions_tailer"]
MIB = 1024 * 1024


def stored_keys(sup: Supervisor) -> set[str]:
    with sup.store() as st:
        return {k for (k,) in st.conn.execute("SELECT key FROM messages")}


def wait_keys(sup: Supervisor, want: set[str], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        got = stored_keys(sup)
        if got >= want:
            assert got == want, f"{len(got - want)} unexpected row(s)"
            return
        assert time.monotonic() < deadline, (
            f"only {len(got & want)} of {len(want)} rows stored; log:\n{sup.log.read_text()[-3000:]}"
        )
        time.sleep(0.1)


def tailer_health(sup: Supervisor, cond, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        health = sup.actor("sessions_tailer").get("health", {})
        if cond(health) or time.monotonic() > deadline:
            return health
        time.sleep(0.2)


def test_heavy_rows_are_mirrored_and_the_sessions_after_them_too(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path, args=ACTORS)
    sessions = sup.codex_home / "sessions"
    heavy = write_heavy_sessions(sessions, 30)
    big_tid = str(uuid.uuid4())
    big = sessions / "2026" / "11" / "24" / f"rollout-2026-11-24T02-00-00-{big_tid}.jsonl"
    big_line_session(big, big_tid, 17 * MIB)  # one valid 17 MiB line
    plain = write_sessions(sessions, 5)
    want = expected_keys([*heavy, big, *plain])
    assert len(expected_keys(heavy)) == 6060
    sup.start()
    try:
        pid = sup.actor("sessions_tailer")["pid"]
        wait_keys(sup, want)
        # Live: sessions written afterwards (heavy ones among them) are mirrored as well.
        later = write_sessions(sessions / "later", 5) + write_heavy_sessions(sessions / "later", 2)
        want |= expected_keys(later)
        wait_keys(sup, want)
        with sup.store() as st:
            (tool,) = [r for r in st.messages_for_thread(big_tid) if r["kind"] == "tool"]
        assert len(tool["data"]["arguments"]) == 17 * MIB  # stored whole
        tailer = sup.actor("sessions_tailer")
        assert (tailer["pid"], tailer["restarts"], tailer["state"]) == (pid, 0, "running")
        health = tailer_health(sup, lambda h: h.get("rows", 0) >= len(want))
        assert health["rowsTruncated"] == 0 and health["skipped"] == {}
    finally:
        assert sup.stop() == 0


def test_fifos_and_symlink_loops_change_nothing_for_the_other_sessions(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path, args=ACTORS)
    sessions = sup.codex_home / "sessions"
    before = write_sessions(sessions, 10)
    day = sessions / "2026" / "11" / "10"
    os.mkfifo(day / "fifo.jsonl")
    os.symlink("loop.jsonl", day / "loop.jsonl")  # refers to itself: ELOOP
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(day / "sock.jsonl"))
    try:
        sup.start()  # a symlink loop stopped the supervisor from starting at all
        try:
            pid = sup.actor("sessions_tailer")["pid"]
            wait_keys(sup, expected_keys(before))
            # Live: the same hostile entries appear while running (watch events and rescans).
            live = sessions / "2026" / "11" / "30"
            live.mkdir(parents=True)
            os.mkfifo(live / "fifo.jsonl")
            os.symlink("loop.jsonl", live / "loop.jsonl")
            after = write_sessions(sessions / "after", 10)
            wait_keys(sup, expected_keys(before + after))
            want = {"fifo": 2, "symlink_loop": 2, "socket": 1}
            health = tailer_health(sup, lambda h: h.get("skipped") == want)
            assert health["skipped"] == want
            # Several rescans later: still running, counted once, and nothing restarted.
            time.sleep(3)
            tailer = sup.actor("sessions_tailer")
            assert (tailer["pid"], tailer["restarts"], tailer["state"]) == (pid, 0, "running")
            assert tailer["health"]["skipped"] == want
            assert sup.actor("convex_writer")["restarts"] == 0
        finally:
            assert sup.stop() == 0
    finally:
        sock.close()
