"""Issue 6: a run enqueued in Convex by another device is picked up, run with the real Codex CLI,
mirrored back to Convex `runs`, and its user message shows once (the app's copy is reconciled)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from oa_actors.convex.client import ConvexHttpClient
from tests.support import codex, convex_emulator
from tests.support.convex_emulator import ConvexEmulator
from tests.support.mock_openai import MockResponses
from tests.support.supervisor import Supervisor

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (codex.available() and convex_emulator.available()),
        reason="node_modules missing: run `make test`",
    ),
]


async def test_run_enqueued_in_convex_is_claimed_run_and_mirrored(tmp_path: Path) -> None:
    with MockResponses() as mock, ConvexEmulator() as emu:
        env = {
            **codex.codex_env(mock, tmp_path / "codex-home"),
            "OPENAGENTS_CONVEX_URL": emu.url,
            "OPENAGENTS_CONVEX_ADMIN_KEY": emu.admin_key,
            "OPENAGENTS_CONVEX_DEPLOY": "0",
        }
        sup = Supervisor(tmp_path, env=env).start()
        try:
            async with ConvexHttpClient(emu.url, emu.admin_key) as client:
                # The phone: a new app thread, then runs:enqueue (writes the user message at once).
                thread_doc = await client.mutation("threads:create", {"title": "From the phone"})
                queued = await client.mutation(
                    "runs:enqueue", {"threadDocId": thread_doc, "text": "Hello from another device"}
                )
                run_id = queued["runId"]
                async with asyncio.timeout(90):
                    while True:
                        run = await client.query("runs:byId", {"id": run_id})
                        if run["status"] in ("done", "failed", "interrupted"):
                            break
                        await asyncio.sleep(0.2)
                assert run["status"] == "done" and run.get("exitCode") == 0
                session = run["codexThreadId"]
                assert session
                # The app's thread now carries the Codex session id; the rollout's rows arrive
                # through tailer -> writer -> outbox, and the user message is not doubled.
                async with asyncio.timeout(60):
                    while True:
                        page = await client.query("messages:forThread", {"threadId": session, "limit": 100})
                        if any(m["role"] == "assistant" for m in page):
                            break
                        await asyncio.sleep(0.2)
                users = [m["text"] for m in page if m["role"] == "user"]
                assert users == ["Hello from another device"]
                assert [m["text"] for m in page if m["role"] == "assistant"] == [
                    "Echo: Hello from another device"
                ]
                linked = await client.query("threads:byId", {"id": thread_doc})
                assert linked["threadId"] == session
            with sup.store() as st:
                assert [m["text"] for m in st.messages_for_thread(session) if m["role"] == "user"] == [
                    "Hello from another device"
                ]
        finally:
            assert sup.stop() == 0
