"""A bridge WebSocket client for tests: matches replies by id and keeps every event."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any


class Client:
    """Wraps a connected `websockets` client; `call` sends a verb and waits for its reply."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self.replies: dict[Any, dict[str, Any]] = {}
        self._n = 0
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(Exception):  # the connection closing ends the reader
            async for raw in self.ws:
                msg = json.loads(raw)
                if msg.get("type") in ("reply", "error") and "id" in msg:
                    self.replies[msg["id"]] = msg
                else:
                    self.events.append(msg)

    async def call(self, control: str, timeout: float = 30.0, **args: Any) -> dict[str, Any]:
        self._n += 1
        rid = self._n
        await self.ws.send(json.dumps({"control": control, "id": rid, **args}))
        async with asyncio.timeout(timeout):
            while rid not in self.replies:
                await asyncio.sleep(0.01)
        return self.replies.pop(rid)

    async def until(self, pred: Any, timeout: float = 90.0) -> dict[str, Any]:
        """The first event matching `pred` (waits for it)."""
        async with asyncio.timeout(timeout):
            while True:
                for e in self.events:
                    if pred(e):
                        return e
                await asyncio.sleep(0.02)

    def run_states(self, run_id: str) -> list[str]:
        return [
            e["data"]["status"]
            for e in self.events
            if e.get("event") == "run.state" and e["data"]["runId"] == run_id
        ]


def final(run_id: str) -> Any:
    """Matches the terminal `run.state` event of a run."""
    return lambda e: (
        e.get("event") == "run.state"
        and e["data"]["runId"] == run_id
        and e["data"]["status"] in ("done", "failed", "interrupted")
    )
