"""Fixtures shared by the benchmarks: run size, per-test results, goals printed as ratios.

Every benchmark test measures what it reports: its figures, and each target as `value / goal`
beside the goal, come from that test alone (no module-level results that depend on which tests ran
before). `record` keeps them in `benches/results/<bench>.json` under the test's name on full runs
(`make bench`), merged with what other tests of the same file recorded before.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from measure import Record, Size, machine

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@pytest.fixture
def full(request: pytest.FixtureRequest) -> bool:
    """Whether this is a timed run (`--benchmark-enable`, as in `make bench`) or a smoke run."""
    return bool(request.config.getoption("benchmark_enable", False))


@pytest.fixture
def bench_size(full: bool) -> Size:
    """`size(env, smoke, full)`: the workload size, `$env` if set, else by the kind of run."""

    def size(env: str, smoke: int, full_size: int) -> int:
        value = os.environ.get(env)
        return int(value) if value else (full_size if full else smoke)

    return size


def results_file(module_name: str) -> Path:
    """`benches/results/<bench>.json` for `test_bench_<bench>.py`."""
    return RESULTS_DIR / f"{module_name.removeprefix('test_bench_')}.json"


@pytest.fixture
def record(request: pytest.FixtureRequest, full: bool) -> Record:
    """`record(figures, save=None)`: keep this test's figures under its name in the bench's results
    file. Saved on full runs unless `save` says otherwise (e.g. an input below the full size)."""
    path = results_file(request.node.module.__name__)
    key = request.node.name.removeprefix("test_bench_")

    def save_figures(figures: dict[str, Any], save: bool | None = None) -> None:
        if not (full if save is None else save):
            return
        old = json.loads(path.read_text()) if path.exists() else {}
        old[key] = {**figures, "machine": machine()}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(old, indent=2, ensure_ascii=False) + "\n")

    return save_figures
