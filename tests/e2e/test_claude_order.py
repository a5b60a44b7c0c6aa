"""Issue 11 (8) end to end: Claude Code records written out of conversation order, appended live
while a real `oa-supervisor run` mirrors them and its tailer is killed -9 in the middle. The
bridge's events, its pages, the store, `export` and `parse` all follow the conversation."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from oa_actors.jsonl import _pytail
from tests.support import claude_convo
from tests.support.supervisor import ROOT, Supervisor
from tests.support.ws_client import Client

pytestmark = [pytest.mark.e2e]


def chain_rows(ordered: bytes) -> list[tuple[Any, ...]]:
    """The conversation in chain order (token usage rows sit where their record was read, not in
    the conversation's order: docs/rows.md)."""
    return [claude_convo.content(m) for m in convo(_pytail.JsonlTail("x").feed(ordered, final=True).messages)]


def convo(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in rows if m["kind"] != "usage"]


def cli(sup: Supervisor, *args: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, "-m", "oa_actors", *args],
        env=sup.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in out.stdout.splitlines() if line]


async def test_late_records_sort_in_chain_order_live_through_a_tailer_crash(tmp_path: Path) -> None:
    config = tmp_path / "claude"
    projects = config / "projects" / "-w"
    projects.mkdir(parents=True)
    sessions = []
    for i in range(4):
        sid = f"e2e0{i:04x}-0000-4000-8000-000000000000"
        ordered, shuffled = claude_convo.session(77 + i, 5, sid)
        sessions.append((sid, ordered, shuffled, projects / f"{sid}.jsonl"))
    sup = Supervisor(
        tmp_path,
        env={"CLAUDE_CONFIG_DIR": str(config)},
        args=["--actors", "convex_writer,sessions_tailer,ws_gateway"],
    ).start()
    try:
        async with connect(
            sup.bridge_url, additional_headers={"Authorization": f"Bearer {sup.token}"}, max_size=8 << 20
        ) as ws:
            c = Client(ws)
            for sid, *_ in sessions:
                r = await c.call("messages.forThread", threadId=sid, subscribe=True)
                assert r["ok"] and r["result"]["messages"] == []
            rng = random.Random(3)
            written = {sid: 0 for sid, *_ in sessions}

            async def write(upto: float) -> None:
                for sid, _, data, path in sessions:
                    end = int(len(data) * upto)
                    with open(path, "ab") as f:
                        while written[sid] < end:
                            n = min(rng.randint(1, 2000), end - written[sid])
                            f.write(data[written[sid] : written[sid] + n])
                            f.flush()
                            written[sid] += n
                            await asyncio.sleep(rng.random() * 0.01)

            await write(0.5)
            await asyncio.sleep(1.0)
            tailer = sup.actor("sessions_tailer")
            os.kill(tailer["pid"], signal.SIGKILL)  # it restarts from its committed snapshots
            sup.wait_actor_restarted("sessions_tailer", tailer["pid"])
            await write(1.0)
            want = {sid: chain_rows(ordered) for sid, ordered, _, _ in sessions}
            keys = {
                sid: {m["key"] for m in _pytail.JsonlTail("x").feed(data, final=True).messages}
                for sid, _, data, _ in sessions
            }

            def events(sid: str) -> list[dict[str, Any]]:
                return [
                    row
                    for e in c.events
                    if e.get("event") == "rows.messages" and e["data"]["threadId"] == sid
                    for row in e["data"]["rows"]
                ]

            async with asyncio.timeout(90):
                while any({m["key"] for m in events(sid)} < keys[sid] for sid in keys):
                    await asyncio.sleep(0.05)
            late = 0
            for sid, *_ in sessions:
                got = {m["key"]: m for m in events(sid)}  # merged by key, as docs/protocol.md says
                assert set(got) == keys[sid]
                rows = sorted(got.values(), key=lambda m: m["seq"])
                assert [claude_convo.content(m) for m in convo(rows)] == want[sid], sid
                seqs = [m["seq"] for m in events(sid)]
                late += sum(1 for a, b in itertools.pairwise(seqs) if b < a)
                # Paging the thread (with fractional nextAfterSeq cursors) reads the same order.
                paged: list[dict[str, Any]] = []
                after: float = -1
                while True:
                    page = (await c.call("messages.forThread", threadId=sid, afterSeq=after, limit=7))[
                        "result"
                    ]
                    paged += page["messages"]
                    if not page["hasMore"]:
                        break
                    after = page["nextAfterSeq"]
                assert [claude_convo.content(m) for m in convo(paged)] == want[sid], sid
            assert late > 0, "rows written late arrive after rows they sort before"
        for sid, _, _, path in sessions:
            exported = [r for r in cli(sup, "export", "--thread", sid) if r["table"] == "messages"]
            assert [claude_convo.content(m) for m in convo(exported)] == want[sid]
            parsed = [r for r in cli(sup, "parse", str(path)) if r["table"] == "messages"]
            assert [(m["key"], m["seq"]) for m in parsed] == [(m["key"], m["seq"]) for m in exported]
    finally:
        assert sup.stop() == 0
