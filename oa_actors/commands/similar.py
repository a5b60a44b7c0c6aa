"""`oa-supervisor similar THREAD_ID`: threads like this one, by meaning (docs/semantic.md).

Reads the store read-only, like `search` (works with or without a running supervisor). A thread's
vector is the mean of its embedded messages' vectors; neighbours are ranked by cosine. Exit status:
0 when similar threads were found, 1 when none, 2 for an error (unknown or ambiguous thread, a
thread not embedded yet, no model, no store).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from typing import Any

from oa_actors.commands import semantic_cli
from oa_actors.config import Config
from oa_actors.store import Store
from oa_actors.store.search import SearchError

EXIT_MATCH, EXIT_NO_MATCH, EXIT_ERROR = 0, 1, 2


def register(sub: Any) -> None:
    p = sub.add_parser("similar", help="threads like this one, by meaning (needs the semantic extra)")
    p.add_argument("thread", help="a thread id or a unique prefix of it")
    p.add_argument("--json", action="store_true", help="one JSON object per thread (JSON lines), best first")
    p.add_argument("--limit", type=int, default=10, help="threads to show (1-100)")
    p.set_defaults(handler=run_similar)


def _error(msg: str) -> int:
    print(f"oa-supervisor similar: {msg}", file=sys.stderr)
    return EXIT_ERROR


def run_similar(args: argparse.Namespace) -> int:
    cfg = Config.from_env()
    if not 1 <= args.limit <= 100:
        return _error("--limit must be between 1 and 100")
    if not cfg.store_path.exists():
        return _error(f"no store at {cfg.store_path} (nothing imported yet: run `oa-supervisor backfill`)")
    try:
        with Store.open(cfg.store_path, readonly=True) as store:
            found = semantic_cli.similar(cfg, store, args.thread, args.limit)
    except SearchError as exc:
        return _error(exc.message)
    except semantic_cli.Refused as exc:
        return _error(str(exc))
    except sqlite3.Error as exc:
        return _error(f"cannot read the store {cfg.store_path}: {exc}")
    out = sys.stdout
    for t in found.threads:
        if args.json:
            out.write(json.dumps(t, ensure_ascii=False, separators=(",", ":")) + "\n")
        else:
            when = time.strftime("%Y-%m-%d", time.localtime(t["updatedAt"] / 1000)) if t["updatedAt"] else "?"
            title = " ".join(str(t["title"] or "(untitled)").split())[:80]
            out.write(f"{t['score']:.3f}  {title}  {t['source'] or '?'} {t['threadId'][:13]}  {when}\n")
    out.flush()
    if not found.threads:
        print(
            f"oa-supervisor similar: no other embedded thread to compare with {found.thread_id}",
            file=sys.stderr,
        )
        return EXIT_NO_MATCH
    return EXIT_MATCH
