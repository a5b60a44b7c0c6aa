"""`oa-supervisor usage`: tokens and estimated cost of every stored session (docs/usage.md).

Reads the store read-only (works with or without a running supervisor). Costs come from the price
table in the package (oa_actors/usage/prices.json) and the `[prices]` table of config.toml; models
with no price are counted and shown as unpriced.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from typing import Any

from oa_actors.config import Config
from oa_actors.store import Store
from oa_actors.timespec import TimeSpecError, parse_time
from oa_actors.usage.prices import PriceTable
from oa_actors.usage.summary import BY_CHOICES, usage_summary

_COLUMNS = (
    ("INPUT", "inputTokens"),
    ("CACHED", "cachedInputTokens"),
    ("OUTPUT", "outputTokens"),
    ("REASONING", "reasoningOutputTokens"),
    ("TOTAL", "totalTokens"),
)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "usage",
        help="tokens used by your agents and what they cost (estimated), in total or by day/model/...",
        description="Tokens used by your agents (input, cached input, output, reasoning, total) and an "
        "estimated cost from the price table in the package (override prices in the [prices] table of "
        "config.toml). Every token is counted once: forked and resumed sessions do not count their "
        "parent's tokens again. Models without a price are shown as unpriced.",
    )
    p.add_argument(
        "--by", choices=BY_CHOICES, help="one line per day, model, agent (source), project folder or thread"
    )
    p.add_argument(
        "--since", help="from this time: ISO 8601 (no zone = local time), or a duration like 1h, 7d"
    )
    p.add_argument("--json", action="store_true", help='one JSON object: {"total": {...}, "groups": [...]}')
    p.set_defaults(handler=run_usage)


def _error(msg: str) -> int:
    print(f"oa-supervisor usage: {msg}", file=sys.stderr)
    return 2


def _cost(g: dict[str, Any]) -> str:
    if g["costUsd"] is None:
        return "unpriced"
    text = f"${g['costUsd']:,.2f}"
    return text + " + unpriced" if g["unpricedTokens"] else text


def render(summary: dict[str, Any]) -> str:
    """The table for people: one line per group, then the total."""
    by = summary["by"]
    head = (by or "").upper()
    lines = []
    rows = [
        (g["key"] if g["label"] is None else f"{g['label'][:40]} ({g['key'][:13]})", g)
        for g in summary["groups"]
    ]
    rows.append(("TOTAL", summary["total"]))
    width = max([len(head)] + [len(name) for name, _ in rows])
    lines.append(f"{head:<{width}}  " + "  ".join(f"{c:>13}" for c, _ in _COLUMNS) + f"  {'COST':>16}")
    for name, g in rows:
        nums = "  ".join(f"{(g[k] or 0):>13,}" for _, k in _COLUMNS)
        lines.append(f"{name:<{width}}  {nums}  {_cost(g):>16}")
    t = summary["total"]
    lines.append(f"{t['responses']:,} model responses in {t['threads']:,} threads")
    if t["unpricedModels"]:
        lines.append(
            f"unpriced ({t['unpricedTokens']:,} tokens): {', '.join(t['unpricedModels'])}; "
            "add their prices to [prices] in config.toml"
        )
    return "\n".join(lines)


def run_usage(args: argparse.Namespace) -> int:
    cfg = Config.load()
    try:
        since = None if args.since is None else parse_time(args.since)
    except TimeSpecError as exc:
        return _error(f"--since {exc}")
    if not cfg.store_path.exists():
        return _error(f"no store at {cfg.store_path} (nothing imported yet: run `oa-supervisor backfill`)")
    try:
        with Store.open(cfg.store_path, readonly=True) as store:
            summary = usage_summary(store, PriceTable(cfg.price_overrides), args.by, since)
    except sqlite3.Error as exc:
        return _error(f"cannot read the store {cfg.store_path}: {exc}")
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(render(summary))
    if summary["total"]["responses"] == 0:
        when = (
            "" if since is None else " since " + time.strftime("%Y-%m-%d %H:%M", time.localtime(since / 1000))
        )
        print(f"oa-supervisor usage: no token usage recorded{when}", file=sys.stderr)
    return 0
