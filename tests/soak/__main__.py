"""`python -m tests.soak [--seconds N] [--no-heavy] ...`: the chaos soak; `make soak` runs it.

Prints the report (JSON) and exits 0 when nothing was lost, duplicated or changed, 1 otherwise.
`--seconds` defaults to $SOAK_SECONDS, else 300.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from tests.soak.chaos import SoakOptions, run_soak


def main(argv: list[str] | None = None) -> int:
    d = SoakOptions()
    p = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__)
    p.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS") or d.seconds))
    p.add_argument("--kill-interval", type=float, default=d.kill_interval, help="0: no kills")
    p.add_argument("--heavy-sessions", type=int, default=d.heavy_sessions)
    p.add_argument("--codex-sessions", type=int, help="default: one per second")
    p.add_argument("--claude-sessions", type=int, help="default: one per three seconds")
    p.add_argument("--no-huge-line", action="store_true", help="no rollout with a 17 MiB line")
    p.add_argument("--no-fifo", action="store_true", help="no FIFO named x.jsonl")
    p.add_argument("--no-symlink-loop", action="store_true", help="no self-referencing symlink y.jsonl")
    p.add_argument("--no-outage", action="store_true", help="keep the Convex emulator up")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--settle-timeout", type=float, default=d.settle_timeout)
    p.add_argument("--workdir", help="keep everything here (default: a temporary folder, removed on success)")
    a = p.parse_args(argv)
    opts = SoakOptions(
        seconds=a.seconds,
        kill_interval=a.kill_interval,
        codex_sessions=a.codex_sessions,
        claude_sessions=a.claude_sessions,
        heavy_sessions=a.heavy_sessions,
        huge_line=not a.no_huge_line,
        fifo=not a.no_fifo,
        symlink_loop=not a.no_symlink_loop,
        outage=not a.no_outage,
        seed=a.seed,
        settle_timeout=a.settle_timeout,
    )
    workdir = Path(a.workdir) if a.workdir else Path(tempfile.mkdtemp(prefix="oa-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    report = run_soak(opts, workdir)
    print(report.summary())
    if report.ok and not a.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    elif not report.ok:
        print(f"soak FAILED; logs and data kept in {workdir}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
