"""Issue 6 end to end: a real WS client drives runs of the real Codex CLI through `oa-supervisor run`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import websockets
from websockets.asyncio.client import connect

from tests.support import codex
from tests.support.mock_openai import MockResponses
from tests.support.supervisor import Supervisor
from tests.support.ws_client import Client, final

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not codex.available(), reason="node_modules missing: run `make test` (npm ci)"),
]


@pytest.fixture
def bridge(tmp_path: Path):
    with MockResponses(slow_delay=0.3) as mock:
        sup = Supervisor(tmp_path, env={**codex.codex_env(mock, tmp_path / "codex-home")}).start()
        try:
            yield sup, mock, tmp_path
        finally:
            assert sup.stop() == 0


async def test_auth_is_required(bridge) -> None:
    sup, _, _ = bridge
    for url in (sup.bridge_url, sup.bridge_url + "?token=wrong"):
        with pytest.raises(websockets.InvalidStatus) as exc:
            async with connect(url):
                pass
        assert exc.value.response.status_code == 401


async def test_runs_resume_parallel_interrupt_fail_and_rows(bridge) -> None:
    sup, _mock, tmp = bridge
    ws_dir = tmp / "work"
    ws_dir.mkdir()
    async with connect(
        sup.bridge_url, additional_headers={"Authorization": f"Bearer {sup.token}"}, max_size=8 << 20
    ) as ws:
        c = Client(ws)
        saved = await c.call(
            "project.save", project={"id": "demo", "name": "Demo", "workingDir": str(ws_dir)}
        )
        assert saved["ok"], saved
        sub = await c.call("threads.list", subscribe=True)
        assert sub["ok"]
        # A new thread: the runner starts Codex in the project's working dir.
        r1 = await c.call("run.submit", threadDocId="app-1", text="First message", projectId="demo")
        assert r1["ok"], r1
        run1 = r1["result"]["runId"]
        done = await c.until(final(run1))
        assert done["data"]["status"] == "done" and done["data"]["exitCode"] == 0, str(done["data"])
        session = done["data"]["sessionId"]
        assert session
        stdout = [
            e["data"]["line"]
            for e in c.events
            if e.get("event") == "run.stdout" and e["data"]["runId"] == run1
        ]
        assert stdout[0] == {"type": "thread.started", "thread_id": session}
        # The rows come from the rollout via the tailer: the thread appears for subscribers.
        await c.until(
            lambda e: (
                e.get("event") == "rows.threads" and any(t["threadId"] == session for t in e["data"]["rows"])
            ),
            30,
        )
        assert (await c.call("messages.forThread", threadId=session, subscribe=True))["ok"]
        # Second turn resumes the same session (per-thread map, not a global "last").
        r2 = await c.call("run.submit", threadDocId="app-1", text="Second message")
        done2 = await c.until(final(r2["result"]["runId"]))
        assert done2["data"]["sessionId"] == session
        await c.until(
            lambda e: (
                e.get("event") == "rows.messages"
                and any(m.get("text") == "Second message" for m in e["data"]["rows"])
            ),
            30,
        )
        # Two threads in parallel never mix.
        a = await c.call("run.submit", threadDocId="app-A", text="alpha")
        b = await c.call("run.submit", threadDocId="app-B", text="beta")
        da = await c.until(final(a["result"]["runId"]))
        db = await c.until(final(b["result"]["runId"]))
        assert da["data"]["sessionId"] != db["data"]["sessionId"]
        assert session not in (da["data"]["sessionId"], db["data"]["sessionId"])
        # Interrupt a long run by its thread.
        slow = await c.call("run.submit", threadDocId="app-S", text="Take your time [scenario:slow]")
        await c.until(
            lambda e: e.get("event") == "run.stdout" and e["data"]["runId"] == slow["result"]["runId"]
        )
        intr = await c.call("interrupt", threadId="app-S")
        assert intr["ok"], intr
        ds = await c.until(final(slow["result"]["runId"]), 30)
        assert ds["data"]["status"] == "interrupted"
        # A run that fails.
        bad = await c.call("run.submit", threadDocId="app-F", text="This will fail [scenario:fail]")
        dfail = await c.until(final(bad["result"]["runId"]))
        assert dfail["data"]["status"] == "failed" and dfail["data"]["exitCode"] == 1
        # Malformed input gets an error reply and the connection stays up.
        await ws.send("{not json")
        await ws.send(json.dumps({"control": "no.such.verb", "id": "x"}))
        assert (await c.call("run.submit", threadDocId="app-1"))["type"] == "error"
        assert (await c.call("bridge.status"))["ok"]
        # Exactly once in the store, under the right thread, in order.
        await asyncio.sleep(1.0)
        with sup.store() as st:
            rows = st.messages_for_thread(session)
            users = [m["text"] for m in rows if m["role"] == "user"]
            assert users == ["First message", "Second message"]
            assert len({m["key"] for m in rows}) == len(rows)
            for d in (da, db):
                other = st.messages_for_thread(d["data"]["sessionId"])
                assert [m["text"] for m in other if m["role"] == "user"] == [("alpha" if d is da else "beta")]
            t = st.thread(session)
            assert t is not None and t["cwd"] == str(ws_dir)
        listed = await c.call("runs.list")  # declared once, so routed and callable by clients
        assert listed["ok"], listed
        statuses = {r["runId"]: r["status"] for r in listed["result"]["runs"]}
        assert statuses[run1] == "done" and statuses[slow["result"]["runId"]] == "interrupted"
        assert statuses[bad["result"]["runId"]] == "failed" and listed["result"]["active"] == 0
        status = await c.call("sessions.watch_status")
        assert status["ok"] and status["result"]["watching"]
        # declared in the registry's reply: counters a client can read (docs/protocol.md)
        assert status["result"]["folderScans"] >= 0 and status["result"]["urgentBatches"] >= 0
        conv = await c.call("convex.status")
        assert conv["ok"] and conv["result"]["configured"] is False


async def test_resuming_a_desktop_thread_runs_in_its_own_folder(bridge) -> None:
    """Issue 11 point 9: no project given, the run works where the desktop thread ran, not in $HOME."""
    import shlex
    import subprocess

    sup, _mock, tmp = bridge
    project = tmp / "desktop" / "project-x"
    project.mkdir(parents=True)
    # The user's own `codex exec` on the desktop, in their project (the supervisor mirrors it).
    argv = [str(codex.CODEX), "exec", "--json", "--skip-git-repo-check", "-C", str(project)]
    out = subprocess.run(
        [*argv, *shlex.split(sup.env["OPENAGENTS_CODEX_ARGS"]), "-"],
        input=b"Desktop work",
        cwd=project,
        env=sup.env,
        capture_output=True,
        timeout=120,
        check=True,
    )
    started = [json.loads(x) for x in out.stdout.decode().splitlines() if '"thread.started"' in x]
    session = started[0]["thread_id"]
    async with asyncio.timeout(30):
        while True:
            with sup.store() as st:
                thread = st.thread(session)
            if thread is not None:
                break
            await asyncio.sleep(0.2)
    assert thread["cwd"] == str(project)
    async with connect(
        sup.bridge_url, additional_headers={"Authorization": f"Bearer {sup.token}"}, max_size=8 << 20
    ) as ws:
        c = Client(ws)
        r = await c.call("run.submit", threadDocId="phone-view", resumeId=session, text="From the phone")
        assert r["ok"], r
        done = await c.until(final(r["result"]["runId"]))
        assert done["data"]["status"] == "done" and done["data"]["sessionId"] == session
        assert done["data"]["cwd"] == str(project) and done["data"]["warning"] is None
    (rollout,) = (tmp / "codex-home" / "sessions").rglob(f"*{session}.jsonl")
    contexts = [
        json.loads(x)["payload"]["cwd"] for x in rollout.read_text().splitlines() if '"turn_context"' in x
    ]
    assert contexts == [str(project), str(project)]  # Codex's own record of both turns


async def test_node_ws_client_runs_a_turn(bridge) -> None:
    """The phone's client library (`ws` on Node) against the whole supervisor."""
    import shutil

    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    sup, _, _ = bridge
    script = Path(__file__).with_name("node_phone.cjs")
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(script),
        sup.bridge_url,
        sup.token,
        "phone-thread",
        "Hello from the phone",
        cwd=Path(__file__).resolve().parents[2],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()[-2000:]
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert summary["status"] == "done" and summary["threadsOk"] and summary["threadSeen"]
    assert summary["stdoutLines"] >= 3
    convo = [m for m in summary["messages"] if m[1] not in ("context", "usage")]
    assert convo == [
        ["user", "message", "Hello from the phone"],
        ["assistant", "message", "Echo: Hello from the phone"],
    ]
