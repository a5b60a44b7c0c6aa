"""RunManager with provider="claude": the real Claude Code CLI (npm, pinned in package.json) against
the mock Anthropic Messages API on 127.0.0.1 (tests/support/mock_anthropic.py).

Session files are read with the Python JSONL backend (the native one does not know Claude yet).
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
from pathlib import Path
from typing import Any

import psutil
import pytest

from oa_actors.jsonl._pytail import JsonlTail
from oa_actors.jsonl.files import parse_file
from oa_actors.runner.manager import RunManager
from oa_actors.runner.providers import PROVIDERS, ClaudeProvider
from tests.support.mock_anthropic import MockAnthropic

ROOT = Path(__file__).resolve().parents[2]
CLAUDE = ROOT / "node_modules" / ".bin" / "claude"


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def __call__(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def states(self, run_id: str) -> list[str]:
        return [
            e["data"]["status"]
            for e in self.events
            if e["event"] == "run.state" and e["data"]["runId"] == run_id
        ]

    def lines(self, run_id: str) -> list[Any]:
        return [
            e["data"]["line"]
            for e in self.events
            if e["event"] == "run.stdout" and e["data"]["runId"] == run_id
        ]


def claude_env(mock: MockAnthropic, tmp: Path) -> dict[str, str]:
    return {
        **mock.env(str(tmp / "claude")),
        "HOME": str(tmp),
        "CLAUDE_BIN": str(CLAUDE),
        "OPENAGENTS_CLAUDE_ARGS": shlex.join(["--dangerously-skip-permissions"]),
    }


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with MockAnthropic(slow_delay=0.3) as mock:
        for k, v in claude_env(mock, tmp_path).items():
            monkeypatch.setenv(k, v)
        (tmp_path / "ws").mkdir()
        yield mock, tmp_path


async def finished(mgr: RunManager, run_id: str, timeout: float = 90) -> None:
    async with asyncio.timeout(timeout):
        while mgr.runs[run_id].status not in ("done", "failed", "interrupted"):
            await asyncio.sleep(0.05)


def session_files(tmp: Path, session_id: str) -> list[Path]:
    return sorted((tmp / "claude" / "projects").rglob(f"{session_id}.jsonl"))


def test_provider_argv_and_session_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_BIN", "/opt/claude")
    monkeypatch.setenv("OPENAGENTS_CLAUDE_ARGS", "--model sonnet --permission-mode 'bypassPermissions'")
    p = PROVIDERS["claude"]
    assert isinstance(p, ClaudeProvider)
    base = [
        "/opt/claude",
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--model",
        "sonnet",
        "--permission-mode",
        "bypassPermissions",
    ]
    assert p.argv(None, "/ws") == base
    assert p.argv("c09da64e-8c77-4838-b53b-b65a7bb6c7c8", "/ws") == [
        *base,
        "--resume",
        "c09da64e-8c77-4838-b53b-b65a7bb6c7c8",
    ]
    assert p.stdin("-starts with a dash") == b"-starts with a dash"
    assert p.session_id({"type": "system", "subtype": "init", "session_id": "abc"}) == "abc"
    assert p.session_id({"type": "result", "session_id": "abc"}) == "abc"
    assert p.session_id({"type": "thread.started", "thread_id": "x"}) is None
    assert p.session_id("not json") is None
    monkeypatch.delenv("CLAUDE_BIN")
    monkeypatch.setenv("PATH", "/nonexistent")
    if CLAUDE.exists():
        assert p.binary() == str(CLAUDE)  # the pinned npm CLI when neither CLAUDE_BIN nor PATH has one


@pytest.mark.e2e
@pytest.mark.skipif(not CLAUDE.exists(), reason="node_modules missing: run `make test` (npm install)")
async def test_new_session_then_resume_same_session(env) -> None:
    mock, tmp = env
    rec = Recorder()
    mgr = RunManager(rec, logs_dir=tmp / "logs")
    r1 = await mgr.submit(
        "app-thread-1", "Say hi [[S:bash]] cmd: echo from-claude", cwd=str(tmp / "ws"), provider="claude"
    )
    await finished(mgr, r1.runId)
    assert r1.status == "done" and r1.exitCode == 0, (tmp / "logs" / f"run-{r1.runId}.log").read_text()
    assert (
        r1.sessionId
        and rec.states(r1.runId)[:2] == ["pending", "running"]
        and rec.states(r1.runId)[-1] == "done"
    )
    lines = [line for line in rec.lines(r1.runId) if isinstance(line, dict)]
    assert lines[0]["type"] == "system" and lines[0]["subtype"] == "init" and lines[-1]["type"] == "result"
    assert all(e["data"]["provider"] == "claude" for e in rec.events if e["event"] == "run.stdout")
    (path,) = session_files(tmp, r1.sessionId)
    assert path.parent.name == re.sub(r"[^A-Za-z0-9]", "-", str(tmp / "ws"))  # the escaped cwd

    r2 = await mgr.submit("app-thread-1", "Second turn", cwd=str(tmp / "ws"), provider="claude")
    await finished(mgr, r2.runId)
    assert r2.status == "done" and r2.sessionId == r1.sessionId
    # The model saw the first turn again: this really was `--resume <sessionId>` of the same session.
    last = mock.messages()[-1]
    assert "from-claude" in str(last["messages"]) and "Second turn" in str(last["messages"])
    assert session_files(tmp, r1.sessionId) == [path]

    # The session file, mirrored: one thread, both prompts, the Bash call with its exit code.
    tail, batches = parse_file(path, JsonlTail(str(path)))
    rows = [m for b in batches for m in b.messages]
    thread = [t for b in batches for t in b.threads][-1]
    assert (
        thread["threadId"] == r1.sessionId
        and thread["source"] == "claude"
        and thread["cwd"] == str(tmp / "ws")
    )
    assert [m["text"] for m in rows if m["role"] == "user"] == [
        "Say hi [[S:bash]] cmd: echo from-claude",
        "Second turn",
    ]
    (cmd,) = [m for m in rows if m["kind"] == "cmd"]
    assert (
        cmd["data"]["command"] == "echo from-claude"
        and cmd["data"]["exitCode"] == 0
        and cmd["data"]["output"] == "from-claude"
    )
    assert [m["text"] for m in rows if m["role"] == "assistant"] == [
        "Done: the command ran.",
        "Echo: Second turn",
    ]
    assert not any(tail.errors.values())


@pytest.mark.e2e
@pytest.mark.skipif(not CLAUDE.exists(), reason="node_modules missing: run `make test` (npm install)")
async def test_interrupt_a_slow_claude_run(env) -> None:
    _mock, tmp = env
    rec = Recorder()
    mgr = RunManager(rec, logs_dir=tmp / "logs")
    slow = await mgr.submit("S", "Take your time [[S:slow]]", cwd=str(tmp / "ws"), provider="claude")
    async with asyncio.timeout(60):
        while slow.status != "running" or slow.sessionId is None:
            await asyncio.sleep(0.05)
    pid = slow.pid
    assert pid is not None
    await mgr.interrupt(run_id=slow.runId)
    await finished(mgr, slow.runId, 30)
    assert slow.status == "interrupted"
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert (await mgr.interrupt(run_id=slow.runId)) is slow and slow.status == "interrupted"


@pytest.mark.e2e
@pytest.mark.skipif(not CLAUDE.exists(), reason="node_modules missing: run `make test` (npm install)")
async def test_api_error_fails_the_run(env) -> None:
    _mock, tmp = env
    rec = Recorder()
    mgr = RunManager(rec, logs_dir=tmp / "logs")
    bad = await mgr.submit("F", "This fails [[S:error]]", cwd=str(tmp / "ws"), provider="claude")
    await finished(mgr, bad.runId)
    assert bad.status == "failed" and bad.exitCode == 1
    results = [
        line for line in rec.lines(bad.runId) if isinstance(line, dict) and line.get("type") == "result"
    ]
    assert results and results[-1]["is_error"] is True
    os.environ["CLAUDE_BIN"] = str(tmp / "no-such-claude")
    broken = await mgr.submit("G", "hello", cwd=str(tmp / "ws"), provider="claude")
    await finished(mgr, broken.runId)
    assert broken.status == "failed" and "FileNotFoundError" in (broken.error or "")


@pytest.mark.e2e
@pytest.mark.skipif(not CLAUDE.exists(), reason="node_modules missing: run `make test` (npm install)")
async def test_supervisor_run_submit_resume_and_outside_session_mirrored_once(tmp_path: Path) -> None:
    """The whole supervisor: `run.submit` over WS picks the claude provider (from the project's
    agentFile, or the request's `provider`), resumes the thread's own session, and the tailer
    mirrors the Claude projects folder (also a session started outside) exactly once."""
    import json
    import subprocess

    from websockets.asyncio.client import connect

    from tests.support.supervisor import Supervisor
    from tests.support.ws_client import Client, final

    ws_dir = tmp_path / "work"
    ws_dir.mkdir()
    config = tmp_path / "claude-config"
    with MockAnthropic() as mock:
        env = {**claude_env(mock, tmp_path), "CLAUDE_CONFIG_DIR": str(config)}
        sup = Supervisor(tmp_path, env=env).start()
        try:
            async with connect(
                sup.bridge_url, additional_headers={"Authorization": f"Bearer {sup.token}"}, max_size=8 << 20
            ) as ws:
                c = Client(ws)
                saved = await c.call(
                    "project.save",
                    project={
                        "id": "cl",
                        "name": "Claude project",
                        "workingDir": str(ws_dir),
                        "agentFile": "CLAUDE.md",
                    },
                )
                assert saved["ok"], saved
                r1 = await c.call(
                    "run.submit",
                    threadDocId="app-c1",
                    text="Hello [[S:bash]] cmd: echo via-ws",
                    projectId="cl",
                )
                assert r1["ok"] and r1["result"]["provider"] == "claude", r1
                d1 = await c.until(final(r1["result"]["runId"]))
                assert d1["data"]["status"] == "done", d1
                session = d1["data"]["sessionId"]
                lines = [
                    e["data"]["line"]
                    for e in c.events
                    if e.get("event") == "run.stdout" and e["data"]["runId"] == r1["result"]["runId"]
                ]
                assert lines[0]["type"] == "system" and lines[0]["session_id"] == session
                r2 = await c.call(
                    "run.submit", threadDocId="app-c1", text="Second claude turn", provider="claude"
                )
                d2 = await c.until(final(r2["result"]["runId"]))
                assert d2["data"]["status"] == "done" and d2["data"]["sessionId"] == session
                outside = subprocess.run(
                    [str(CLAUDE), "-p", "Outside the supervisor", "--output-format", "json"],
                    cwd=ws_dir,
                    env={**os.environ, **env},
                    capture_output=True,
                    timeout=120,
                    check=True,
                )
                sid_outside = json.loads(outside.stdout)["session_id"]
                files = sorted((config / "projects").rglob("*.jsonl"))
                assert len(files) == 2
                want = {}
                for f in files:
                    _, batches = parse_file(f, JsonlTail(str(f)))
                    for m in (m for b in batches for m in b.messages):
                        want[m["key"]] = m
                async with asyncio.timeout(60):
                    while True:
                        with sup.store() as st:
                            have = {k for (k,) in st.conn.execute("SELECT key FROM messages")}
                        if have >= set(want):
                            break
                        await asyncio.sleep(0.2)
                await asyncio.sleep(1.0)
                with sup.store() as st:
                    assert {k for (k,) in st.conn.execute("SELECT key FROM messages")} == set(want)
                    rows = st.messages_for_thread(session)
                    assert [m["text"] for m in rows if m["role"] == "user"] == [
                        "Hello [[S:bash]] cmd: echo via-ws",
                        "Second claude turn",
                    ]
                    assert [m["data"]["exitCode"] for m in rows if m["kind"] == "cmd"] == [0]
                    assert [
                        m["text"] for m in st.messages_for_thread(sid_outside) if m["kind"] != "usage"
                    ] == [
                        "Outside the supervisor",
                        "Echo: Outside the supervisor",
                    ]
                    for tid in (session, sid_outside):
                        t = st.thread(tid)
                        assert t is not None and t["source"] == "claude" and t["cwd"] == str(ws_dir)
                status = await c.call("sessions.watch_status")
                assert str(config / "projects") in status["result"]["roots"]
        finally:
            assert sup.stop() == 0
