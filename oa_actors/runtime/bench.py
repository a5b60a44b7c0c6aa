"""Bus benchmark: actors and a driver that measure the runtime against `multiprocessing.Queue`.

`run_bus_benchmark(home)` starts a real supervisor with two bench actors (`bench_src`, `bench_sink`),
asks `bench_src` to run each measurement against `bench_sink`, kills `bench_sink` with SIGKILL to time
the restart, then runs the same workloads over a plain `multiprocessing.Queue` pair for comparison.
Used by `benches/test_bench_bus.py`; `python -m oa_actors.runtime.bench` prints the figures.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from oa_actors.config import inherited_environment
from oa_actors.runtime import control
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
    ActorSpec("bench_src", "oa_actors.runtime.bench:BenchSource", order=1),
    ActorSpec("bench_sink", "oa_actors.runtime.bench:BenchSink", order=2, inbox_size=4096),
]


# --- multiprocessing.Queue baseline ---


def _q_sink(inq: Any, outq: Any) -> None:
    while True:
        item = inq.get()
        if item is None:
            return
        if item == "ask":
            outq.put("reply")
        elif item == "sync":
            outq.put("synced")


def queue_baseline(n_small: int, n_batch: int, n_ask: int) -> dict[str, float]:
    """The same workloads over two `multiprocessing.Queue`s between two processes."""
    mp = multiprocessing.get_context("spawn")
    inq, outq = mp.Queue(), mp.Queue()
    proc = mp.Process(target=_q_sink, args=(inq, outq), daemon=True)
    proc.start()
    try:
        inq.put("sync")
        outq.get()
        t0 = time.perf_counter()
        for i in range(n_small):
            inq.put(("echo", i))
        inq.put("sync")
        outq.get()
        small = n_small / (time.perf_counter() - t0)
        blob = os.urandom(BATCH)
        t0 = time.perf_counter()
        for _ in range(n_batch):
            inq.put(blob)
        inq.put("sync")
        outq.get()
        mbps = n_batch * BATCH / (time.perf_counter() - t0) / 1e6
        lat = []
        for _ in range(n_ask):
            t = time.perf_counter()
            inq.put("ask")
            outq.get()
            lat.append((time.perf_counter() - t) * 1e6)
        inq.put(None)
        proc.join(10)
    finally:
        if proc.is_alive():
            proc.kill()
            proc.join()
    return {"small_msgs_per_s": small, "batch_mb_per_s": mbps, **_percentiles(lat)}


def _percentiles(lat: list[float]) -> dict[str, float]:
    if not lat:
        return {"ask_p50_us": 0.0, "ask_p99_us": 0.0}
    q = statistics.quantiles(lat, n=100, method="inclusive")
    return {"ask_p50_us": statistics.median(lat), "ask_p99_us": q[98]}


# --- the driver ---


def _ask(run_dir: Path, run: BenchRun) -> BenchResult:
    reply = control.ask(run_dir, "bench_src", run, timeout=300)
    assert isinstance(reply, BenchResult)
    return reply


def _restart_ms(run_dir: Path, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        st = control.request_status(run_dir)
        pid = next(a.pid for a in st.actors if a.name == "bench_sink")
        assert pid
        t0 = time.perf_counter()
        os.kill(pid, signal.SIGKILL)
        while True:
            st = control.request_status(run_dir)
            sink = next(a for a in st.actors if a.name == "bench_sink")
            if sink.pid not in (None, pid) and sink.state == "running":
                try:
                    if control.ask(run_dir, "bench_sink", Echo(n=1), timeout=2) == Echo(n=1):
                        break
                except (RuntimeError, OSError):
                    pass
            time.sleep(0.001)
        times.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.4)  # past --backoff-reset, so the next kill restarts without delay
    return times


def run_bus_benchmark(home: Path, scale: float = 1.0) -> dict[str, Any]:
    """Run every measurement once; `scale` shrinks the workloads for a smoke run."""
    n_small = max(1000, int(200_000 * scale))
    n_batch = max(50, int(8_000 * scale))
    n_ask = max(200, int(5_000 * scale))
    env = {
        **inherited_environment(),
        "OPENAGENTS_HOME": str(home),
        "OA_ACTOR_SPECS": "oa_actors.runtime.bench:SPECS",
    }
    cmd = [
        sys.executable,
        "-m",
        "oa_actors",
        "run",
        "--log-level",
        "WARNING",
        "--max-restarts",
        "100",
        # Time the restart itself, not the backoff policy between quick successive kills.
        "--backoff-reset",
        "0.2",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run_dir = home / "run"
    try:
        control.wait_for_status(run_dir, 60)
        deadline = time.monotonic() + 60
        while not all(a.state == "running" for a in control.request_status(run_dir).actors):
            if time.monotonic() > deadline:
                raise RuntimeError("bench actors did not start")
            time.sleep(0.05)
        _ask(run_dir, BenchRun(mode="tell", n=1000))  # warm up
        r_tell = _ask(run_dir, BenchRun(mode="tell", n=n_small))
        r_direct = _ask(run_dir, BenchRun(mode="direct", n=n_small))
        r_batch = _ask(run_dir, BenchRun(mode="batch", n=n_batch))
        r_dbatch = _ask(run_dir, BenchRun(mode="direct_batch", n=n_batch))
        r_ask = _ask(run_dir, BenchRun(mode="ask", n=n_ask))
        r_dask = _ask(run_dir, BenchRun(mode="direct_ask", n=n_ask))
        restarts = _restart_ms(run_dir, 3 if scale >= 1 else 1)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    base = queue_baseline(n_small, n_batch, n_ask)
    bus: dict[str, Any] = {
        "small_msgs_per_s_router": n_small / r_tell.seconds,
        "small_msgs_per_s_direct": n_small / r_direct.seconds,
        "batch_mb_per_s_router": n_batch * BATCH / r_batch.seconds / 1e6,
        "batch_mb_per_s_direct": n_batch * BATCH / r_dbatch.seconds / 1e6,
        **{k.replace("ask", "ask_router"): v for k, v in _percentiles(r_ask.latencies_us).items()},
        **{k.replace("ask", "ask_direct"): v for k, v in _percentiles(r_dask.latencies_us).items()},
        "restart_ms": statistics.median(restarts),
        "restart_ms_all": restarts,
    }
    best_small = max(bus["small_msgs_per_s_router"], bus["small_msgs_per_s_direct"])
    best_batch = max(bus["batch_mb_per_s_router"], bus["batch_mb_per_s_direct"])
    ratios = {
        "small_direct_vs_queue": bus["small_msgs_per_s_direct"] / base["small_msgs_per_s"],
        "small_router_vs_queue": bus["small_msgs_per_s_router"] / base["small_msgs_per_s"],
        "batch_direct_vs_queue": bus["batch_mb_per_s_direct"] / base["batch_mb_per_s"],
        "batch_router_vs_queue": bus["batch_mb_per_s_router"] / base["batch_mb_per_s"],
        "ask_p50_queue_vs_direct": base["ask_p50_us"] / bus["ask_direct_p50_us"],
        "ask_p50_queue_vs_router": base["ask_p50_us"] / bus["ask_router_p50_us"],
    }
    targets = {
        "small_200k_msgs_per_s": best_small >= 200_000,
        "batch_500_mb_per_s": best_batch >= 500,
        "ask_p50_under_100_us": min(bus["ask_direct_p50_us"], bus["ask_router_p50_us"]) < 100,
        "restart_under_100_ms": bus["restart_ms"] < 100,
    }
    return {
        "workload": {"small": n_small, "batches_64k": n_batch, "asks": n_ask, "scale": scale},
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "bus": bus,
        "queue_baseline": base,
        "ratios": ratios,
        "targets_met": targets,
    }


def format_report(r: dict[str, Any]) -> str:
    """Human-readable lines for `make bench`."""
    b, q, x = r["bus"], r["queue_baseline"], r["ratios"]
    return "\n".join(
        [
            f"bus benchmark ({r['machine']['cpus']} cpus, workload {r['workload']})",
            f"  small msgs/s   direct {b['small_msgs_per_s_direct']:>12,.0f}   router {b['small_msgs_per_s_router']:>12,.0f}"
            f"   mp.Queue {q['small_msgs_per_s']:>12,.0f}   ratio direct {x['small_direct_vs_queue']:.2f}x router {x['small_router_vs_queue']:.2f}x",
            f"  64KB MB/s      direct {b['batch_mb_per_s_direct']:>12,.0f}   router {b['batch_mb_per_s_router']:>12,.0f}"
            f"   mp.Queue {q['batch_mb_per_s']:>12,.0f}   ratio direct {x['batch_direct_vs_queue']:.2f}x router {x['batch_router_vs_queue']:.2f}x",
            f"  ask p50/p99 us direct {b['ask_direct_p50_us']:.1f}/{b['ask_direct_p99_us']:.1f}"
            f"   router {b['ask_router_p50_us']:.1f}/{b['ask_router_p99_us']:.1f}"
            f"   mp.Queue {q['ask_p50_us']:.1f}/{q['ask_p99_us']:.1f}"
            f"   (p50 ratio queue/direct {x['ask_p50_queue_vs_direct']:.2f}x, queue/router {x['ask_p50_queue_vs_router']:.2f}x)",
            f"  restart (kill -9 -> answering) ms: median {b['restart_ms']:.1f}, all {[round(t, 1) for t in b['restart_ms_all']]}",
            f"  targets met: {r['targets_met']}",
        ]
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="oa-bench-") as tmp:
        result = run_bus_benchmark(Path(tmp))
    print(format_report(result))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
