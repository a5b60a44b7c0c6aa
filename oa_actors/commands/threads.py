"""`oa-supervisor threads` and `oa-supervisor show THREAD`: read your history without `jq`.

Both read the store read-only, so they work with or without a running supervisor. A THREAD is its
id or any unique prefix of 6 or more characters; an ambiguous prefix lists the candidates (exit 2).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from typing import Any

from oa_actors.commands.search import project_path
from oa_actors.commands.transcript import Style, render_row
from oa_actors.config import Config
from oa_actors.machine import machine
from oa_actors.store import Store
from oa_actors.timespec import TimeSpecError, parse_time

MIN_PREFIX = 6


class CommandError(Exception):
    """Bad input or an unusable store: one line, exit 2."""


def register(sub: Any) -> None:
    t = sub.add_parser(
        "threads",
        help="list your agent sessions, newest first",
        description="List the sessions (threads) in the store, newest first: when, agent, messages, "
        "title and folder. Use `oa-supervisor show ID` to read one (any 6+ character prefix of its id).",
    )
    t.add_argument("--json", action="store_true", help="one JSON object per thread (JSON lines)")
    t.add_argument("--limit", type=int, default=50, help="at most this many threads (default 50)")
    t.add_argument("--source", choices=["codex", "claude", "app"], help="only sessions of this agent")
    t.add_argument("--project", help="only sessions in this project (its id or name) or folder (or below it)")
    t.add_argument("--since", help="active since: ISO 8601 (no zone = local time), or a duration like 1h, 7d")
    t.set_defaults(handler=run_threads)
    s = sub.add_parser(
        "show",
        help="print one session as a readable transcript",
        description="Print one session: prompts, replies, reasoning (folded), commands with their exit "
        "code and output, file changes, todo lists, MCP calls and errors.",
    )
    s.add_argument("thread", metavar="THREAD", help="the thread id, or a unique prefix of 6+ characters")
    s.add_argument("--json", action="store_true", help="the thread's rows as JSON lines (as `export`)")
    s.add_argument("--full", action="store_true", help="do not fold reasoning or trim command output")
    s.add_argument(
        "--color", choices=["auto", "always", "never"], default="auto", help="colours (auto: on a terminal)"
    )
    s.set_defaults(handler=run_show)


def _open(cfg: Config) -> Store:
    if not cfg.store_path.exists():
        raise CommandError(
            f"no store at {cfg.store_path} (nothing imported yet: run `oa-supervisor backfill`)"
        )
    try:
        return Store.open(cfg.store_path, readonly=True)
    except sqlite3.Error as exc:
        raise CommandError(f"cannot read the store {cfg.store_path}: {exc}") from None


def _fail(command: str, exc: CommandError) -> int:
    print(f"oa-supervisor {command}: {exc}", file=sys.stderr)
    return 2


def list_threads(
    store: Store, limit: int, source: str | None, folder: str | None, since_ms: int | None
) -> list[dict[str, Any]]:
    """Threads newest first with `messageCount` (conversation rows: token usage rows not counted)."""
    where: list[str] = []
    args: list[Any] = []
    if source is not None:
        where.append("t.source = ?")
        args.append(source)
    if folder is not None:
        where.append("(t.cwd = ? OR substr(t.cwd, 1, ?) = ?)")
        prefix = folder.rstrip("/") + "/"
        args += [folder, len(prefix), prefix]
    if since_ms is not None:
        where.append("t.updated_at >= ?")
        args.append(since_ms)
    q = (
        "SELECT t.thread_id, t.title, t.source, t.cwd, t.model, t.created_at, t.updated_at,"
        " t.parent_thread_id,"
        " (SELECT COUNT(*) FROM messages m WHERE m.thread_id = t.thread_id AND m.kind != 'usage')"
        " FROM threads t" + (" WHERE " + " AND ".join(where) if where else "") +
        " ORDER BY COALESCE(t.updated_at, 0) DESC, t.thread_id LIMIT ?"
    )  # fmt: skip
    cols = (
        "threadId",
        "title",
        "source",
        "cwd",
        "model",
        "createdAt",
        "updatedAt",
        "parentThreadId",
        "messageCount",
    )
    return [dict(zip(cols, r, strict=True)) for r in store.conn.execute(q, [*args, limit])]


def resolve(store: Store, ref: str) -> str:
    """The thread id of `ref` (an id or a unique prefix of 6+ characters), else CommandError."""
    ref = ref.strip()
    if store.conn.execute("SELECT 1 FROM threads WHERE thread_id = ?", (ref,)).fetchone():
        return ref
    if len(ref) < MIN_PREFIX:
        raise CommandError(
            f"{ref!r} is too short: give the thread id or at least {MIN_PREFIX} of its characters"
        )
    found = [
        (r[0], r[1])
        for r in store.conn.execute(
            "SELECT thread_id, title FROM threads WHERE substr(thread_id, 1, ?) = ?"
            " ORDER BY COALESCE(updated_at, 0) DESC LIMIT 21",
            (len(ref), ref),
        )
    ]
    if not found:
        raise CommandError(f"no thread id starts with {ref!r} (`oa-supervisor threads` lists them)")
    if len(found) > 1:
        shown = found[:20]
        lines = "\n".join(f"  {tid}  {(title or '(untitled)')[:60]}" for tid, title in shown)
        more = "\n  ..." if len(found) > 20 else ""
        raise CommandError(f"{ref!r} is the start of several thread ids; add characters:\n{lines}{more}")
    return str(found[0][0])


def _when(ms: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000)) if ms is not None else "(no time)     "


def _home(path: str | None) -> str:
    if not path:
        return ""
    home = os.path.expanduser("~")
    return "~" + path[len(home) :] if path == home or path.startswith(home + "/") else path


def run_threads(args: argparse.Namespace) -> int:
    if args.limit < 1:
        return _fail("threads", CommandError("--limit must be 1 or more"))
    try:
        since = None if args.since is None else parse_time(args.since)
        cfg = Config.load()
        with _open(cfg) as store:
            folder = None if args.project is None else project_path(store, args.project)
            rows = list_threads(store, args.limit, args.source, folder, since)
            total = store.count("threads")
        # The local store holds this machine's sessions only; Convex rows carry the same stamp.
        here = machine(cfg)
    except TimeSpecError as exc:
        return _fail("threads", CommandError(f"--since {exc}"))
    except CommandError as exc:
        return _fail("threads", exc)
    out = sys.stdout
    for r in rows:
        if args.json:
            r = {**r, **here.stamp()}
            out.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
        else:
            title = (r["title"] or "(untitled)").replace("\n", " ")
            out.write(
                f"{r['threadId']}  {_when(r['updatedAt'])}  {r['source'] or '?':<6}"
                f" {r['messageCount']:>5} msgs"
                f"  {title[:60]:<60}  {_home(r['cwd'])}\n"
            )
    out.flush()
    if not rows:
        print(f"oa-supervisor threads: no threads match (the store has {total} threads)", file=sys.stderr)
    elif not args.json:
        messages = sum(r["messageCount"] for r in rows)
        print(
            f"{len(rows)} threads shown of {total}, {messages} messages in them (machine {here.name})",
            file=sys.stderr,
        )
    return 0


def run_show(args: argparse.Namespace) -> int:
    try:
        with _open(Config.load()) as store:
            tid = resolve(store, args.thread)
            thread = store.thread(tid) or {}
            rows = list(store.export(thread_id=tid))
    except CommandError as exc:
        return _fail("show", exc)
    messages = [r for r in rows if r["table"] == "messages"]
    out = sys.stdout
    if args.json:
        for r in rows:
            out.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
        out.flush()
        return 0
    colour = args.color == "always" or (args.color == "auto" and out.isatty())
    style = Style(colour)
    title = thread.get("title") or "(untitled)"
    out.write(style.bold(title) + "\n")
    meta = [
        tid,
        thread.get("source") or "?",
        thread.get("model") or "",
        _home(thread.get("cwd")),
        _when(thread.get("updatedAt")),
    ]
    out.write(style.dim("  ".join(m for m in meta if m)) + "\n")
    for m in messages:
        text = render_row(m, style, full=args.full)
        if text:
            out.write("\n" + text + "\n")
    out.flush()
    if not messages:
        print(f"oa-supervisor show: thread {tid} has no messages yet", file=sys.stderr)
    return 0
