"""Convex errors by class through the whole supervisor (issue 11 point 4).

A wrong admin key pauses the writer's drain (`unauthorized`, shown by `convex status`) and keeps
every row; restarting with the right key drains them exactly once. Rows refused on their own are
quarantined and `convex retry-quarantine` re-queues them through the running writer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.convex.test_backend import (
    convex_counts,
    health,
    running,
    store_counts,
    wait_drained,
    wait_for,
)
from tests.support import convex_emulator
from tests.support.convex_emulator import ConvexEmulator
from tests.support.gen import rollout_lines, write_sessions
from tests.support.http_proxy import ReverseProxy
from tests.support.supervisor import ROOT, Supervisor

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not convex_emulator.available(), reason="node_modules missing: run `make test`"),
]

ACTORS = ["--actors", "convex_backend,convex_writer,sessions_tailer"]


def convex_env(url: str, key: str) -> dict[str, str]:
    return {
        "OPENAGENTS_CONVEX_URL": url,
        "OPENAGENTS_CONVEX_ADMIN_KEY": key,
        "OPENAGENTS_CONVEX_DEPLOY": "0",
        "OPENAGENTS_CONVEX_BIN": "",
        "CONVEX_DEPLOY_KEY": "",
    }


def cli(sup: Supervisor, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oa_actors", *args],
        env=sup.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def outbox(sup: Supervisor) -> tuple[int, int, int]:
    """(pending, cursor, quarantined) read from the store."""
    st = sup.store()
    try:
        cursor = st.outbox_cursor()
        return st.outbox_last_id() - cursor, cursor, st.count("quarantine")
    finally:
        st.close()


def test_wrong_key_pauses_the_writer_and_the_right_key_drains_everything_once(tmp_path: Path) -> None:
    write_sessions(tmp_path / "codex-home" / "sessions", 6, turns=3)
    with ConvexEmulator() as emu:
        sup = Supervisor(tmp_path, env=convex_env(emu.url, "not-the-key"), args=ACTORS)
        with running(sup):
            wait_for(lambda: len(store_counts(sup)) == 6, 60, "the six sessions in the store")
            writer = wait_for(
                lambda: (
                    (c := health(sup, "convex_writer").get("convex")) and c["state"] == "unauthorized" and c
                ),
                60,
                "the writer to report unauthorized",
            )
            assert writer["connected"] is False and "401" in writer["lastError"]
            pending, cursor, quarantined = outbox(sup)
            assert cursor == 0 and pending > 0 and quarantined == 0
            assert writer["quarantined"] == 0 and writer["sentRows"] == 0
            human = cli(sup, "convex", "status")
            assert human.returncode == 0, human.stderr
            assert "writer: unauthorized" in human.stdout and "admin key is refused" in human.stdout
            assert f"{pending} rows pending, 0 quarantined" in human.stdout
            assert "{" not in human.stdout  # for people, not a raw dict
            raw = json.loads(cli(sup, "convex", "status", "--json").stdout)
            assert raw["writer"]["state"] == "unauthorized"
            assert "not-the-key" not in human.stdout + json.dumps(raw)
        # The key is fixed and the supervisor restarted: the backlog drains by itself, once.
        sup = Supervisor(tmp_path, env=convex_env(emu.url, emu.admin_key), args=ACTORS)
        with running(sup):
            want = wait_drained(sup, emu.url, emu.admin_key, expected_threads=6)
            assert convex_counts(emu.url, emu.admin_key, list(want)) == want
            wait_for(lambda: outbox(sup)[0] == 0, 30, "an empty outbox")
            assert outbox(sup)[2] == 0
            # status comes from the writer's last heartbeat (every second): it may lag the store
            wait_for(
                lambda: health(sup, "convex_writer")["convex"]["state"] == "connected",
                30,
                "the writer to report connected",
            )


def test_retry_quarantine_through_the_running_writer(tmp_path: Path) -> None:
    sessions = tmp_path / "codex-home" / "sessions"
    write_sessions(sessions, 3, turns=2)
    big_id = "0199aaaa-0000-7000-8000-00000000b16b"
    day = sessions / "2026" / "11" / "20"
    day.mkdir(parents=True)
    (day / f"rollout-2026-11-20T01-00-00-{big_id}.jsonl").write_text(
        "\n".join(rollout_lines(big_id, 1, text_size=300_000)) + "\n"
    )
    with ConvexEmulator() as emu, ReverseProxy(emu.url) as proxy:
        proxy.max_body = 250_000  # a proxy's body limit: the large rows alone do not pass
        sup = Supervisor(tmp_path, env=convex_env(proxy.url, emu.admin_key), args=ACTORS)
        with running(sup):
            wait_for(lambda: len(store_counts(sup)) == 4, 60, "the four sessions in the store")
            wait_for(lambda: outbox(sup)[0] == 0 and outbox(sup)[2] > 0, 60, "a drained outbox")
            quarantined = outbox(sup)[2]
            want = store_counts(sup)
            got = convex_counts(emu.url, emu.admin_key, list(want))
            assert sum(want.values()) - sum(got.values()) == quarantined
            assert {t for t in want if got[t] != want[t]} == {big_id}  # only its rows, the rest arrived
            status = cli(sup, "convex", "status").stdout
            assert f"{quarantined} quarantined" in status and "retry-quarantine" in status
            proxy.max_body = None  # the proxy's limit is raised
            out = cli(sup, "convex", "retry-quarantine")
            assert out.returncode == 0, out.stderr
            assert f"re-queued {quarantined} quarantined row" in out.stdout
            assert "by the running supervisor" in out.stdout
            wait_drained(sup, emu.url, emu.admin_key, expected_threads=4)
            assert outbox(sup)[2] == 0
            again = cli(sup, "convex", "retry-quarantine")
            assert again.returncode == 0 and "nothing to retry" in again.stdout
    # Without a supervisor, the command works on the store under the single-instance lock.
    offline = subprocess.run(
        [sys.executable, "-m", "oa_actors", "convex", "retry-quarantine"],
        env={**os.environ, **sup.env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert offline.returncode == 0 and "nothing to retry" in offline.stdout
