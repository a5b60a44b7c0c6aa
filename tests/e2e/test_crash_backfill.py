"""Issue 4: kill -9 the tailer and then the writer during a backfill of thousands of sessions.

Afterwards the store holds exactly the expected rows: every key once, none missing.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from oa_actors.jsonl._pytail import JsonlTail
from oa_actors.jsonl.files import parse_file
from tests.support.gen import write_sessions
from tests.support.supervisor import Supervisor


def expected_keys(paths: list[Path]) -> set[str]:
    keys: set[str] = set()
    for p in paths:
        _, batches = parse_file(p, JsonlTail(str(p)))
        keys.update(m["key"] for b in batches for m in b.messages)
    return keys


def stored_keys(sup: Supervisor) -> set[str]:
    try:
        with sup.store() as st:
            return {k for (k,) in st.conn.execute("SELECT key FROM messages")}
    except Exception:
        return set()


def wait_rows(sup: Supervisor, n: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while len(stored_keys(sup)) < n:
        assert time.monotonic() < deadline, f"only {len(stored_keys(sup))} of {n} rows"
        time.sleep(0.05)


def test_kill_tailer_then_writer_during_backfill(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path, args=["--actors", "convex_writer,sessions_tailer"])
    paths = write_sessions(sup.codex_home / "sessions", 2500, turns=2)
    want = expected_keys(paths)
    sup.start()
    try:
        wait_rows(sup, len(want) // 5)
        tailer = sup.actor("sessions_tailer")
        os.kill(tailer["pid"], signal.SIGKILL)
        sup.wait_actor_restarted("sessions_tailer", tailer["pid"])
        wait_rows(sup, len(want) // 2)
        writer = sup.actor("convex_writer")
        os.kill(writer["pid"], signal.SIGKILL)
        sup.wait_actor_restarted("convex_writer", writer["pid"])
        wait_rows(sup, len(want), timeout=180)
        time.sleep(1.0)
        got = stored_keys(sup)
        assert got == want
        with sup.store() as st:
            assert st.count("messages") == len(want)  # no duplicates (keys are unique and counted)
            assert st.count("threads") == len(paths)
            assert len(st.checkpoints()) == len(paths)
    finally:
        assert sup.stop() == 0
