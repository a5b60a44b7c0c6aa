"""Search beside a running supervisor: live appends, a restart, and kill -9 of the writer mid-batch
(during the backfill at a restart, the path tests/e2e/test_crash_backfill.py also takes).

At every point a reader looks, the index and the rows agree: no row searchable without being
stored, none stored without being searchable (both read in one transaction).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from tests.e2e.test_crash_backfill import expected_keys
from tests.jsonl.corpus import CORPUS
from tests.support.gen import write_sessions
from tests.support.search_checks import index_mismatch
from tests.support.supervisor import ROOT, Supervisor


def search(sup: Supervisor, *args: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, "-m", "oa_actors", "search", "--json", *args],
        env=sup.env,
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    assert out.returncode in (0, 1), out.stderr.decode()
    return [json.loads(line) for line in out.stdout.decode().splitlines()]


def reader(sup: Supervisor) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{sup.home / 'store.sqlite3'}?mode=ro", uri=True, isolation_level=None)


def assert_consistent(conn: sqlite3.Connection) -> int:
    missing, extra, checked = index_mismatch(conn)
    assert not missing, f"{len(missing)} stored rows are not searchable"
    assert not extra, f"{len(extra)} searchable rows are not stored"
    return checked


MERGED_SEGMENTS = 12


def segments(conn: sqlite3.Connection) -> int:
    """Segments of the full-text index (each has rows in FTS5's `_idx` table)."""
    return int(conn.execute("SELECT COUNT(DISTINCT segid) FROM messages_fts_idx").fetchone()[0])


def wait_for(pred: Any, what: str, timeout: float = 60.0, sup: Supervisor | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        if time.monotonic() > deadline:
            log = sup.log.read_text()[-3000:] + json.dumps(sup.status())[:4000] if sup is not None else ""
            raise AssertionError(f"timed out waiting for {what} (last: {got!r})\n{log}")
        time.sleep(0.2)


def rollout_line(kind: str, payload: dict[str, Any]) -> str:
    ts = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    return json.dumps({"timestamp": ts, "type": kind, "payload": payload}) + "\n"


def test_search_while_the_supervisor_runs_appends_restarts_and_loses_its_writer(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path, args=["--actors", "convex_writer,sessions_tailer"])
    sessions = sup.codex_home / "sessions"
    shutil.copytree(CORPUS / "codex-0.169.0" / "sessions", sessions)
    shutil.copytree(CORPUS / "claude-2.1.197" / "projects", tmp_path / ".claude" / "projects")
    sup.start()
    try:
        # Existing sessions of both agents, searched while the writer runs.
        claude = wait_for(lambda: search(sup, "pineapple", "--source", "claude"), "the Claude sessions")
        assert {h["source"] for h in claude} == {"claude"}
        assert search(sup, "pineapple", "--source", "codex") == []
        conn = reader(sup)
        assert_consistent(conn)

        # A live append is searchable as soon as it is stored, never before or after.
        tid = str(uuid.uuid4())
        word = "live" + uuid.uuid4().hex[:12]
        day = sessions / "2026" / "12" / "05"
        day.mkdir(parents=True)
        path = day / f"rollout-2026-12-05T10-00-00-{tid}.jsonl"
        with open(path, "a") as f:
            f.write(rollout_line("session_meta", {"id": tid, "timestamp": "2026-12-05T10:00:00.000Z",
                                                  "cwd": "/home/dev/live", "originator": "codex_exec",
                                                  "cli_version": "0.120.0", "source": "exec"}))  # fmt: skip
            f.flush()
            for i in range(5):
                f.write(rollout_line("event_msg", {"type": "user_message", "message": f"{word} step {i}"}))
                f.flush()
                assert_consistent(conn)
                time.sleep(0.05)
        hits = wait_for(
            lambda: len(search(sup, word, "--limit", "50")) == 5 and search(sup, word), "the appends"
        )
        assert {h["threadId"] for h in hits} == {tid}
        assert_consistent(conn)
        conn.close()

        # New sessions arrive while the supervisor is down; at the restart they are backfilled,
        # and the writer is killed (kill -9) in the middle of that backfill.
        assert sup.stop() == 0
        paths = write_sessions(sessions / "2026" / "12" / "06", 2500, turns=2)
        want = expected_keys(paths)
        sup.start()
        again = search(sup, word, "--limit", "50")  # the restart re-read nothing twice
        assert sorted(h["key"] for h in again) == sorted(h["key"] for h in hits)
        conn = reader(sup)
        checks = 0
        last: list[int] = []

        def stored() -> int:
            nonlocal checks
            assert_consistent(conn)
            checks += 1
            keys = {k for (k,) in conn.execute("SELECT key FROM messages")}
            last[:] = [len(want & keys)]
            return last[0]

        wait_for(lambda: stored() >= len(want) // 3, "a third of the new rows", timeout=120, sup=sup)
        writer = sup.actor("convex_writer")
        os.kill(writer["pid"], signal.SIGKILL)
        sup.wait_actor_restarted("convex_writer", writer["pid"])
        wait_for(lambda: stored() >= len(want), f"all {len(want)} new rows (last count {last})", 180, sup)
        assert checks >= 2  # consistent before and after the kill, not only at the end
        assert_consistent(conn)  # every new row (each stored, see stored()) is searchable
        # Writes do not merge the index's segments (a backfill leaves dozens); the writer, killed
        # or not, merges them once idle, down to fewer than 4 per level.
        wait_for(lambda: segments(conn) <= MERGED_SEGMENTS, "the writer's idle merges of the index", 60, sup)
        assert_consistent(conn)
        conn.close()
        one = paths[7].name.split("-", 6)[-1].removesuffix(".jsonl")  # a generated thread id
        hits = search(sup, "prompt", "--thread", one, "--limit", "50")
        assert hits and {h["threadId"] for h in hits} == {one}
    finally:
        assert sup.stop() == 0
