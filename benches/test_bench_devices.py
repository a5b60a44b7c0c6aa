"""Pairing benchmark: what per-device tokens cost at connect time.

Accepted WebSocket handshakes per second (real `websockets` clients, connect then close) against
a bridge whose only credential is the in-memory desktop token, and against one with 200 devices in
`devices.json` (every device's HMAC compared, the file's stat checked per attempt). Goal: the
devices bridge keeps >= 0.8x the baseline's rate. Also the cost of one `identify()` with 200
devices (goal < 1 ms). With `--benchmark-disable` (the default) a one-shot smoke run at a small
scale; `make bench` runs the full workload and prints the ratios beside their goals.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from oa_actors.gateway import BridgeServer, GatewaySettings
from oa_actors.gateway.devices import DeviceRegistry

TOKEN = "bench-token-0123456789abcdefghij"


async def _handshakes(server: BridgeServer, token: str, n: int) -> float:
    url = f"ws://127.0.0.1:{server.port}/ws?token={token}"
    start = time.perf_counter()
    for _ in range(n):
        async with connect(url) as ws:
            await ws.recv()  # bridge.hello
    return n / (time.perf_counter() - start)


async def _run(home: Path, n: int) -> dict[str, Any]:
    reg = DeviceRegistry.open(home)
    tokens = [reg.pair(f"device-{i}") for i in range(200)]
    base = GatewaySettings(host="127.0.0.1", port=0, token=TOKEN, close_timeout=1.0)
    out: dict[str, Any] = {}
    async with BridgeServer(base) as plain:
        await _handshakes(plain, TOKEN, max(1, n // 10))  # warm-up
        out["baseline_per_s"] = await _handshakes(plain, TOKEN, n)
    devices = base.with_overrides(token="", devices_path=home / "devices.json")
    async with BridgeServer(devices) as paired:
        await _handshakes(paired, tokens[-1], max(1, n // 10))
        out["devices_per_s"] = await _handshakes(paired, tokens[-1], n)
        reps = max(10, n)
        start = time.perf_counter()
        for _ in range(reps):
            paired.devices.identify(tokens[100])
        out["identify_ms"] = (time.perf_counter() - start) / reps * 1000
    out["ratio"] = out["devices_per_s"] / out["baseline_per_s"]
    return out


def test_bench_devices(benchmark: Any, tmp_path: Path) -> None:
    enabled = not getattr(benchmark, "disabled", False)
    results: list[dict[str, Any]] = []
    n = 400 if enabled else 20
    benchmark.pedantic(
        lambda: results.append(asyncio.run(_run(tmp_path / "home", n))), rounds=1, iterations=1
    )
    r = results[0]
    print()
    print(
        f"handshakes/s: single token {r['baseline_per_s']:.0f}, 200 devices {r['devices_per_s']:.0f}: "
        f"ratio {r['ratio']:.2f} (goal >= 0.80); identify() with 200 devices {r['identify_ms']:.3f} ms "
        "(goal < 1 ms)"
    )
    assert r["devices_per_s"] > 0 and r["identify_ms"] > 0
