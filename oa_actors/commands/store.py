"""`oa-supervisor backfill` and `oa-supervisor export`: the local store from the command line.

Both honour OPENAGENTS_HOME and CODEX_HOME. `backfill` asks a running supervisor's tailer to do
the work (the store belongs to its writer); with no supervisor running it imports directly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO, TypeVar

import msgspec

from oa_actors.config import Config
from oa_actors.messages import BackfillStatus, VerbReply, VerbRequest
from oa_actors.store import Store
from oa_actors.timespec import TimeSpecError, parse_time
from oa_actors.verbs.catalog import SESSIONS_BACKFILL, WATCH_STATUS, SessionsBackfill
from oa_actors.verbs.events import BackfillProgress
from oa_actors.verbs.registry import Args, NoArgs, Reply, Verb

A = TypeVar("A", bound=Args)
R = TypeVar("R", bound=Reply)


def register(sub: Any) -> None:
    b = sub.add_parser("backfill", help="import every session file now, with progress, and exit when done")
    b.add_argument("--sessions", help="folder of session files (default: $CODEX_HOME/sessions)")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(handler=run_backfill)
    e = sub.add_parser("export", help="print the store's rows as JSON lines (same format as `parse`)")
    e.add_argument("--thread", help="only this thread id")
    e.add_argument(
        "--since", help="only rows at or after this time (ISO 8601, a duration like 7d, or ms since epoch)"
    )
    e.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace) -> int:
    cfg = Config.from_env()
    if not cfg.store_path.exists():
        print(f"oa-supervisor export: no store at {cfg.store_path} (nothing imported yet)", file=sys.stderr)
        return 1
    try:
        since = None if args.since is None else parse_time(args.since)
    except TimeSpecError as exc:
        print(f"oa-supervisor export: --since {exc}", file=sys.stderr)
        return 2
    store = Store.open(cfg.store_path, readonly=True)
    try:
        out = sys.stdout
        for row in store.export(thread_id=args.thread, since_ms=since):
            out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
        out.flush()
    finally:
        store.close()
    return 0


class ProgressBar:
    """One line, redrawn: files, MB, rows and the rate."""

    def __init__(self, out: TextIO, enabled: bool) -> None:
        self.out = out
        self.enabled = enabled
        self.t0 = time.monotonic()

    def show(self, p: BackfillProgress, final: bool = False) -> None:
        if not self.enabled and not final:
            return
        secs = max(time.monotonic() - self.t0, 1e-6)
        frac = p.bytes_done / p.bytes_total if p.bytes_total else 1.0
        bar = "#" * int(frac * 30)
        line = (
            f"[{bar:<30}] {p.files_done}/{p.files_total} files  "
            f"{p.bytes_done / 1e6:.1f}/{p.bytes_total / 1e6:.1f} MB  "
            f"{p.rows} rows  {p.bytes_done / 1e6 / secs:.1f} MB/s"
        )
        self.out.write(("\r" if self.enabled else "") + line + ("\n" if final else ""))
        self.out.flush()


def run_backfill(args: argparse.Namespace) -> int:
    cfg = Config.from_env()
    sessions = Path(args.sessions).expanduser() if args.sessions else cfg.sessions_dir
    bar = ProgressBar(sys.stderr, enabled=not args.quiet and sys.stderr.isatty())
    from oa_actors.runtime import control

    if control.socket_path(cfg.run_dir).exists():
        try:
            return _backfill_remote(cfg, sessions, bar)
        except (OSError, RuntimeError) as exc:
            print(
                f"oa-supervisor backfill: the running supervisor did not answer ({exc}); importing directly",
                file=sys.stderr,
            )
    return asyncio.run(_backfill_local(cfg, sessions, bar))


def _backfill_remote(cfg: Config, sessions: Path, bar: ProgressBar) -> int:
    from oa_actors.runtime import control

    def verb(declared: Verb[A, R], args: A) -> R:
        request = VerbRequest(verb=declared.name, args=declared.dump(args))
        reply = control.ask(cfg.run_dir, declared.owner, request, timeout=30)
        if not isinstance(reply, VerbReply) or not reply.ok:
            raise RuntimeError(getattr(reply, "error", "unexpected reply"))
        return msgspec.convert(reply.result, declared.reply)

    verb(SESSIONS_BACKFILL, SessionsBackfill(sessions=str(sessions)))
    while True:
        p = verb(WATCH_STATUS, NoArgs()).backfill
        if not p.running:
            bar.show(p, final=True)
            return 0
        bar.show(p)
        time.sleep(0.2)


async def _backfill_local(cfg: Config, sessions: Path, bar: ProgressBar) -> int:
    from oa_actors.runtime import control
    from oa_actors.tailer.service import TailerService
    from oa_actors.tailer.sink import StoreSink

    try:
        lock = control.acquire_lock(cfg.run_dir)  # no supervisor may start while we write its store
    except control.AlreadyRunning as exc:
        print(f"oa-supervisor backfill: {exc}", file=sys.stderr)
        return 1
    # A store from an older version is migrated on open; building its search index logs progress.
    migration_log = logging.StreamHandler(sys.stderr)
    logging.getLogger("oa.store").addHandler(migration_log)
    logging.getLogger("oa.store").setLevel(logging.INFO)
    try:
        store = Store.open(cfg.store_path)
    finally:
        logging.getLogger("oa.store").removeHandler(migration_log)
    try:
        sink = StoreSink(store)

        async def progress(p: BackfillStatus) -> None:
            bar.show(p)

        checkpoints = {p: v for p in store.checkpoints() if (v := store.checkpoint(p)) is not None}
        svc = TailerService(
            [sessions], sink, on_forget=sink.forget, on_progress=progress, watch=False, rescan_seconds=0
        )
        await svc.start(checkpoints)
        await svc.wait_idle()
        await svc.stop()
        bar.show(svc.progress, final=True)
        return 0
    finally:
        store.close()
        os.close(lock)  # releases the flock
