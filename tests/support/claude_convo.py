"""Synthetic Claude Code session files whose records are written out of conversation order.

`conversation` builds a session in chain order (the envelope the CLI writes: `uuid`,
`parentUuid`, ISO timestamps, prompts with attachments chained after them, parallel tool calls
whose results hang off each call). `shuffle_turn` then writes one turn the way an interactive
session can: the prompt (alone or with its attachments) after part of the reply it caused, tool
results before their tool_use, parallel results in reverse order. `chain_order` is the reference
conversation order (the parentUuid chain, timestamps breaking ties, as docs/rows.md defines it).
"""

from __future__ import annotations

import datetime
import heapq
import json
import random
from typing import Any

SID = "0a0b0c0d-1111-4222-8333-444455556666"
BASE_MS = 1_795_313_000_000


def iso(ms: int) -> str:
    """`2026-11-22T02:18:08.339Z`, as the CLI writes timestamps."""
    when = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def ms_of(ts: str) -> int:
    return round(datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)


class Builder:
    """Appends chained records with increasing timestamps."""

    def __init__(self, rng: random.Random, sid: str = SID) -> None:
        self.rng = rng
        self.sid = sid
        self.n = 0
        self.ms = BASE_MS
        self.leaf: str | None = None

    def tick(self) -> int:
        self.ms += self.rng.randint(1, 40)
        return self.ms

    def record(self, kind: str, parent: str | None, ms: int, **fields: Any) -> dict[str, Any]:
        self.n += 1
        return {
            "parentUuid": parent,
            "isSidechain": False,
            "type": kind,
            "uuid": f"{self.n:08x}-0000-4000-8000-{self.n:012x}",
            "timestamp": iso(ms),
            "userType": "external",
            "entrypoint": "cli",
            "cwd": "/w",
            "sessionId": self.sid,
            "version": "2.1.197",
            "gitBranch": "main",
            **fields,
        }

    def assistant(self, parent: str | None, block: dict[str, Any], mid: str) -> dict[str, Any]:
        message = {
            "id": mid,
            "type": "message",
            "role": "assistant",
            "model": "claude-opus-4-8",
            "content": [block],
            "usage": {"input_tokens": 10, "output_tokens": 3},
        }
        return self.record("assistant", parent, self.tick(), message=message, requestId="req_" + mid)


def conversation(rng: random.Random, turns: int, sid: str = SID) -> list[list[dict[str, Any]]]:
    """`turns` turns, each a list of lines in chain order (a queue-operation line first)."""
    b = Builder(rng, sid)
    out: list[list[dict[str, Any]]] = []
    for t in range(turns):
        lines: list[dict[str, Any]] = [
            {"type": "queue-operation", "operation": "enqueue", "timestamp": iso(b.tick()), "sessionId": sid}
        ]
        pid = f"prompt-{t}"
        prompt = b.record(
            "user", b.leaf, b.tick(), promptId=pid, message={"role": "user", "content": f"prompt {t}"}
        )
        lines.append(prompt)
        parent = prompt["uuid"]
        for a in range(rng.randint(0, 2)):
            # Attachments are stamped a millisecond before their prompt, as the CLI does.
            att = b.record("attachment", parent, b.ms - 1, attachment={"type": f"ctx{a}"})
            lines.append(att)
            parent = att["uuid"]
        for step in range(rng.randint(1, 3)):
            mid = f"msg_{t}_{step}"
            if rng.random() < 0.4:
                rec = b.assistant(parent, {"type": "thinking", "thinking": f"think {t}.{step}"}, mid)
                lines.append(rec)
                parent = rec["uuid"]
            if rng.random() < 0.7:
                rec = b.assistant(parent, {"type": "text", "text": f"text {t}.{step}"}, mid)
                lines.append(rec)
                parent = rec["uuid"]
            calls = []
            for c in range(rng.randint(0, 3)):
                tid = f"toolu_{t}_{step}_{c}"
                block = {"type": "tool_use", "id": tid, "name": "Bash", "input": {"command": f"echo {tid}"}}
                rec = b.assistant(parent, block, mid)
                lines.append(rec)
                calls.append((rec["uuid"], tid))
                parent = rec["uuid"]
            for call_uuid, tid in calls:
                content = [
                    {"tool_use_id": tid, "type": "tool_result", "content": f"out {tid}", "is_error": False}
                ]
                rec = b.record(
                    "user",
                    call_uuid,
                    b.tick(),
                    promptId=pid,
                    message={"role": "user", "content": content},
                    sourceToolAssistantUUID=call_uuid,
                )
                lines.append(rec)
                parent = rec["uuid"]
        rec = b.assistant(parent, {"type": "text", "text": f"done {t}"}, f"msg_{t}_end")
        lines.append(rec)
        parent = rec["uuid"]
        if rng.random() < 0.5:
            rec = b.record("system", parent, b.tick(), subtype="turn_duration", durationMs=5)
            lines.append(rec)
            parent = rec["uuid"]
        b.leaf = parent
        out.append(lines)
    return out


