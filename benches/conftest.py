"""Fixtures shared by the benchmarks: run size, per-test results, goals printed as ratios.

Every benchmark test measures what it reports: its figures, and each target as `value / goal`
beside the goal, come from that test alone (no module-level results that depend on which tests ran
before). `record` keeps them in `benches/results/<bench>.json` under the test's name on full runs
(`make bench`), merged with what other tests of the same file recorded before.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from codex_corpus import CodexGen, prose_pool, templates
from measure import Record, Size, machine

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SESSIONS_CACHE = Path(__file__).resolve().parent.parent / "target" / "bench-sessions"
SESSIONS_SEED = 20261122
SESSIONS_GEN_VERSION = 1


@pytest.fixture(scope="session")
def full(request: pytest.FixtureRequest) -> bool:
    """Whether this is a timed run (`--benchmark-enable`, as in `make bench`) or a smoke run."""
    return bool(request.config.getoption("benchmark_enable", False))


@pytest.fixture(scope="session")
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
    """`record(figures, save=None, name=None)`: keep this test's figures under its name (or `name`)
    in the bench's results file. Saved on full runs unless `save` says otherwise (e.g. an input
    below the full size)."""
    path = results_file(request.node.module.__name__)
    key = request.node.name.removeprefix("test_bench_")

    def save_figures(figures: dict[str, Any], save: bool | None = None, name: str | None = None) -> None:
        if not (full if save is None else save):
            return
        old = json.loads(path.read_text()) if path.exists() else {}
        old[name or key] = {**figures, "machine": machine()}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(old, indent=2, ensure_ascii=False) + "\n")

    return save_figures


# -- the generated sessions corpus (tailer and search benches) -----------------------------------
def _sessions_home(mb: int) -> Path:
    """A CODEX_HOME whose sessions/YYYY/MM/DD/ hold ~`mb` MB of generated rollouts (~500 KB each),
    cached under target/bench-sessions/."""
    home = SESSIONS_CACHE / f"v{SESSIONS_GEN_VERSION}-seed{SESSIONS_SEED}-{mb}mb"
    done = home / "DONE"
    if not done.exists():
        tpl = templates()
        pool = prose_pool(tpl)
        rnd = random.Random(SESSIONS_SEED)
        total, n = 0, 0
        while total < mb * 1_000_000:
            gen = "codex-0.169.0" if rnd.random() < 0.7 else "codex-0.50.0"
            g = CodexGen(tpl, pool, random.Random(rnd.getrandbits(64)), n, gen)
            data = g.rollout(min(rnd.randint(120_000, 1_200_000), mb * 1_000_000 - total + 10_000))
            day = home / "sessions" / "2026" / "11" / f"{1 + n % 28:02d}"
            day.mkdir(parents=True, exist_ok=True)
            p = day / f"rollout-2026-11-{1 + n % 28:02d}T01-00-00-{g.tid}.jsonl"
            p.write_bytes(data)
            t = 1_790_000_000 + n * 60  # deterministic mtimes: backfill order is reproducible
            os.utime(p, (t, t))
            total += len(data)
            n += 1
        done.write_text(str(n))
    return home


@pytest.fixture(scope="session")
def sessions_corpus() -> Callable[[int], tuple[Path, list[Path]]]:
    """`make(mb)`: a cached CODEX_HOME of ~`mb` MB of generated rollouts and its rollout files."""

    def make(mb: int) -> tuple[Path, list[Path]]:
        home = _sessions_home(mb)
        return home, sorted((home / "sessions").rglob("rollout-*.jsonl"))

    return make
