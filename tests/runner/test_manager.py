"""RunManager with the real Codex CLI against the mock Responses API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import psutil
import pytest
import uvloop

from oa_actors.runner.errors import RunError
from oa_actors.runner.manager import RunManager
from tests.support import codex
from tests.support.mock_openai import MockResponses

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not codex.available(), reason="node_modules missing: run `make test` (npm ci)"),
]


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


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with MockResponses(slow_delay=0.3) as mock:
        for k, v in codex.codex_env(mock, tmp_path / "codex").items():
            monkeypatch.setenv(k, v)
        (tmp_path / "ws").mkdir()
        yield mock, tmp_path


async def finished(mgr: RunManager, run_id: str, timeout: float = 90) -> None:
    async with asyncio.timeout(timeout):
        while mgr.runs[run_id].status not in ("done", "failed", "interrupted"):
            await asyncio.sleep(0.05)


async def test_new_thread_then_resume_same_session(env) -> None:
    mock, tmp = env
    rec = Recorder()
    mgr = RunManager(rec, logs_dir=tmp / "logs")
    r1 = await mgr.submit("app-thread-1", "Say hi", cwd=str(tmp / "ws"))
    await finished(mgr, r1.runId)
    assert rec.states(r1.runId) == ["pending", "running", "running", "done"]
    assert r1.exitCode == 0 and r1.sessionId
    assert any(
        isinstance(line, dict) and line.get("type") == "item.completed" for line in rec.lines(r1.runId)
    )
    r2 = await mgr.submit("app-thread-1", "Second turn", cwd=str(tmp / "ws"))
    await finished(mgr, r2.runId)
    assert r2.status == "done" and r2.sessionId == r1.sessionId
    # The model saw the first turn again: this really was a resume of the same session.
    assert any(
        "Say hi" in str(req.get("input")) and "Second turn" in str(req.get("input")) for req in mock.requests
    )
    rollouts = list((tmp / "codex" / "sessions").rglob(f"*{r1.sessionId}.jsonl"))
    assert len(rollouts) == 1


async def test_two_threads_in_parallel_never_mix(env) -> None:
    _mock, tmp = env
    rec = Recorder()
    mgr = RunManager(rec, logs_dir=tmp / "logs")
    a = await mgr.submit("A", "alpha prompt", cwd=str(tmp / "ws"))
    b = await mgr.submit("B", "beta prompt", cwd=str(tmp / "ws"))
    await asyncio.gather(finished(mgr, a.runId), finished(mgr, b.runId))
    assert a.sessionId != b.sessionId
    texts_a = [
        line["item"]["text"]
        for line in rec.lines(a.runId)
        if isinstance(line, dict) and line.get("type") == "item.completed"
    ]
    texts_b = [
        line["item"]["text"]
        for line in rec.lines(b.runId)
        if isinstance(line, dict) and line.get("type") == "item.completed"
    ]
    assert texts_a == ["Echo: alpha prompt"] and texts_b == ["Echo: beta prompt"]
    assert mgr.sessions == {"codex:A": a.sessionId, "codex:B": b.sessionId}


async def test_same_thread_runs_queue(env) -> None:
    _mock, tmp = env
    rec = Recorder()
    mgr = RunManager(rec, logs_dir=tmp / "logs")
    first = await mgr.submit("T", "one", cwd=str(tmp / "ws"))
    second = await mgr.submit("T", "two", cwd=str(tmp / "ws"))
    assert second.status == "pending"
    await finished(mgr, second.runId)
    order = [(e["data"]["runId"], e["data"]["status"]) for e in rec.events if e["event"] == "run.state"]
    assert order.index((first.runId, "done")) < order.index((second.runId, "running"))


async def test_interrupt_a_long_run_kills_its_process_group(env) -> None:
    _mock, tmp = env
    rec = Recorder()
    mgr = RunManager(rec, logs_dir=tmp / "logs")
    slow = await mgr.submit("S", "Take your time [scenario:slow]", cwd=str(tmp / "ws"))
    async with asyncio.timeout(60):
        while slow.status != "running" or slow.sessionId is None:
            await asyncio.sleep(0.05)
    pid = slow.pid
    assert pid is not None
    await mgr.interrupt(thread_doc_id="S")
    await finished(mgr, slow.runId, 30)
    assert slow.status == "interrupted"
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    # Interrupting a finished run signals nothing and changes nothing.
    assert (await mgr.interrupt(run_id=slow.runId)) is slow and slow.status == "interrupted"


async def test_failed_run_and_bad_requests(env) -> None:
    _mock, tmp = env
    rec = Recorder()
    mgr = RunManager(rec, logs_dir=tmp / "logs")
    bad = await mgr.submit("F", "This will fail [scenario:fail]", cwd=str(tmp / "ws"))
    await finished(mgr, bad.runId)
    assert bad.status == "failed" and bad.exitCode == 1
    assert any(isinstance(line, dict) and line.get("type") == "turn.failed" for line in rec.lines(bad.runId))
    assert (tmp / "logs" / f"run-{bad.runId}.log").exists()
    for kwargs in ({"thread_doc_id": "", "text": "x"}, {"thread_doc_id": "t", "text": "  "}):
        with pytest.raises(RunError):
            await mgr.submit(kwargs["thread_doc_id"], kwargs["text"])
    with pytest.raises(RunError, match="provider"):
        await mgr.submit("t", "x", provider="nope")
    with pytest.raises(RunError, match="does not exist"):
        await mgr.submit("t", "x", cwd=str(tmp / "missing"))
    os.environ["CODEX_BIN"] = str(tmp / "no-such-codex")
    broken = await mgr.submit("G", "hello", cwd=str(tmp / "ws"))
    await finished(mgr, broken.runId)
    assert broken.status == "failed" and "FileNotFoundError" in (broken.error or "")


class EchoProvider:
    """A stand-in agent CLI (python -c): prints the session it was asked to resume, then its own."""

    def __init__(self, name: str) -> None:
        self.name = name

    def argv(self, session_id: str | None, cwd: str | None, config: Any = None) -> list[str]:
        import sys

        code = (
            "import json,sys,uuid; print(json.dumps({'resumed': sys.argv[1] or None, "
            "'session': sys.argv[1] or str(uuid.uuid4())}))"
        )
        return [sys.executable, "-c", code, session_id or ""]

    def stdin(self, text: str) -> bytes:
        return text.encode()

    def session_id(self, event: Any) -> str | None:
        return event.get("session") if isinstance(event, dict) else None

    def env(self, extra: dict[str, str] | None, config: Any = None) -> dict[str, str]:
        return dict(os.environ)


async def test_sessions_are_per_agent_and_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from oa_actors.runner import providers

    monkeypatch.setitem(providers.PROVIDERS, "one", EchoProvider("one"))
    monkeypatch.setitem(providers.PROVIDERS, "two", EchoProvider("two"))
    rec = Recorder()
    mgr = RunManager(rec, logs_dir=tmp_path / "logs")
    a1 = await mgr.submit("T", "first", cwd=str(tmp_path), provider="one")
    await finished(mgr, a1.runId)
    b1 = await mgr.submit("T", "switch agents", cwd=str(tmp_path), provider="two")
    await finished(mgr, b1.runId)
    a2 = await mgr.submit("T", "back to the first", cwd=str(tmp_path), provider="one")
    await finished(mgr, a2.runId)
    resumed = [rec.lines(r.runId)[0]["resumed"] for r in (a1, b1, a2)]
    # The second agent never gets the first one's session; the first resumes its own.
    assert resumed == [None, None, a1.sessionId]
    assert mgr.sessions == {"one:T": a1.sessionId, "two:T": b1.sessionId}


def test_agent_runs_with_the_users_umask_not_the_private_one(env) -> None:
    """The supervisor runs with umask 077 (OPENAGENTS_HOME stays private), but an agent writes in
    the user's own project: a file its shell command creates gets the user's usual mode. Run on
    uvloop, the actors' event loop (it refuses some subprocess options asyncio's loop takes)."""
    _mock, tmp = env
    rec = Recorder()

    async def body() -> Any:
        mgr = RunManager(rec, logs_dir=tmp / "logs", umask=0o022)
        run = await mgr.submit(
            "app-thread-umask", "cmd: touch made-by-agent.txt [scenario:shell]", cwd=str(tmp / "ws")
        )
        await finished(mgr, run.runId)
        return run

    old = os.umask(0o077)  # as inside the supervisor
    try:
        run = uvloop.run(body())
    finally:
        os.umask(old)
    assert run.status == "done", run.public()
    made = tmp / "ws" / "made-by-agent.txt"
    assert made.exists()
    assert made.stat().st_mode & 0o777 == 0o644
