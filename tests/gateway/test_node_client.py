"""The bridge seen by a Node client with the `ws` package, as the phone uses it."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from oa_actors.verbs.events import RUN_STDOUT, RunStdout
from tests.gateway.conftest import TOKEN, FakeHandler, message_row, thread_row

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("node_client.cjs")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
    pytest.mark.skipif(not (ROOT / "node_modules" / "ws").is_dir(), reason="npm package ws is not installed"),
]


async def test_node_ws_client_every_verb_and_events(make_server):
    handler = FakeHandler()
    handler.release.set()
    server = await make_server(handler)
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(SCRIPT),
        str(server.port),
        TOKEN,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    steps: dict[str, dict] = {}
    try:
        while True:
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert line, (await proc.stderr.read()).decode() if proc.stderr else "node exited"
            msg = json.loads(line)
            assert "error" not in msg, msg["error"]
            if msg.get("ready"):
                server.publish_rows("threads", [thread_row("t7", 700)])
                server.publish_rows("messages", [message_row("t1", 30), message_row("t2", 1)])
                server.broadcast(
                    RUN_STDOUT, RunStdout(runId="r1", threadDocId="doc", provider="codex", line="x")
                )
            elif msg.get("done"):
                break
            else:
                steps[msg["step"]] = msg
    finally:
        if proc.returncode is None:
            await asyncio.wait_for(proc.wait(), 30)

    assert steps["auth.missing"]["status"] == 401
    assert steps["auth.wrong"]["status"] == 401
    assert steps["auth.wrongQuery"]["status"] == 401
    assert steps["ping.header"]["frame"]["result"]["pong"] is True
    assert steps["hello"]["frame"]["data"]["protocol"] == 1
    f = {k: v["frame"] for k, v in steps.items() if "frame" in v}
    assert [t["threadId"] for t in f["threads.list"]["result"]["threads"]] == ["t5", "t4"]
    assert [m["seq"] for m in f["messages.forThread"]["result"]["messages"]] == [0, 1, 2, 3, 4]
    for verb in (
        "run.submit",
        "interrupt",
        "convex.status",
        "convex.backfill",
        "projects",
        "project.save",
        "project.delete",
        "skills",
    ):
        assert f[verb]["ok"] is True and f[verb]["control"] == verb and f[verb]["result"]["verb"] == verb
    assert f["sessions.watch_status"]["result"] == {}
    assert f["bridge.status"]["result"]["clients"] == 2
    assert f["unknown"]["error"]["code"] == "unknown_verb"
    assert f["wrongType"]["error"]["code"] == "bad_request"
    assert f["badJson"]["error"]["code"] == "bad_json"
    assert f["event.threads"]["data"]["rows"][0]["threadId"] == "t7"
    assert f["event.messages"]["data"] == {"threadId": "t1", "rows": [message_row("t1", 30)]}
    assert f["event.run"]["data"] == {"runId": "r1", "threadDocId": "doc", "provider": "codex", "line": "x"}
    assert f["unsubscribe"]["result"]["removed"] == 1
    assert [c[1] for c in handler.calls if c[0] == "run.submit"] == [{"threadDocId": "doc", "text": "hello"}]
    assert proc.returncode == 0
