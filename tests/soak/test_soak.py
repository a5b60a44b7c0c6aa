"""The short chaos soak in the normal test suite (`make soak` runs the long one): 40 s of kill -9
every 2 s, live chunked writes with heavy rows, a 17 MiB line, a FIFO, a symlink loop and a Convex
outage, then the store and Convex must equal `oa-supervisor parse` of the same files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.soak.chaos import SoakOptions, run_soak
from tests.support import convex_emulator

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not convex_emulator.available(), reason="node_modules missing: run `make test`"),
]


@pytest.mark.timeout(900)
def test_short_chaos_soak_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    opts = SoakOptions(seconds=40, heavy_sessions=14, settle_timeout=180)
    report = run_soak(opts, tmp_path)
    print(report.summary())
    assert sum(report.kills.values()) >= 15  # the chaos really happened
    assert report.outage is not None
    assert report.files["heavy"] == 14 and report.files["huge"] == 1
    assert report.supervisor_survived and report.exit_code == 0, report.summary()
    assert report.ok, report.summary()
