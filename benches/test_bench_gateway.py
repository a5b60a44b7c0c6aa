"""Bridge WebSocket benchmark: fan-out events/s to 1, 50 and 500 clients, and the latency from
`publish_rows` (a committed row reaching the gateway) to a subscribed client (p50/p99; target p50 < 15 ms).

The server runs in this process (uvloop when installed, as in the actor); the clients are real
phone-like clients (npm `ws`) in one Node process (tests/gateway/node_bench_clients.cjs), so the
figures are the server's, not a Python client's. Each published event is one `rows.messages` frame
with one ~300-byte message row. The publisher keeps every client's send queue below half full
(nothing is dropped). With `--benchmark-disable` (the pyproject default) it is a one-shot smoke test
at a small scale; `make bench` (`--benchmark-enable -s`) runs the full workload, prints the figures
and writes `benches/results/gateway.json`.
"""

from __future__ import annotations

import asyncio
import json
import platform
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from oa_actors.gateway import BridgeServer, GatewaySettings

ROOT = Path(__file__).resolve().parents[1]
NODE_CLIENTS = ROOT / "tests" / "gateway" / "node_bench_clients.cjs"
RESULTS = Path(__file__).resolve().parent / "results" / "gateway.json"
TOKEN = "bench-token-0123456789abcdefghij"
THREAD = "bench-thread"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "node_modules" / "ws").is_dir(),
    reason="needs node and npm ws",
)


def _row(seq: int, **data: Any) -> dict[str, Any]:
    return {
        "threadId": THREAD,
        "key": f"k{seq:012d}",
        "seq": seq,
        "ts": 1_795_000_000_000 + seq,
        "role": "assistant",
        "kind": "message",
        "text": "The quick brown fox jumps over the lazy dog. " * 4,
        "data": data or None,
        "turnId": "turn-1",
    }


class NodeClients:
    """The Node process with N subscribed clients, driven by JSON lines."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, port: int, n: int) -> NodeClients:
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(NODE_CLIENTS),
            str(port),
            TOKEN,
            str(n),
            THREAD,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=2**24,
        )
        self = cls(proc)
        assert (await self.read())["ready"]
        return self

    async def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 120)
        assert line, "the node clients exited"
        msg: dict[str, Any] = json.loads(line)
        assert "error" not in msg and "closed" not in msg, msg
        return msg

    def send(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())

    async def quit(self) -> None:
        self.send(cmd="quit")
        await asyncio.wait_for(self.proc.wait(), 30)


async def _drained(server: BridgeServer, below: int) -> None:
    """Yield to the writers until every client's send queue is below `below` frames."""
    clients = list(server._clients.values())
    while any(c.queue.qsize() >= below for c in clients):
        await asyncio.sleep(0)


async def _scenario(n: int, events: int, samples: int) -> dict[str, Any]:
    settings = GatewaySettings(
        host="127.0.0.1", port=0, token=TOKEN, max_clients=max(600, n + 10), ping_interval=None
    )
    server = BridgeServer(settings, None, None)
    await server.start()
    nodes = await NodeClients.start(server.port, n)
    try:
        assert server.clients == n
        half = settings.send_queue // 2
        # -- throughput: `events` frames to every client --
        nodes.send(cmd="expect", count=events)
        await asyncio.sleep(0.05)  # the command reaches node before the first event
        t0 = time.perf_counter()
        for seq in range(events):
            server.publish_rows("messages", [_row(seq)])
            if seq % 64 == 63:
                await _drained(server, half)
        assert (await nodes.read())["done"]
        elapsed = time.perf_counter() - t0
        # -- latency: one row at a time, idle in between, publish -> every subscribed client --
        for seq in range(samples):
            server.publish_rows("messages", [_row(events + seq, t=time.time() * 1000, lat=1)])
            await asyncio.sleep(0.004 if n < 100 else 0.02)
        await asyncio.sleep(0.2)
        nodes.send(cmd="latency")
        latency = (await nodes.read())["latency"]
        assert server.counters["slowDisconnects"] == 0 and server.counters["dropped"] == 0
        return {
            "clients": n,
            "events": events,
            "seconds": round(elapsed, 4),
            "events_per_s": round(events / elapsed),
            "deliveries_per_s": round(events * n / elapsed),
            "latency_ms": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in latency.items()},
        }
    finally:
        await nodes.quit()
        await server.stop()


def _loop_factory() -> tuple[str, Callable[[], asyncio.AbstractEventLoop]]:
    try:
        import uvloop
    except ImportError:
        return "asyncio", asyncio.new_event_loop
    return "uvloop", uvloop.new_event_loop


def run_gateway_benchmark(scale: float) -> dict[str, Any]:
    """Every scenario in a fresh event loop; `scale` < 1 shrinks the workload for the smoke run."""
    loop_name, factory = _loop_factory()
    plan = [(1, 40_000), (50, 10_000), (500, 2_000)] if scale >= 1 else [(1, 200), (5, 100), (20, 50)]
    samples = 400 if scale >= 1 else 20
    scenarios = []
    for n, events in plan:
        with asyncio.Runner(loop_factory=factory) as runner:
            scenarios.append(runner.run(_scenario(n, events, samples if n < 100 else samples // 4)))
    return {
        "benchmark": "gateway",
        "loop": loop_name,
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {platform.system()}",
        "payload": "one rows.messages frame per event, one ~300-byte message row",
        "scenarios": scenarios,
        "target_latency_p50_ms": 15,
    }


def format_report(result: dict[str, Any]) -> str:
    goal = result["target_latency_p50_ms"]
    lines = [f"gateway fan-out ({result['loop']}, Node ws clients):"]
    for s in result["scenarios"]:
        lat = s["latency_ms"]
        lines.append(
            f"  {s['clients']:>4} clients: {s['events_per_s']:>8,} events/s "
            f"({s['deliveries_per_s']:>9,} frames/s delivered);"
            f" publish->client p50 {lat['p50']:.2f} ms, p99 {lat['p99']:.2f} ms (n={lat['count']});"
            f" p50 / goal (< {goal} ms) = {lat['p50'] / goal:.2f}"
        )
    return "\n".join(lines)


def test_bench_gateway(benchmark: Any) -> None:
    enabled = not getattr(benchmark, "disabled", False)
    results: list[dict[str, Any]] = []
    benchmark.pedantic(
        lambda: results.append(run_gateway_benchmark(1.0 if enabled else 0.01)), rounds=1, iterations=1
    )
    result = results[-1]
    print()
    print(format_report(result))
    if enabled:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    for s in result["scenarios"]:
        assert s["events_per_s"] > 0 and s["latency_ms"]["count"] > 0
