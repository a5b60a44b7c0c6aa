"""Issue 18: two supervisors (two machines) mirroring into one Convex deployment (the emulator).

Runs enqueued for each machine are executed exactly once, by the real Codex CLI, on the right
machine only; threads in Convex carry the machine they live on.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

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


def _user_texts(requests: list[dict[str, Any]]) -> list[str]:
    out = []
    for body in requests:
        for item in body.get("input", []):
            if item.get("role") == "user":
                for part in item.get("content", []):
                    text = part.get("text", "")
                    if text.startswith("job-"):
                        out.append(text)
    return out


async def _wait_done(client: ConvexHttpClient, run_ids: list[str]) -> list[dict[str, Any]]:
    async with asyncio.timeout(240):
        while True:
            runs = [await client.query("runs:byId", {"id": rid}) for rid in run_ids]
            if all(r["status"] in ("done", "failed", "interrupted") for r in runs):
                return runs
            await asyncio.sleep(0.3)


async def test_each_run_executes_once_on_its_machine(tmp_path: Path) -> None:
    with MockResponses() as mock_a, MockResponses() as mock_b, ConvexEmulator() as emu:
        sups: dict[str, Supervisor] = {}
        try:
            for name, mock in (("alpha", mock_a), ("beta", mock_b)):
                env = {
                    **codex.codex_env(mock, tmp_path / name / "codex-home"),
                    "OPENAGENTS_CONVEX_URL": emu.url,
                    "OPENAGENTS_CONVEX_ADMIN_KEY": emu.admin_key,
                    "OPENAGENTS_CONVEX_DEPLOY": "0",
                    "OPENAGENTS_MACHINE_NAME": name,
                }
                sups[name] = Supervisor(tmp_path / name, env=env).start()
            ids = {n: json.loads((s.home / "machine.json").read_text())["id"] for n, s in sups.items()}
            assert ids["alpha"] != ids["beta"]
            async with ConvexHttpClient(emu.url, emu.admin_key) as client:
                wanted: dict[str, str] = {}  # run id -> machine name
                docs: dict[str, str] = {}  # thread doc id -> machine name
                for n in (1, 2):
                    for name in ("alpha", "beta"):
                        doc = await client.mutation("threads:create", {"title": f"{name} {n}"})
                        queued = await client.mutation(
                            "runs:enqueue",
                            {"threadDocId": doc, "text": f"job-{name}-{n}", "machineId": ids[name]},
                        )
                        assert queued["machineId"] == ids[name]
                        wanted[queued["runId"]] = name
                        docs[doc] = name
                runs = await _wait_done(client, list(wanted))
                assert [r["status"] for r in runs] == ["done"] * 4
                for r in runs:
                    assert r["machineId"] == ids[wanted[r["_id"]]]
                # Each machine's model saw exactly its own jobs, once each.
                assert sorted(_user_texts(mock_a.requests)) == ["job-alpha-1", "job-alpha-2"]
                assert sorted(_user_texts(mock_b.requests)) == ["job-beta-1", "job-beta-2"]
                # The threads in Convex carry their machine once the rollouts are mirrored.
                async with asyncio.timeout(120):
                    while True:
                        threads = [await client.query("threads:byId", {"id": d}) for d in docs]
                        if all(t.get("machineId") for t in threads):
                            break
                        await asyncio.sleep(0.3)
                for doc, t in zip(docs, threads, strict=True):
                    assert (t["machineId"], t["machineName"]) == (ids[docs[doc]], docs[doc])
            for name, sup in sups.items():
                with sup.store() as st:
                    texts = [
                        m["text"] or ""
                        for t in st.all_threads()
                        for m in st.messages_for_thread(t["threadId"])
                    ]
                other = "beta" if name == "alpha" else "alpha"
                assert sorted(x for x in texts if x.startswith("job-")) == [f"job-{name}-1", f"job-{name}-2"]
                assert not any(x.startswith(f"job-{other}") for x in texts)
        finally:
            for sup in sups.values():
                assert sup.stop() == 0
