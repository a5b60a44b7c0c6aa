"""Message-bus benchmark: two actors on a real supervisor vs a `multiprocessing.Queue` baseline.

Figures (targets in docs/architecture.md, "The message bus"): small messages/s one-way over a direct link and through the
router, MB/s of 64 KB batches, ask round-trip p50/p99, and kill -9 -> restarted actor answering.
With `--benchmark-disable` (the default in pyproject) the body runs once at a small scale as a smoke
test; `make bench` (`--benchmark-enable -s`) runs the full workload, prints the figures and ratios and
writes them to `benches/results/bus.json`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from oa_actors.runtime.bench import format_report, run_bus_benchmark

RESULTS = Path(__file__).resolve().parent / "results" / "bus.json"


def test_bench_bus(benchmark: Any, tmp_path: Path) -> None:
    enabled = not getattr(benchmark, "disabled", False)
    scale = 1.0 if enabled else 0.02
    results: list[dict[str, Any]] = []

    def run() -> None:
        home = tmp_path / f"home{len(results)}"
        home.mkdir()
        results.append(run_bus_benchmark(home, scale))

    # One round: each round is a whole multi-process scenario, and the figures come from inside it.
    benchmark.pedantic(run, rounds=1, iterations=1)
    result = results[-1]
    print()
    print(format_report(result))
    if enabled:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    bus = result["bus"]
    assert bus["small_msgs_per_s_direct"] > 0 and bus["batch_mb_per_s_direct"] > 0
    assert bus["restart_ms"] > 0
