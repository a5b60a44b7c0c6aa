"""`status.watch`: the system's state sampled every `interval` seconds while a client watches.

One sampler serves every watching client (each gets `status.sample` events), and the last `keep`
samples are kept, so a status page that opens shows the last minutes at once (its charts). A
sample asks `supervisor.status`, `sessions.watch_status` and `convex.status` through the server's
verb handler at the same time; a part that cannot answer is null with its reason in `errors`. The
sampler runs only while someone watches: the last watcher leaving (or disconnecting) stops it.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import msgspec

from oa_actors.gateway.handler import ClientInfo
from oa_actors.verbs import events as ev

if TYPE_CHECKING:
    from oa_actors.gateway.clients import Client
    from oa_actors.gateway.server import BridgeServer

Spawn = Callable[[Coroutine[Any, Any, Any], str], "asyncio.Task[Any]"]

PARTS = (
    ("supervisor", "supervisor.status"),
    ("tailer", "sessions.watch_status"),
    ("convex", "convex.status"),
)
SAMPLER = ClientInfo(id="status-sampler", remote="local", connected_at=0.0)


class StatusFeed:
    """The sampler and its watchers (see the module docstring)."""

    def __init__(self, server: BridgeServer, spawn: Spawn, interval: float = 2.0, keep: int = 60) -> None:
        self.server = server
        self.spawn = spawn
        self.interval = interval
        self.samples: collections.deque[ev.StatusSample] = collections.deque(maxlen=keep)
        self.watchers: set[Client] = set()
        self._task: asyncio.Task[Any] | None = None

    def watch(self, client: Client, on: bool) -> None:
        """Start (`on`) or stop sending samples to a client."""
        if on:
            self.watchers.add(client)
            if self._task is None:
                self._task = self.spawn(self._run(), "status sampler")
        else:
            self.forget(client)

    def forget(self, client: Client) -> None:
        self.watchers.discard(client)
        if not self.watchers and self._task is not None:
            self._task.cancel()
            self._task = None

    async def stop(self) -> None:
        """Stop sampling (the server stops)."""
        self.watchers.clear()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            sample = await self.sample()
            self.samples.append(sample)
            self.server.fan_out_event(self.watchers, ev.STATUS_SAMPLE, sample)
            await asyncio.sleep(max(0.1, self.interval - (time.monotonic() - started)))

    async def _part(self, verb: str) -> tuple[dict[str, Any] | None, str | None]:
        try:
            async with asyncio.timeout(self.interval * 2):
                result = await self.server.handler.handle(verb, {}, SAMPLER)
        except TimeoutError:
            return None, f"{verb} was not answered within {self.interval * 2:g} s"
        except Exception as exc:  # every failure is shown on the page, the sampler goes on
            return None, f"{type(exc).__name__}: {exc}"
        return (result if isinstance(result, dict) else msgspec.to_builtins(result)), None

    async def sample(self) -> ev.StatusSample:
        """Ask every part now."""
        answers = await asyncio.gather(*(self._part(verb) for _, verb in PARTS))
        parts = {name: result for (name, _), (result, _) in zip(PARTS, answers, strict=True)}
        errors = {name: err for (name, _), (_, err) in zip(PARTS, answers, strict=True) if err}
        return ev.StatusSample(
            t=int(time.time() * 1000),
            supervisor=parts["supervisor"],
            tailer=parts["tailer"],
            convex=parts["convex"],
            bridge=self.server.status(),
            errors=errors,
        )
