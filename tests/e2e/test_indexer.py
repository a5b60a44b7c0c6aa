"""The `indexer` actor in a real `oa-supervisor run`: kill -9 mid-batch, live appends, and semantic
search through the CLI (`search --mode`, `similar`) and the bridge (`search` with a mode, `similar`).

After every kill the supervisor restarts it; once its backlog is empty, every embeddable chunk of
the store has exactly one vector and every thread sum matches its vectors (no missing, no
duplicate), and the checkpoint is the newest message.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer
from websockets.asyncio.client import connect

from oa_actors.semantic.availability import TOKENIZER_FILE
from tests.semantic.test_indexing import assert_complete
from tests.support.semantic_sessions import load_sessions, write_rollouts
from tests.support.supervisor import ROOT, Supervisor
from tests.support.ws_client import Client

ACTORS = "convex_writer,sessions_tailer,indexer,ws_gateway"


def cli(sup: Supervisor, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oa_actors", *args], env=sup.env, cwd=ROOT, capture_output=True, text=True,
        timeout=180,
    )  # fmt: skip


def lines(out: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.stdout.splitlines()]


def store_value(sup: Supervisor, sql: str) -> int:
    path = sup.home / "store.sqlite3"
    if not path.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        try:
            row = conn.execute(sql).fetchone()
        except sqlite3.OperationalError:  # not migrated yet
            return 0
        return int(row[0] or 0) if row else 0


def checkpoint(sup: Supervisor) -> int:
    return store_value(sup, "SELECT last_rowid FROM embed_checkpoint WHERE name = 'messages'")


def wait_for(pred: Any, what: str, sup: Supervisor, timeout: float = 240.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{sup.log.read_text()[-3000:]}")
        time.sleep(0.2)


def indexer_health(sup: Supervisor) -> dict[str, Any]:
    return dict(sup.actor("indexer").get("health") or {})


def test_indexer_kill_9_mid_batch_then_cli_and_ws_search(tmp_path: Path) -> None:
    sessions = load_sessions()
    sup = Supervisor(tmp_path, env={"CLAUDE_CONFIG_DIR": str(tmp_path / "claude")}, args=["--actors", ACTORS])
    paths = write_rollouts(sup.codex_home / "sessions", sessions)
    sup.start()
    try:
        # Kill -9 the indexer at a random moment after it committed a batch (so inside the next one),
        # three times; the supervisor restarts it each time and it resumes from its checkpoint.
        rng = random.Random()
        kills = 0
        while kills < 3:
            before = checkpoint(sup)
            top = store_value(sup, "SELECT max(rowid) FROM messages")
            wait_for(
                lambda b=before, t=top: checkpoint(sup) > b or (t and checkpoint(sup) >= t), "a commit", sup
            )
            if checkpoint(sup) >= store_value(sup, "SELECT max(rowid) FROM messages"):
                break  # the backlog is done: nothing left to interrupt
            time.sleep(rng.uniform(0.0, 1.0))
            pid = sup.actor("indexer")["pid"]
            os.kill(pid, signal.SIGKILL)
            kills += 1
            sup.wait_actor_restarted("indexer", pid, timeout=60)
        assert kills >= 1, "the backlog was gone before a kill: use more sessions"
        top = store_value(sup, "SELECT max(rowid) FROM messages")
        wait_for(
            lambda: checkpoint(sup) == top and indexer_health(sup).get("backlog") == 0, "the backlog", sup
        )
        assert sup.actor("indexer")["restarts"] >= kills
        tokenizer = Tokenizer.from_str(gzip.decompress(TOKENIZER_FILE.read_bytes()).decode())
        with sup.store() as store:
            assert_complete(store, tokenizer)

        # A live append is embedded too.
        with paths[0].open("a") as f:  # a user turn as Codex writes it (the event is the stored row)
            prompt = "Please write the release notes for the harbour ferry timetable app."
            item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]}
            for kind, payload in (
                ("response_item", item),
                ("event_msg", {"type": "user_message", "message": prompt, "images": []}),
            ):
                f.write(json.dumps({"timestamp": "2026-10-01T10:00:00.000Z", "type": kind,
                                    "payload": payload}) + "\n")  # fmt: skip
        live = (
            "SELECT count(*) FROM message_vectors v JOIN messages m ON m.key = v.key "
            "WHERE m.text LIKE '%harbour ferry%'"
        )
        wait_for(lambda: store_value(sup, live) == 1, "the live message's vector", sup)
        health = indexer_health(sup)
        assert "backlog" in health and "messagesPerSecond" in health
        status = cli(sup, "status")
        assert "indexer" in status.stdout and "backlog" in status.stdout

        # CLI: semantic, hybrid (the default now that embeddings exist), similar.
        target = sessions[3]
        sem = cli(sup, "search", "--json", "--mode", "semantic", target.query)
        assert sem.returncode == 0, sem.stderr
        threads = list(dict.fromkeys(h["threadId"] for h in lines(sem)))
        assert target.thread_id in threads[:3]
        default = cli(sup, "search", "--json", target.query)
        hybrid = cli(sup, "search", "--json", "--mode", "hybrid", target.query)
        assert default.returncode == 0 and lines(default) == lines(hybrid)
        similar = cli(sup, "similar", "--json", target.thread_id[:13])
        assert similar.returncode == 0, similar.stderr
        assert len(lines(similar)) == 10 and target.thread_id not in {t["threadId"] for t in lines(similar)}
        bad = cli(sup, "similar", "no-such-thread")
        assert bad.returncode == 2 and "no-such-thread" in bad.stderr

        # The bridge: `search` with a mode (answered by the indexer), `similar`.
        async def ws() -> None:
            async with connect(
                sup.bridge_url, additional_headers={"Authorization": f"Bearer {sup.token}"}
            ) as w:
                c = Client(w)
                res = await c.call("search", query=target.query, mode="semantic", limit=5)
                assert res["type"] == "reply", res
                assert target.thread_id in [h["threadId"] for h in res["result"]["hits"]][:3]
                res = await c.call("search", query=target.query, mode="hybrid")
                assert res["type"] == "reply" and res["result"]["hits"], res
                res = await c.call("similar", threadId=target.thread_id, limit=3)
                assert res["type"] == "reply" and len(res["result"]["threads"]) == 3, res
                res = await c.call("similar", threadId="zz-unknown")
                assert res["type"] == "error", res

        asyncio.run(ws())
    finally:
        assert sup.stop() == 0
