"""`oa-supervisor parse PATH...`: print the rows of session logs as JSON lines.

One row per line with a `table` field (`threads` or `messages`) and the fields of docs/rows.md.
A file's messages are printed in `seq` order (the conversation's order, as `export` prints them),
then its thread, once, in its final state. This output is a
stable interface for users and other tools. Error counts go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from oa_actors import jsonl
from oa_actors.jsonl.files import iter_jsonl_files, parse_file


def register(sub: Any) -> None:
    p = sub.add_parser(
        "parse", help="print the rows of session logs (rollouts, exec streams, folders) as JSON lines"
    )
    p.add_argument("paths", nargs="+", help="JSONL files or folders of them")
    p.add_argument(
        "--max-line-bytes",
        type=int,
        default=jsonl.DEFAULT_MAX_LINE,
        help="longer lines are skipped and counted",
    )
    p.set_defaults(handler=run)


def rows_of(
    path: Any, max_line_bytes: int = jsonl.DEFAULT_MAX_LINE
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """All rows of one finished file (messages in seq order, then its thread) and its error counts."""
    tail, batches = parse_file(path, jsonl.JsonlTail(str(path), max_line_bytes=max_line_bytes))
    rows: list[dict[str, Any]] = []
    thread = None
    for b in batches:
        rows.extend({"table": "messages", **m} for m in b.messages)
        if b.threads:
            thread = b.threads[-1]
    # Rows come in file order; a Claude Code record written late sorts before rows read earlier.
    # Equal seqs (a token usage row beside a placed row, docs/rows.md) sort by key, as `export` does.
    rows.sort(key=lambda r: (r["seq"], r["key"]))
    if thread is not None:
        rows.append({"table": "threads", **thread})
    return rows, tail.errors


def run(args: argparse.Namespace) -> int:
    out = sys.stdout
    totals = dict.fromkeys(jsonl.ERROR_KINDS, 0)
    status = 0
    missing = [p for p in args.paths if not os.path.exists(p)]
    if missing:
        print(f"oa-supervisor parse: no such file or folder: {missing[0]}", file=sys.stderr)
        return 2
    files = messages = 0
    for path in iter_jsonl_files(args.paths):
        try:
            rows, errors = rows_of(path, args.max_line_bytes)
        except OSError as exc:
            print(f"oa-supervisor parse: {path}: {exc.strerror or exc}", file=sys.stderr)
            status = 1
            continue
        files += 1
        messages += sum(1 for r in rows if r["table"] == "messages")
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
        for k, v in errors.items():
            totals[k] += v
    if any(totals.values()):
        summary = ", ".join(f"{k}={v}" for k, v in totals.items() if v)
        print(f"oa-supervisor parse: skipped lines: {summary}", file=sys.stderr)
    out.flush()
    if files == 0:
        print(f"oa-supervisor parse: no .jsonl files in {' '.join(args.paths)}", file=sys.stderr)
    elif messages == 0:
        print(f"oa-supervisor parse: {files} files read, no messages in them", file=sys.stderr)
    return status
