"""The chaos soak: the whole product under kill -9, hostile files and a Convex outage, then checked.

`run_soak(options, workdir)`:

1. Plans the sessions (Codex, Claude, heavy, one 17 MiB line), writes a quarter of them before
   the start (backfill) and puts a FIFO and a symlink loop in both session trees.
2. Starts the Convex HTTP emulator (tests/convex_emulator, the real `convex/` functions, state kept
   in a file) and `oa-supervisor run` with every actor and default flags, Convex in remote mode.
3. For `seconds`: writes the other sessions live in random chunks; kills a random actor with
   SIGKILL every `kill_interval` seconds; stops the emulator (SIGKILL) for a while a third of the
   way in and restarts it on the same port and state; adds more hostile files half-way.
4. Waits for quiescence and compares with `oa-supervisor parse` of the same files: the store
   (`oa-supervisor export`, every field) and Convex (its HTTP API, every row field; text cut to
   Convex's document limit as the writer does): 0 lost, 0 duplicated, 0 different.

The supervisor must still be running at the end and exit 0 on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oa_actors.convex.client import ConvexHttpClient
from oa_actors.convex.limits import fit_document
from oa_actors.runtime import control
from tests.soak.sessions import (
    ChunkWriter,
    Session,
    claude_session,
    codex_session,
    heavy_session,
    huge_line_session,
    make_hostile,
)
from tests.support.convex_emulator import ConvexEmulator
from tests.support.supervisor import ROOT, Supervisor

ACTORS = ("convex_backend", "convex_writer", "sessions_tailer", "fs_syncer", "codex_runner", "ws_gateway")
ADMIN_KEY = "soak-admin-key"
MESSAGE_FIELDS = ("threadId", "key", "seq", "ts", "role", "kind", "text", "data", "turnId")
THREAD_FIELDS = (
    "threadId", "source", "rolloutPath", "title", "cwd", "model", "cliVersion", "git",
    "parentThreadId", "createdAt", "updatedAt", "usage",
)  # fmt: skip


@dataclass
class SoakOptions:
    """What the soak does (every hostile input on by default)."""

    seconds: float = 300.0
    kill_interval: float = 2.0  # 0: no kills
    codex_sessions: int | None = None  # default: one per second of soak
    claude_sessions: int | None = None  # default: one per three seconds
    heavy_sessions: int = 30  # 200 custom tool calls with 6 KB inputs each
    huge_line: bool = True  # one rollout with a valid 17 MiB line
    fifo: bool = True  # a FIFO named x.jsonl in each session tree
    symlink_loop: bool = True  # a self-referencing symlink y.jsonl in each session tree
    outage: bool = True  # stop the Convex emulator for a while and restart it
    seed: int = 0
    settle_timeout: float = 420.0  # after the chaos (a failed actor is retried within 5 min)


@dataclass
class Diff:
    """A comparison of actual rows with the expected ones (from `parse`)."""

    expected: int = 0
    actual: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)  # unexpected or repeated rows
    different: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.different) and self.expected == self.actual

    def summary(self) -> dict[str, Any]:
        return {
            "expected": self.expected,
            "actual": self.actual,
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
            "different": len(self.different),
            "examples": (self.lost + self.duplicated + self.different)[:5],
        }


@dataclass
class SoakReport:
    """What happened and what was found."""

    options: dict[str, Any]
    files: Counter[str] = field(default_factory=Counter)
    bytes_written: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    outage: tuple[float, float] | None = None
    notes: list[str] = field(default_factory=list)
    store_messages: Diff = field(default_factory=Diff)
    store_threads: Diff = field(default_factory=Diff)
    convex_messages: Diff = field(default_factory=Diff)
    convex_threads: Diff = field(default_factory=Diff)
    supervisor_survived: bool = False
    exit_code: int | None = None
    status: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        diffs = (self.store_messages, self.store_threads, self.convex_messages, self.convex_threads)
        return self.supervisor_survived and self.exit_code == 0 and all(d.ok for d in diffs)

    def summary(self) -> str:
        return json.dumps(
            {
                "ok": self.ok,
                "options": self.options,
                "files": dict(self.files),
                "megabytes_written": round(self.bytes_written / 1e6, 1),
                "kills": dict(self.kills),
                "convex_outage_s": self.outage,
                "supervisor_survived": self.supervisor_survived,
                "exit_code": self.exit_code,
                "store": {"messages": self.store_messages.summary(), "threads": self.store_threads.summary()},
                "convex": {
                    "messages": self.convex_messages.summary(),
                    "threads": self.convex_threads.summary(),
                },
                "actors": [
                    {k: a.get(k) for k in ("name", "state", "restarts", "last_error")} for a in self.status
                ],
                "notes": self.notes,
            },
            indent=2,
            default=str,
        )


def plan(opts: SoakOptions, codex: Path, claude: Path, rng: random.Random) -> list[Session]:
    """Every session of the soak, with its start time. Those starting at 0 are written before the
    supervisor starts (a backfill): a quarter of all, and half of the heavy ones (a backfill merges
    batches, which is how heavy rows once made one frame too large for the bus)."""
    n_codex = opts.codex_sessions if opts.codex_sessions is not None else int(opts.seconds)
    n_claude = opts.claude_sessions if opts.claude_sessions is not None else int(opts.seconds // 3)
    out = [codex_session(codex, rng) for _ in range(n_codex)]
    out += [claude_session(claude, rng) for _ in range(n_claude)]
    out += [heavy_session(codex, rng) for _ in range(opts.heavy_sessions)]
    if opts.huge_line:
        out.append(huge_line_session(codex, rng))
    rng.shuffle(out)
    heavy = 0
    for i, s in enumerate(out):
        early = (s.kind == "heavy" and heavy % 2 == 0) or (s.kind != "heavy" and i % 4 == 0)
        heavy += s.kind == "heavy"
        s.start_at = 0.0 if early else rng.uniform(0.1, 0.8 * opts.seconds)
    return out


def run_soak(opts: SoakOptions, workdir: Path) -> SoakReport:
    """Run the soak in `workdir` (see the module docstring); never raises for a finding."""
    rng = random.Random(opts.seed)
    report = SoakReport(options=dict(vars(opts)))
    codex, claude = workdir / "codex-home" / "sessions", workdir / "claude" / "projects"
    sessions = plan(opts, codex, claude, rng)
    before = [s for s in sessions if s.start_at == 0.0]
    ChunkWriter(before, rng).run(time.monotonic(), time.monotonic())
    for s in sessions:
        report.files[s.kind] += 1
    report.bytes_written = sum(len(s.data) for s in sessions)
    make_hostile(codex / "2026" / "11" / "09", opts.fifo, opts.symlink_loop)
    make_hostile(claude / "-home-dev-hostile", opts.fifo, opts.symlink_loop)

    emulator = ConvexEmulator(admin_key=ADMIN_KEY, state=workdir / "convex-state.json").start()
    env = {
        "OPENAGENTS_CONVEX_URL": emulator.url,
        "OPENAGENTS_CONVEX_ADMIN_KEY": ADMIN_KEY,
        "OPENAGENTS_CONVEX_DEPLOY": "0",
        "CLAUDE_CONFIG_DIR": str(workdir / "claude"),
    }
    sup = Supervisor(workdir, env=env)
    try:
        try:
            sup.start(timeout=60)
        except RuntimeError as exc:
            report.notes.append(f"not every actor was running 60 s after the start: {str(exc)[:300]}")
        _chaos(opts, sup, emulator, [s for s in sessions if s.start_at > 0.0], rng, report, workdir)
        files = [s.path for s in sessions]
        _settle_and_compare(opts, sup, emulator, files, report)
    finally:
        report.supervisor_survived = sup.proc is not None and sup.proc.poll() is None
        report.exit_code = sup.stop() if sup.proc is not None else None
        emulator.stop()
    return report


def _chaos(
    opts: SoakOptions,
    sup: Supervisor,
    emulator: ConvexEmulator,
    live: list[Session],
    rng: random.Random,
    report: SoakReport,
    workdir: Path,
) -> None:
    started = time.monotonic()
    end = started + opts.seconds
    stop = threading.Event()
    writer = ChunkWriter(live, random.Random(rng.random()))
    errors: list[BaseException] = []

    def write() -> None:
        try:
            writer.run(started, started + 0.85 * opts.seconds)
        except BaseException as exc:  # reported, never silent
            errors.append(exc)

    def kill() -> None:
        krng = random.Random(rng.random())
        while not stop.wait(opts.kill_interval):
            try:
                actors = control.request_status(sup.home / "run").actors
            except (ConnectionError, OSError) as exc:
                report.notes.append(f"status failed during the chaos: {exc}")
                continue
            victims = [a for a in actors if a.pid]
            if victims:
                a = krng.choice(victims)
                try:
                    os.kill(a.pid or 0, signal.SIGKILL)
                    report.kills[a.name] += 1
                except ProcessLookupError:
                    pass

    threads = [threading.Thread(target=write, name="soak-writer")]
    if opts.kill_interval > 0:
        threads.append(threading.Thread(target=kill, name="soak-killer"))
    for t in threads:
        t.start()
    try:
        if opts.outage:
            _sleep_until(started + opts.seconds / 3)
            down_at = time.monotonic() - started
            emulator.kill()
            _sleep_until(time.monotonic() + max(5.0, opts.seconds / 6))
            emulator.start()  # same port and state file
            report.outage = (round(down_at, 1), round(time.monotonic() - started, 1))
        _sleep_until(started + opts.seconds / 2)
        make_hostile(workdir / "codex-home" / "sessions" / "2026" / "11" / "08", opts.fifo, opts.symlink_loop)
        make_hostile(workdir / "claude" / "projects" / "-home-dev-hostile-2", opts.fifo, opts.symlink_loop)
        _sleep_until(end)
    finally:
        stop.set()
        for t in threads:
            t.join()
    if errors:
        raise RuntimeError(f"the soak's session writer failed: {errors[0]!r}") from errors[0]


def _sleep_until(when: float) -> None:
    time.sleep(max(0.0, when - time.monotonic()))


def _cli(sup: Supervisor, *args: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, "-m", "oa_actors", *args],
        env=sup.env,
        cwd=ROOT,
        capture_output=True,
        timeout=600,
        check=True,
    )
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def _stored_keys(sup: Supervisor) -> tuple[int, int]:
    try:
        with sup.store() as st:
            return st.count("messages"), st.count("threads")
    except Exception:
        return -1, -1


def _settle_and_compare(
    opts: SoakOptions, sup: Supervisor, emulator: ConvexEmulator, files: list[Path], report: SoakReport
) -> None:
    expected = _cli(sup, "parse", *[str(p) for p in files])
    want_m = {r["key"]: r for r in expected if r["table"] == "messages"}
    want_t = {r["threadId"]: r for r in expected if r["table"] == "threads"}
    deadline = time.monotonic() + opts.settle_timeout
    while True:  # quiescence: every actor running and the store as big as expected, twice in a row
        status = (sup.status() or {}).get("actors", [])
        settled = all(a["state"] == "running" for a in status) and _stored_keys(sup) == (
            len(want_m),
            len(want_t),
        )
        if settled:
            time.sleep(2.0)
            if _stored_keys(sup) == (len(want_m), len(want_t)):
                break
        if time.monotonic() > deadline:
            report.notes.append(f"the store did not settle within {opts.settle_timeout:.0f}s")
            break
        time.sleep(1.0)
    exported = _cli(sup, "export")
    report.store_messages = compare(want_m, [r for r in exported if r["table"] == "messages"], "key")
    report.store_threads = compare(want_t, [r for r in exported if r["table"] == "threads"], "threadId")

    def drained() -> bool:
        actors: list[dict[str, Any]] = (sup.status() or {}).get("actors", [])
        h: dict[str, Any] = next((a for a in actors if a["name"] == "convex_writer"), {})
        convex = (h.get("health") or {}).get("convex") or {}
        return bool(convex.get("connected")) and (convex.get("outbox") or {}).get("pending") == 0

    while not drained() and time.monotonic() < deadline + 120:
        time.sleep(1.0)
    got_t, got_m = asyncio.run(_convex_rows(emulator.url, list(want_t)))
    report.convex_threads = compare(want_t, got_t, "threadId", fields=THREAD_FIELDS)
    # What the drain sends: the stored row (no `table` field, which `parse` adds) fitted to Convex.
    convex_want = {
        k: {f: fit_document({n: r.get(n) for n in MESSAGE_FIELDS}).get(f) for f in MESSAGE_FIELDS}
        for k, r in want_m.items()
    }
    report.convex_messages = compare(convex_want, got_m, "key", fields=MESSAGE_FIELDS)
    report.status = (sup.status() or {}).get("actors", [])


async def _convex_rows(url: str, thread_ids: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every thread and message Convex holds for these threads (its HTTP API, paginated)."""
    threads: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    async with ConvexHttpClient(url, ADMIN_KEY, timeout=60) as client:
        for tid in thread_ids:
            t = await client.query("threads:byThreadId", {"threadId": tid})
            if t:
                threads.append(t)
            cursor = None
            while True:
                page = await client.query(
                    "messages:forThread",
                    {"threadId": tid, "paginationOpts": {"numItems": 50, "cursor": cursor}},
                )
                messages.extend(page["page"])
                if page["isDone"]:
                    break
                cursor = page["continueCursor"]
    return threads, messages


def _brief(value: Any) -> str:
    """A short description of a value that differs (its length and ends), for the report."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else f"{len(text)} chars: {text[:30]}...{text[-30:]}"


def compare(
    want: dict[str, dict[str, Any]],
    got: list[dict[str, Any]],
    key: str,
    fields: tuple[str, ...] | None = None,
) -> Diff:
    """Rows `got` against `want` (by `key`): lost, duplicated (repeated or unexpected), different."""
    d = Diff(expected=len(want), actual=len(got))
    seen: set[str] = set()
    for row in got:
        k = row.get(key)
        if not isinstance(k, str) or k not in want or k in seen:
            d.duplicated.append(f"{key}={k}")
            continue
        seen.add(k)
        exp = want[k]
        names = fields or tuple(sorted(set(exp) | set(row)))
        bad = [f for f in names if row.get(f) != exp.get(f)]
        if bad:
            d.different.append(
                f"{key}={k}: " + ", ".join(f"{f} ({_brief(row.get(f))} != {_brief(exp.get(f))})" for f in bad)
            )
    d.lost = [f"{key}={k}" for k in want if k not in seen]
    return d
