"""Issue 11 point 9: a run that continues a desktop thread runs in that thread's folder.

The desktop thread is a real Codex session (the real CLI against the mock Responses API on
127.0.0.1) started in its own project folder and mirrored into a store; a later run that resumes it
without a project must run there, not in $HOME.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from oa_actors.jsonl._pytail import JsonlTail
from oa_actors.jsonl.files import parse_file
from oa_actors.runner import workdir
from oa_actors.runner.manager import RunManager
from oa_actors.runner.providers import CodexProvider
from oa_actors.store import Store
from tests.runner.test_manager import Recorder, finished
from tests.support import codex
from tests.support.mock_openai import MockResponses

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not codex.available(), reason="node_modules missing: run `make test` (npm ci)"),
]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with MockResponses() as mock:
        for k, v in codex.codex_env(mock, tmp_path / "codex").items():
            monkeypatch.setenv(k, v)
        home = tmp_path / "home"
        home.mkdir()
        monkeypatch.setenv("HOME", str(home))  # the fallback folder, told apart from the project
        yield tmp_path


def desktop_session(tmp: Path, folder: Path, prompt: str) -> tuple[str, Path]:
    """What the user did on the desktop: `codex exec` in their project folder. Returns the session
    id and its rollout file."""
    folder.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(
        CodexProvider().argv(session_id=None, cwd=str(folder)),
        input=prompt.encode(),
        cwd=folder,
        env=os.environ.copy(),
        capture_output=True,
        timeout=120,
        check=True,
    )
    events = [json.loads(line) for line in out.stdout.decode().splitlines() if line.startswith("{")]
    session = next(e["thread_id"] for e in events if e.get("type") == "thread.started")
    (rollout,) = (tmp / "codex" / "sessions").rglob(f"*{session}.jsonl")
    return session, rollout


def mirror(store: Store, rollout: Path) -> None:
    """What the tailer does for that rollout: its rows in the local store."""
    _, batches = parse_file(rollout, JsonlTail(str(rollout)))
    for b in batches:
        store.apply_batch(b.threads, b.messages)


def turn_cwds(rollout: Path) -> list[str]:
    """The working dir Codex recorded for each turn of a session (its `turn_context` records)."""
    recs: list[dict[str, Any]] = [json.loads(line) for line in rollout.read_text().splitlines() if line]
    return [r["payload"]["cwd"] for r in recs if r.get("type") == "turn_context"]


async def test_resuming_a_desktop_thread_runs_in_its_folder(env: Path) -> None:
    tmp = env
    project = tmp / "desktop" / "my-project"
    session, rollout = desktop_session(tmp, project, "Desktop work")
    store = Store.open(tmp / "store.sqlite3")
    try:
        mirror(store, rollout)
        assert (store.thread(session) or {}).get("cwd") == str(project)
    finally:
        store.close()
    rec = Recorder()
    mgr = RunManager(
        rec, logs_dir=tmp / "logs", thread_folder=workdir.store_thread_folder(tmp / "store.sqlite3")
    )
    run = await mgr.submit("phone-view-1", "Continue from the phone", resume_id=session)
    await finished(mgr, run.runId)
    assert run.status == "done" and run.sessionId == session
    assert run.cwd == str(project) and run.warning is None
    # Codex itself worked there: the resumed turn's context names the thread's folder, not $HOME.
    assert turn_cwds(rollout)[-1] == str(project)
    assert len(turn_cwds(rollout)) == 2
    states = [e["data"] for e in rec.events if e["event"] == "run.state"]
    assert all(s["cwd"] == str(project) for s in states)
    # A project's folder still wins over the thread's own.
    other = tmp / "elsewhere"
    other.mkdir()
    run2 = await mgr.submit("phone-view-2", "In the project folder", cwd=str(other), resume_id=session)
    await finished(mgr, run2.runId)
    assert run2.status == "done" and run2.cwd == str(other)
    assert turn_cwds(rollout)[-1] == str(other)


async def test_a_thread_whose_folder_is_gone_runs_in_home_with_a_warning(env: Path) -> None:
    tmp = env
    project = tmp / "desktop" / "deleted-project"
    session, rollout = desktop_session(tmp, project, "Work that will move")
    store = Store.open(tmp / "store.sqlite3")
    try:
        mirror(store, rollout)
    finally:
        store.close()
    shutil.rmtree(project)
    rec = Recorder()
    mgr = RunManager(
        rec, logs_dir=tmp / "logs", thread_folder=workdir.store_thread_folder(tmp / "store.sqlite3")
    )
    run = await mgr.submit("phone-view", "Continue anyway", resume_id=session)
    await finished(mgr, run.runId)
    home = str(tmp / "home")
    assert run.cwd == home and run.status == "done"
    assert run.warning and str(project) in run.warning and "does not exist" in run.warning
    first_state = next(e["data"] for e in rec.events if e["event"] == "run.state")
    assert first_state["warning"] == run.warning  # the client sees why, with the first state
    # A session the store does not know: $HOME too, and it says so.
    unknown = await mgr.submit("t2", "hello", resume_id="019aaaaa-0000-7000-8000-000000000000")
    assert unknown.cwd == home and "not known" in (unknown.warning or "")
    await finished(mgr, unknown.runId)
    # A brand new thread (nothing to resume) runs in $HOME without a warning, as before.
    fresh = await mgr.submit("t3", "new thread")
    await finished(mgr, fresh.runId)
    assert fresh.cwd == home and fresh.warning is None and fresh.status == "done"