def shuffle_turn(rng: random.Random, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One turn written out of order (the queue-operation line stays first)."""
    head, recs = lines[:1], list(lines[1:])
    by_uuid = {r["uuid"]: r for r in recs}
    results = [r for r in recs if r.get("sourceToolAssistantUUID")]
    # Parallel results (one response's calls) in reverse order.
    if rng.random() < 0.5:
        groups: dict[str, list[int]] = {}
        for i, r in enumerate(recs):
            if r.get("sourceToolAssistantUUID"):
                mid = by_uuid[r["parentUuid"]]["message"]["id"]
                groups.setdefault(mid, []).append(i)
        for idx in groups.values():
            vals = [recs[i] for i in idx]
            for i, v in zip(idx, reversed(vals), strict=True):
                recs[i] = v
    # Some results before their tool_use.
    for r in results:
        if rng.random() < 0.3:
            recs.remove(r)
            recs.insert(recs.index(by_uuid[r["parentUuid"]]), r)
    # The prompt (with some of its attachments) after part of the reply.
    if rng.random() < 0.7:
        group = [next(r for r in recs if r["type"] == "user" and isinstance(r["message"]["content"], str))]
        for r in recs:
            if r["type"] == "attachment" and r["parentUuid"] == group[-1]["uuid"] and rng.random() < 0.6:
                group.append(r)
        rest = [r for r in recs if r not in group]
        cut = rng.randint(1, len(rest))
        recs = rest[:cut] + group + rest[cut:]
    return head + recs


def chain_order(lines: list[dict[str, Any]]) -> list[str]:
    """The uuids of the transcript records in conversation order: a record after its parent; of the
    records whose parent is placed, the earliest timestamp first (then file order)."""
    recs = [r for r in lines if isinstance(r.get("uuid"), str)]
    known = {r["uuid"] for r in recs}
    children: dict[str | None, list[tuple[int, int, dict[str, Any]]]] = {}
    for i, r in enumerate(recs):
        parent = r.get("parentUuid") if r.get("parentUuid") in known else None
        children.setdefault(parent, []).append((ms_of(r["timestamp"]), i, r))
    heap = list(children.get(None, []))
    heapq.heapify(heap)
    order: list[str] = []
    while heap:
        _, _, r = heapq.heappop(heap)
        order.append(r["uuid"])
        for c in children.get(r["uuid"], []):
            heapq.heappush(heap, c)
    return order


def encode(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(x, separators=(",", ":")).encode() + b"\n" for x in lines)


def session(seed: int, turns: int = 4, sid: str = SID) -> tuple[bytes, bytes]:
    """(the file in chain order, the same records written out of order) of session `sid`."""
    rng = random.Random(seed)
    convo = conversation(rng, turns, sid)
    ordered = [ln for turn in convo for ln in turn]
    shuffled = [ln for turn in convo for ln in shuffle_turn(rng, turn)]
    return encode(ordered), encode(shuffled)


def content(row: dict[str, Any]) -> tuple[Any, ...]:
    """What a row says, without what depends on file order (key, seq, turnId)."""
    return (row["role"], row["kind"], row["text"], json.dumps(row["data"], sort_keys=True), row["ts"])
