"""Issue 4 end to end: the real Codex CLI writes sessions while `oa-supervisor run` mirrors them."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.support import codex
from tests.support.mock_openai import MockResponses
from tests.support.supervisor import Supervisor

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not codex.available(), reason="node_modules missing: run `make test` (npm ci)"),
]


def run_codex(
    sup: Supervisor, mock: MockResponses, ws: Path, prompt: str, resume: str | None = None
) -> subprocess.CompletedProcess[str]:
    argv = [
        str(codex.CODEX),
        "exec",
        "--json",
        "--skip-git-repo-check",
        *mock.codex_args(),
        "-C",
        str(ws),
        "-s",
        "danger-full-access",
    ]
    if resume:
        argv += ["resume", resume]
    env = {**sup.env, "MOCK_API_KEY": "dummy"}
    return subprocess.run(
        [*argv, prompt], env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )


def wait_for(cond, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError("condition not met")


def test_codex_sessions_appear_exactly_once_in_order(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    with MockResponses() as mock:
        sup = Supervisor(tmp_path).start()
        try:
            first = run_codex(sup, mock, ws, "Please run cmd: echo hi; exit 3 [scenario:shell]")
            assert first.returncode == 0, first.stderr[-2000:]
            session = (
                next(line for line in first.stdout.splitlines() if "thread.started" in line)
                .split('"thread_id":"')[1]
                .split('"')[0]
            )

            def turn_one():
                with sup.store() as st:
                    rows = st.messages_for_thread(session)
                return rows if any(r["role"] == "assistant" for r in rows) else None

            rows = wait_for(turn_one)
            second = run_codex(sup, mock, ws, "And now a second turn", resume=session)
            assert second.returncode == 0, second.stderr[-2000:]

            def turn_two():
                with sup.store() as st:
                    r = [m for m in st.messages_for_thread(session) if m["kind"] != "usage"]
                return (
                    r
                    if sum(1 for m in r if m["role"] == "user") == 2 and r[-1]["role"] == "assistant"
                    else None
                )

            rows = wait_for(turn_two)
            time.sleep(1.0)  # anything late (a duplicate) would arrive now
            with sup.store() as st:
                rows = st.messages_for_thread(session)
                thread = st.thread(session)
                assert st.count("threads") == 1
            convo = [(r["role"], r["kind"], r["text"]) for r in rows if r["kind"] not in ("context", "usage")]
            assert convo == [
                ("user", "message", "Please run cmd: echo hi; exit 3 [scenario:shell]"),
                ("tool", "cmd", "echo hi; exit 3"),
                ("assistant", "message", "Done: the command ran."),
                ("user", "message", "And now a second turn"),
                ("assistant", "message", "Echo: And now a second turn"),
            ]
            cmd = next(r for r in rows if r["kind"] == "cmd")
            assert cmd["data"]["exitCode"] == 3 and "hi" in cmd["data"]["output"]
            assert len({r["key"] for r in rows}) == len(rows)
            assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)
            assert (
                thread is not None
                and thread["title"].startswith("Please run cmd")
                and thread["cwd"] == str(ws)
            )
        finally:
            assert sup.stop() == 0
