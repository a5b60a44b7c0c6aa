"""The bus benchmark's two actors (`bench_src`, `bench_sink`), outside the shipped package.

The supervisor of `benches/test_bench_bus.py` runs them with `OA_ACTOR_SPECS=bus_actors:SPECS`
and the benches folder on the actor processes' import path.
"""

from __future__ import annotations

import os
import time

from oa_actors.runtime.actor import Actor
from oa_actors.runtime.codec import Echo, Message
from oa_actors.runtime.registry import ActorSpec

BATCH = 64 * 1024


class Blob(Message, tag="bench.blob"):
    """A 64 KB batch (opaque bytes: this measures the bus, not row encoding)."""

    data: bytes


class BenchRun(Message, tag="bench.run"):
    """Run one workload against `peer` (`mode`: tell, batch, ask, direct, direct_batch)."""

    mode: str
    n: int
    peer: str = "bench_sink"


class BenchResult(Message, tag="bench.result"):
    """Seconds taken, plus per-ask latencies in microseconds for mode `ask`."""

    seconds: float
    latencies_us: list[float] = []


class BenchSink(Actor):
    """Counts what it receives; answers `Echo` (the runtime itself answers `Sync`)."""

    def __init__(self) -> None:
        self.count = 0
        self.bytes = 0

    async def on_message(self, msg: Message, sender: str) -> Message | None:
        self.count += 1
        if isinstance(msg, Blob):
            self.bytes += len(msg.data)
            return None
        if isinstance(msg, Echo):
            return msg
        return None


class BenchSource(Actor):
    """Runs workloads on request."""

    async def on_message(self, msg: Message, sender: str) -> Message | None:
        if not isinstance(msg, BenchRun):
            return None
        ctx = self.ctx
        if msg.mode.startswith("direct") and not await ctx.link(msg.peer):
            raise RuntimeError(f"no direct link to {msg.peer}")
        small = Echo(n=1)
        blob = Blob(data=os.urandom(BATCH - 16))
        t0 = time.perf_counter()
        lat: list[float] = []
        if msg.mode in ("tell", "direct"):
            for _ in range(msg.n):
                await ctx.tell(msg.peer, small)
        elif msg.mode in ("batch", "direct_batch"):
            for _ in range(msg.n):
                await ctx.tell(msg.peer, blob)
        elif msg.mode in ("ask", "direct_ask"):
            for _ in range(msg.n):
                t = time.perf_counter()
                await ctx.ask(msg.peer, small)
                lat.append((time.perf_counter() - t) * 1e6)
        await ctx.sync(msg.peer)
        seconds = time.perf_counter() - t0
        if msg.mode.startswith("direct"):
            await ctx.unlink(msg.peer)
        return BenchResult(seconds=seconds, latencies_us=lat)


SPECS = [
    ActorSpec("bench_src", "bus_actors:BenchSource", order=1),
    ActorSpec("bench_sink", "bus_actors:BenchSink", order=2, inbox_size=4096),
]
