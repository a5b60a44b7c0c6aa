"""Runs that live in Convex `runs`: picked up from other devices, and their states mirrored.

An app enqueues a run with `runs:enqueue` (and may also send `run.submit` with that `runId` over
the WS: the same id makes it one run). This poller claims pending runs, starts them through the
RunManager, and reports `running` (with the agent session id, which links the app's thread to the
rollout's thread) and the final state.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from oa_actors.convex.client import ConvexError, ConvexHttpClient

log = logging.getLogger("oa.runner.convex")

POLL_SECONDS = 2.0


class ConvexRuns:
    """Claims pending Convex runs and mirrors the states of runs that have a Convex id."""

    def __init__(
        self,
        client: ConvexHttpClient,
        start: Callable[[dict[str, Any]], Awaitable[None]],
        machine_id: str | None = None,
    ) -> None:
        """`machine_id`: list and claim only the runs enqueued for this machine (or for none)."""
        self.client = client
        self.machine_id = machine_id
        self._start = start
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self.claimed = 0
        self.errors = 0
        self.last_error: str | None = None
        self.known: set[str] = set()  # Convex run ids this worker runs

    async def poll_forever(self) -> None:
        while True:
            try:
                await self.poll_once()
            except ConvexError as exc:
                self.errors += 1
                self.last_error = str(exc)
            await asyncio.sleep(POLL_SECONDS)

    async def poll_once(self) -> int:
        pending = (
            await self.client.query("runs:listPending", {"limit": 20, "machineId": self.machine_id}) or []
        )
        started = 0
        for run in pending:
            rid = run.get("_id")
            if not isinstance(rid, str) or rid in self.known:
                continue
            claimed = await self.client.mutation("runs:claim", self._claim_args(rid))
            if not claimed or claimed.get("workerId") != self.worker_id:
                continue  # another worker got it
            self.known.add(rid)
            self.claimed += 1
            started += 1
            await self._start(claimed)
        return started

    def _claim_args(self, run_id: str) -> dict[str, Any]:
        return {"workerId": self.worker_id, "runId": run_id, "machineId": self.machine_id}

    async def mirror(self, run: dict[str, Any]) -> None:
        """Report a state change of a run that has a Convex id (others are local only)."""
        rid = run["runId"]
        if rid not in self.known:
            return
        try:
            status = run["status"]
            if status == "running":
                await self.client.mutation(
                    "runs:update", {"runId": rid, "status": "running", "codexThreadId": run.get("sessionId")}
                )
            elif status in ("done", "failed", "interrupted"):
                if run.get("sessionId"):
                    await self.client.mutation(
                        "runs:update", {"runId": rid, "codexThreadId": run["sessionId"]}
                    )
                await self.client.mutation(
                    "runs:finish",
                    {
                        "runId": rid,
                        "status": status,
                        "exitCode": run.get("exitCode"),
                        "error": run.get("error"),
                    },
                )
        except ConvexError as exc:
            self.errors += 1
            self.last_error = str(exc)
            log.warning("could not mirror run %s to Convex: %s", rid, exc)

    async def adopt(self, run_id: str) -> bool:
        """A `run.submit` named a Convex run id: claim it so the poller does not start it twice."""
        if run_id in self.known:
            return True
        try:
            claimed = await self.client.mutation("runs:claim", self._claim_args(run_id))
        except ConvexError:
            return False
        if claimed and claimed.get("workerId") == self.worker_id:
            self.known.add(run_id)
            return True
        return False
