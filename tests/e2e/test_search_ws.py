"""The `search` verb through `oa-supervisor run`, with a real WebSocket client (issue 13).

Sessions generated per seed (tests/support/search_corpus.py) are written into the sessions folder
of a running supervisor; the bridge's `search` must rank each topic's thread in the top 3, page
with `nextCursor` without repeats, see rows appended live, and answer hostile input with errors.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from tests.support.search_corpus import topic_sessions
from tests.support.supervisor import Supervisor
from tests.support.ws_client import Client


def _count_messages(sup: Supervisor) -> int:
    import sqlite3

    store = sup.home / "store.sqlite3"
    if not store.exists():
        return 0
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM messages").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


@pytest.fixture
def mirrored(tmp_path: Path):
    # Embeddings off: keyword search only, and semantic mode is deterministically `unavailable`
    # (tests/e2e/test_indexer.py covers search by meaning through the bridge).
    sup = Supervisor(
        tmp_path, env={"CLAUDE_CONFIG_DIR": str(tmp_path / "claude"), "OPENAGENTS_EMBEDDINGS": "0"}
    )
    threads = topic_sessions(sup.codex_home / "sessions", seed=int(time.time()) % 10_000, threads=12)
    sup.start()
    try:
        deadline = time.monotonic() + 60
        before = -1
        while True:  # settled: the message count stopped growing and every thread is in
            n = _count_messages(sup)
            if n == before and n > 0:
                break
            assert time.monotonic() < deadline, "the sessions were not mirrored"
            before = n
            time.sleep(1.0)
        yield sup, threads
    finally:
        assert sup.stop() == 0


async def _search(c: Client, **args: Any) -> dict[str, Any]:
    return await c.call("search", **args)


async def test_search_verb_ranks_pages_and_refuses_bad_input(mirrored) -> None:
    sup, threads = mirrored
    async with connect(sup.bridge_url, additional_headers={"Authorization": f"Bearer {sup.token}"}) as ws:
        c = Client(ws)
        for t in threads:
            sep = " " if t.language == "en" else ""
            reply = await _search(c, query=sep.join(t.words[:2]), limit=3)
            assert reply["ok"], reply
            top = [h["threadId"] for h in reply["result"]["hits"]]
            assert t.thread_id in top, (t.words, top)
            for hit in reply["result"]["hits"]:
                assert {"threadId", "key", "role", "kind", "ts", "snippet", "score"} <= set(hit)
        # Paging: every hit once, pages in score order, the last page has no cursor.
        word = threads[0].words[0]
        seen: list[str] = []
        cursor = None
        for _ in range(50):
            reply = await _search(c, query=word, limit=2, **({"cursor": cursor} if cursor else {}))
            assert reply["ok"], reply
            seen += [h["key"] for h in reply["result"]["hits"]]
            cursor = reply["result"]["nextCursor"]
            if cursor is None:
                break
        assert cursor is None and seen and len(seen) == len(set(seen))
        # Filters: a thread (by prefix) restricts the hits to it.
        tid = threads[1].thread_id
        reply = await _search(c, query=threads[1].words[0], threadId=tid[:8])
        assert reply["ok"] and {h["threadId"] for h in reply["result"]["hits"]} == {tid}
        # Hostile input: FTS syntax is plain text; bad values are errors, never a crash.
        for q in ('"unbalanced', "NEAR(a b)", "*", "-", "a AND OR NOT", "(((", "x" * 10_000):
            reply = await _search(c, query=q)
            assert reply["ok"] or reply["error"]["code"] == "bad_request", (q, reply)
        assert (await _search(c, query="   "))["error"]["code"] == "bad_request"
        assert (await _search(c, query="x" * 10_001))["error"]["code"] == "bad_request"
        assert (await _search(c, query="zzz", threadId="ffffffffffff"))["error"]["code"] == "not_found"
        assert (await _search(c, query="zzz", limit=0))["error"]["code"] == "bad_request"
        assert (await _search(c, query="zzz", cursor="!!"))["error"]["code"] == "bad_request"
        assert (await _search(c, query="zzz", mode="semantic"))["error"]["code"] == "unavailable"
        # A row appended live is searchable as soon as it is stored.
        path = threads[2].path
        marker = f"quokkaglyph{int(time.time())}"
        line = {
            "timestamp": "2026-10-30T00:00:00.000Z",
            "type": "event_msg",
            "payload": {"type": "user_message", "message": f"please look at {marker}"},
        }
        with open(path, "a") as f:
            f.write(json.dumps(line) + "\n")
        deadline = time.monotonic() + 20
        while True:
            reply = await _search(c, query=marker)
            if reply["ok"] and reply["result"]["hits"]:
                break
            assert time.monotonic() < deadline, reply
            await asyncio.sleep(0.2)
        assert reply["result"]["hits"][0]["threadId"] == threads[2].thread_id
