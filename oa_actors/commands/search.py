"""`oa-supervisor search QUERY`: full-text search over every stored session (docs/search.md).

It reads the store read-only, so it works with or without a running supervisor (SQLite's WAL lets
it read while the writer writes) and sees every row committed before it started, e.g. right after
`backfill` returns. Exit status, like grep: 0 when something matched, 1 when nothing did, 2 for an
error (bad query or filter, no store, no index yet, a search mode that is not available).

`--mode semantic` searches by meaning (the embeddings the `indexer` made, docs/semantic.md), `hybrid`
fuses keyword and semantic hits; hybrid is the default when the store has embeddings and the model
is installed, keyword otherwise. The output is the same in every mode.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from typing import Any, TextIO

from oa_actors.commands import semantic_cli
from oa_actors.config import Config
from oa_actors.store import Store, fs_tables
from oa_actors.store.search import DEFAULT_LIMIT, MAX_LIMIT, SearchError, SearchHit, SearchQuery, search
from oa_actors.store.search_text import clean_query
from oa_actors.timespec import TimeSpecError, parse_time

EXIT_MATCH, EXIT_NO_MATCH, EXIT_ERROR = 0, 1, 2
MODES = ("keyword", "semantic", "hybrid")
# Control characters of a snippet (command output holds terminal escapes) are shown as their
# Unicode pictures, one character for one, so the highlight offsets still hold.
_CONTROL_PICTURES = (
    {c: 0x2400 + c for c in range(32)} | {0x7F: 0x2421} | {c: 0xFFFD for c in range(0x80, 0xA0)}
)
_MARK_ON, _MARK_OFF = "\x1b[1;33m", "\x1b[0m"
_DIM = "\x1b[2m"


def register(sub: Any) -> None:
    p = sub.add_parser("search", help="full-text search over every stored session (keyword, BM25)")
    p.add_argument(
        "query",
        nargs="+",
        help='words (all must match), "a phrase", prefix*; other characters are plain text',
    )
    p.add_argument("--json", action="store_true", help="one JSON object per hit (JSON lines), best first")
    p.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help=f"hits per page (1-{MAX_LIMIT})")
    p.add_argument("--cursor", help="the next page: the cursor a previous search printed")
    p.add_argument("--source", choices=["codex", "claude", "app"], help="only threads of this agent")
    p.add_argument("--thread", help="only this thread (its id or a unique prefix)")
    p.add_argument(
        "--project", help="only threads working in this project (its id or name) or directory (or below it)"
    )
    p.add_argument(
        "--role", action="append", choices=["user", "assistant", "system", "tool"], help="repeatable"
    )
    p.add_argument(
        "--kind", action="append", help="message kind (message, reason, cmd, file, ...); repeatable"
    )
    p.add_argument("--since", help="from this time: ISO 8601 (no zone = local), or a duration like 1h, 7d")
    p.add_argument("--until", help="up to this time (same forms as --since)")
    p.add_argument(
        "--mode",
        choices=MODES,
        help="keyword, semantic (by meaning) or hybrid (both fused); default hybrid when the store has "
        "embeddings (docs/semantic.md), else keyword",
    )
    p.add_argument("--color", choices=["auto", "always", "never"], default="auto", help="highlight matches")
    p.set_defaults(handler=run_search)


def _error(msg: str) -> int:
    print(f"oa-supervisor search: {msg}", file=sys.stderr)
    return EXIT_ERROR


def _when(ts: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts / 1000)) if ts is not None else "(no time)"


def render_snippet(hit: SearchHit, colour: bool) -> str:
    """The snippet with its matches marked: bold yellow on a terminal, `[...]` otherwise."""
    text = hit.snippet.translate(_CONTROL_PICTURES)
    on, off = (_MARK_ON, _MARK_OFF) if colour else ("[", "]")
    out, pos = [], 0
    for start, end in hit.highlights:
        out += [text[pos:start], on, text[start:end], off]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def print_hit(hit: SearchHit, out: TextIO, colour: bool) -> None:
    """Two lines: title, when, role/kind, agent and thread; then the highlighted snippet."""
    title = (hit.title or "(untitled)").translate(_CONTROL_PICTURES)
    dim, reset = (_DIM, _MARK_OFF) if colour else ("", "")
    meta = f"{_when(hit.ts)}  {hit.role}/{hit.kind}  {hit.source or '?'} {hit.thread_id[:13]}"
    out.write(f"{title}  {dim}{meta}{reset}\n    {render_snippet(hit, colour)}\n")


def project_path(store: Store, value: str) -> str:
    """A project's working directory from its id or name (~/.openagents/projects), else `value` as
    a path (`~` expanded, relative to the current directory)."""
    for p in fs_tables.projects(store):
        if value in (p.get("id"), p.get("name")) and p.get("workingDir"):
            return str(p["workingDir"])
    return os.path.abspath(os.path.expanduser(value))


def _query(args: argparse.Namespace, store: Store) -> SearchQuery:
    try:
        since = None if args.since is None else parse_time(args.since)
        until = None if args.until is None else parse_time(args.until)
    except TimeSpecError as exc:
        raise SearchError("bad_time", str(exc)) from None
    return SearchQuery(
        text=clean_query(" ".join(args.query)),
        source=args.source,
        thread=args.thread,
        project=None if args.project is None else project_path(store, args.project),
        roles=tuple(args.role or ()),
        kinds=tuple(args.kind or ()),
        since_ms=since,
        until_ms=until,
        limit=args.limit,
        cursor=args.cursor,
    )


def run_search(args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= MAX_LIMIT:
        return _error(f"--limit must be between 1 and {MAX_LIMIT}")
    cfg = Config.from_env()
    if not cfg.store_path.exists():
        return _error(f"no store at {cfg.store_path} (nothing imported yet: run `oa-supervisor backfill`)")
    try:
        store = Store.open(cfg.store_path, readonly=True)
        try:
            query = _query(args, store)
            mode = args.mode or semantic_cli.default_mode(cfg, store)
            if mode == "keyword":
                page = search(store, query)
            else:
                page = semantic_cli.semantic_page(cfg, store, query, mode)
        finally:
            store.close()
    except SearchError as exc:
        return _error(exc.message)
    except semantic_cli.Refused as exc:
        return _error(str(exc))
    except sqlite3.Error as exc:  # unreadable or corrupt file: say which, not a traceback
        return _error(f"cannot read the store {cfg.store_path}: {exc}")
    out = sys.stdout
    colour = args.color == "always" or (args.color == "auto" and out.isatty())
    for hit in page.hits:
        if args.json:
            out.write(json.dumps(hit.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n")
        else:
            print_hit(hit, out, colour)
    out.flush()
    if not page.hits:
        print(f"oa-supervisor search: no matches for {query.text!r}", file=sys.stderr)
        return EXIT_NO_MATCH
    if page.next_cursor is not None:
        print(f"more hits: add --cursor {page.next_cursor}", file=sys.stderr)
    return EXIT_MATCH
