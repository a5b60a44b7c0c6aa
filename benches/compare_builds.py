"""Native builds side by side with the peers and the twin, in one process, rounds interleaved.

On the shared 2-core machine two runs minutes apart can differ by 10-20% while other jobs come and
go; comparing two builds of the extension (before/after a change) is only fair in the same window.
This loads each given extension file (`oa_actors/_oa_native*.so` copied aside, or a build of another
commit: `cargo build --release --features python --lib` gives `target/release/liboa_native.so`),
then times every contender round after round in turn (process CPU time, `JsonlTail.feed` over 1 MiB
chunks as in test_bench_jsonl.py) and prints the medians and the ratios.

    .venv/bin/python benches/compare_builds.py DIR ROUNDS BUILD.so [BUILD.so ...]

DIR is a corpus directory (`benches/heldout.py 60` writes target/bench-heldout/...). A build is
named by its file's parent directory.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from peers import codex_peers, run_tail

from oa_actors.jsonl import _pytail


def load(path: str) -> ModuleType:
    """The extension module in `path` (each file loads as its own copy)."""
    loader = importlib.machinery.ExtensionFileLoader("oa_actors._oa_native", path)
    spec = importlib.util.spec_from_file_location("oa_actors._oa_native", path, loader=loader)
    if spec is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def main(argv: list[str]) -> int:
    """Time the builds, the msgspec and orjson peers and the twin; print medians and ratios."""
    if len(argv) < 3 or not argv[1].isdigit():
        print(__doc__, file=sys.stderr)
        return 2
    root, rounds, builds = Path(argv[0]), int(argv[1]), argv[2:]
    files = [(str(p), p.read_bytes()) for p in sorted(root.rglob("*.jsonl"))]
    total = sum(len(b) for _, b in files)
    peers = codex_peers()
    runs: dict[str, Callable[[], int]] = {}
    for path in builds:
        module = load(path)
        runs[Path(path).parent.name] = lambda m=module: run_tail(m.JsonlTail, files)
    runs["msgspec"] = lambda: peers["msgspec"](files)
    runs["orjson"] = lambda: peers["orjson"](files)
    runs["twin"] = lambda: run_tail(_pytail.JsonlTail, files)
    speeds: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():
        run()  # warm-up
    for r in range(rounds):
        for name, run in runs.items():
            if name == "twin" and r > 0:
                continue  # one round: it is 8-10x slower and steady
            t0 = time.process_time()
            run()
            speeds[name].append(total / (time.process_time() - t0) / 1e6)
    med = {name: sorted(v)[len(v) // 2] for name, v in speeds.items()}
    for name, v in med.items():
        print(f"{name:>12}: {v:6.0f} MB/s (CPU, median of {len(speeds[name])})")
    best = max(med["msgspec"], med["orjson"])
    for path in builds:
        b = Path(path).parent.name
        print(
            f"{b:>12}: {med[b] / med['msgspec']:.2f}x msgspec, {med[b] / med['orjson']:.2f}x orjson, "
            f"{med[b] / best:.2f}x best peer (goal 2.0), {med[b] / med['twin']:.1f}x twin (goal 10)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
