"""Run the gateway benchmark on another commit and on this checkout, back to back, and compare.

    .venv/bin/python scripts/bench_gateway_compare.py BASE [--rounds N]

BASE (e.g. the commit before a change to oa_actors/gateway) is checked out into a temporary git
worktree, which is removed afterwards; both runs use this checkout's virtualenv and node_modules,
with the benchmark of each tree, alternating BASE and this checkout N times. Prints each run's
500-client figures and the median p50 of each side with its ratio to the 15 ms goal.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path("benches") / "results" / "gateway.json"
GOAL_P50_MS = 15.0


def run_bench(tree: Path) -> dict[str, Any]:
    """One full run of `benches/test_bench_gateway.py` in `tree`; its 500-client scenario."""
    env = {**os.environ, "PYTHONPATH": str(tree)}  # the tree's oa_actors before the editable install
    cmd = [sys.executable, "-m", "pytest", "benches/test_bench_gateway.py", "-q", "-p", "no:cacheprovider"]
    cmd += ["--benchmark-enable", "--benchmark-only", "-s"]
    subprocess.run(cmd, cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
    result = json.loads((tree / RESULTS).read_text())
    scenario: dict[str, Any] = next(s for s in result["scenarios"] if s["clients"] == 500)
    return scenario


def line(label: str, s: dict[str, Any]) -> str:
    lat = s["latency_ms"]
    return (
        f"  {label:<7} 500 clients: {s['events_per_s']:>6,} events/s ({s['deliveries_per_s']:>8,} frames/s);"
        f" p50 {lat['p50']:.2f} ms, p99 {lat['p99']:.2f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("base", help="the commit to compare with (e.g. HEAD~1)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each side, alternating")
    args = parser.parse_args()
    base = subprocess.run(
        ["git", "rev-parse", "--short", args.base], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory(prefix="oa-bench-base-") as tmp:
        tree = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), base], cwd=ROOT, check=True)
        try:
            (tree / "node_modules").symlink_to(ROOT / "node_modules")
            for native in (ROOT / "oa_actors").glob("_oa_native*.so"):
                shutil.copy2(native, tree / "oa_actors" / native.name)
            for i in range(args.rounds):
                print(f"round {i + 1}/{args.rounds}: {base} (before) ...", flush=True)
                runs["before"].append(run_bench(tree))
                print(f"round {i + 1}/{args.rounds}: this checkout (after) ...", flush=True)
                runs["after"].append(run_bench(ROOT))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=True)
    print(f"\ngateway benchmark, before = {base}, after = this checkout:")
    for side, scenarios in runs.items():
        for s in scenarios:
            print(line(side, s))
    for side, scenarios in runs.items():
        p50 = statistics.median(s["latency_ms"]["p50"] for s in scenarios)
        print(
            f"  {side:<7} median p50 {p50:.2f} ms: {p50 / GOAL_P50_MS:.2f} of the goal (< {GOAL_P50_MS:g} ms)"
            f" {'met' if p50 < GOAL_P50_MS else 'MISSED'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
