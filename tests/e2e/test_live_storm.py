"""Issue 11, the silent stall: thousands of new rollouts while `oa-supervisor run` ingests live,
with kill -9 of the writer and then of the tailer in the middle of it.

Every file created in a watched folder also reports its folder as modified. The tailer used to
list (walk and stat) the whole folder on each of those events, in loop callbacks that ran ahead of
its read loop: creating 1,500 files in one day folder meant about a million `stat` calls before
the next file was read, so ingestion stopped for minutes while status said "running" (the writer
kill made it visible: the tailer logged its retransmission, then nothing). Now folder events are
coalesced (one listing per 0.5 s at most), so the tailer lists the folder far fewer times than
files were created, and the store ends exact: every row once, none missing.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.e2e.test_crash_backfill import expected_keys, stored_keys, wait_rows
from tests.support.gen import write_sessions
from tests.support.supervisor import Supervisor

FIRST = 1500
SECOND = 500


def _move_in(staged: list[Path], folder: Path, kill_at: int, kill: object) -> list[Path]:
    """Write each staged rollout into `folder` (one day folder, as on a busy day); call `kill()`
    once `kill_at` files are in."""
    out = []
    for i, p in enumerate(staged):
        dst = folder / p.name
        dst.write_bytes(p.read_bytes())
        out.append(dst)
        if i == kill_at:
            kill()  # type: ignore[operator]
    return out


def test_thousands_of_new_files_with_kills_never_stall(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path, args=["--actors", "convex_writer,sessions_tailer"])
    day = sup.codex_home / "sessions" / "2026" / "12" / "05"
    day.mkdir(parents=True)
    staged = write_sessions(tmp_path / "staged", FIRST + SECOND, turns=2)
    sup.start()
    try:

        def kill(name: str) -> None:
            a = sup.actor(name)
            os.kill(a["pid"], signal.SIGKILL)

        # 1. A storm of new files in one folder; the writer is killed a third of the way in.
        first = _move_in(staged[:FIRST], day, FIRST // 3, lambda: kill("convex_writer"))
        want = expected_keys(first)
        wait_rows(sup, len(want), timeout=240)
        tailer = sup.actor("sessions_tailer")
        assert tailer["restarts"] == 0, "the tailer was restarted (a health-check kill means it stalled)"
        scans = tailer["health"]["folderScans"]
        # Coalesced: a listing per 0.5 s while events arrive, not one per file created.
        assert scans < FIRST // 10, f"{scans} folder listings for {FIRST} files created"
        assert sup.actor("convex_writer")["restarts"] == 1

        # 2. More files; now the tailer itself is killed half-way.
        second = _move_in(staged[FIRST:], day, SECOND // 2, lambda: kill("sessions_tailer"))
        want |= expected_keys(second)
        wait_rows(sup, len(want), timeout=240)
        time.sleep(1.0)  # anything still in flight would show up as an extra row
        assert stored_keys(sup) == want
        with sup.store() as st:
            assert st.count("messages") == len(want)
            assert st.count("threads") == FIRST + SECOND
            assert len(st.checkpoints()) == FIRST + SECOND
        assert all(a["state"] == "running" for a in (sup.status() or {})["actors"])
    finally:
        assert sup.stop() == 0
