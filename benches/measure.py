"""Timing and reporting helpers shared by the benchmarks (hot paths, bus, tailer, search...).

Every contender is timed the same way: one warm-up pass through pytest-benchmark, then the same
number of timed rounds each, bytes in to Python row dicts out. The headline figure is the best round;
the median and the slowest round show the spread on this shared 2-core machine. Each round's process
CPU time is recorded too (`*_cpu`): other jobs on the machine stretch the wall clock much more than
the CPU time a round needs, so CPU-time ratios are the steadier comparison when the load is high.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

Files = list[tuple[str, bytes]]
# The `record` and `bench_size` fixtures of conftest.py.
Record = Callable[..., None]
Size = Callable[[str, int, int], int]

SMOKE_MB = 2
FULL_BYTES_FOR_ROUNDS = 50_000_000


def corpus_mb(request: pytest.FixtureRequest, full_mb: int, smoke_mb: int = SMOKE_MB) -> int:
    """Corpus size: `OA_BENCH_MB` if set, else `full_mb` with `--benchmark-enable`, else the smoke size."""
    env = os.environ.get("OA_BENCH_MB")
    if env:
        return int(env)
    enabled = bool(request.config.getoption("benchmark_enable", False))
    return full_mb if enabled else smoke_mb


def rounds_for(files: Files, full: int = 3) -> int:
    """Timed rounds per contender: the same for all of them (one on a smoke corpus)."""
    return full if sum(len(d) for _, d in files) >= FULL_BYTES_FOR_ROUNDS else 1


class Times(list[float]):
    """Wall seconds of each round, with the process CPU seconds of each round in `cpu`."""

    def __init__(self) -> None:
        super().__init__()
        self.cpu: list[float] = []


def timed(fn: Callable[[], int], rounds: int) -> tuple[Times, int]:
    """Wall (and CPU) time of each of `rounds` calls of `fn` and the row count of the last one."""
    times = Times()
    rows = 0
    for _ in range(rounds):
        c0, t0 = time.process_time(), time.perf_counter()
        rows = fn()
        times.append(time.perf_counter() - t0)
        times.cpu.append(time.process_time() - c0)
    return times, rows


def figures(files: Files, times: Sequence[float], rows: int) -> dict[str, Any]:
    """Best of the timed rounds (the headline figure), their median and the slowest, per second."""
    nbytes = sum(len(d) for _, d in files)
    lines = sum(d.count(b"\n") for _, d in files)
    ordered = sorted(times)
    seconds, median, slowest = ordered[0], ordered[len(ordered) // 2], ordered[-1]
    out: dict[str, Any] = {
        "seconds": round(seconds, 4),
        "seconds_median": round(median, 4),
        "MB_per_s": round(nbytes / seconds / 1e6, 1),
        "MB_per_s_median": round(nbytes / median / 1e6, 1),
        "MB_per_s_slowest": round(nbytes / slowest / 1e6, 1),
        "lines_per_s": round(lines / seconds),
        "lines_per_s_median": round(lines / median),
        "rounds": len(times),
        "rows": rows,
    }
    if isinstance(times, Times) and times.cpu:
        cpu = sorted(times.cpu)
        out["MB_per_s_cpu"] = round(nbytes / cpu[0] / 1e6, 1)
        out["MB_per_s_cpu_median"] = round(nbytes / cpu[len(cpu) // 2] / 1e6, 1)
    return out


def corpus_info(files: Files) -> dict[str, int]:
    """Size of a corpus: files, bytes, lines."""
    return {
        "files": len(files),
        "bytes": sum(len(d) for _, d in files),
        "lines": sum(d.count(b"\n") for _, d in files),
    }


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}


def ratio(a: float, b: float) -> float:
    """`a / b` rounded for a report."""
    return round(a / b, 2)


def goal_line(label: str, value: float, goal: float, unit: str = "", higher_is_better: bool = True) -> str:
    """One target for a report: the value, the goal, and `ratio` (>= 1 means the goal is met)."""
    ratio_ = value / goal if higher_is_better else goal / max(value, 1e-9)
    sign = ">=" if higher_is_better else "<="
    met = "met" if ratio_ >= 1 else "NOT met"
    shown = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    u = f" {unit}" if unit else ""
    return f"{label}: {shown}{u} (goal {sign} {goal:,g}{u}; ratio {ratio_:.2f}, {met})"


def goal_ratio(value: float, goal: float, higher_is_better: bool = True) -> float:
    """The ratio `goal_line` prints, for the results file (>= 1 means met)."""
    return round(value / goal if higher_is_better else goal / max(value, 1e-9), 2)
