"""The usage summary: tokens and estimated cost over the store's `system/usage` rows.

Each usage row holds the tokens of one model response (docs/rows.md, "Token usage"), so a sum over
rows counts every token once, with two rules for rows that describe the same responses twice:
- a thread mirrored both from its session file (rows with a timestamp: Codex rollouts, Claude Code
  session files) and from a captured output stream (`codex exec --json`, `claude -p
  --output-format stream-json`: rows without a timestamp) keeps the session file's rows only;
- a Claude Code response (`messageId`) is counted once in the whole store: a session forked or
  resumed into a new file copies its parent's records, and the copy belongs to the thread that
  has it first (earliest time, then the thread created first).
A row without a model takes its thread's model. `--since` filters after these rules.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from oa_actors.store import Store
from oa_actors.usage.prices import PriceTable

By = Literal["day", "model", "source", "project", "thread"]
BY_CHOICES: tuple[str, ...] = ("day", "model", "source", "project", "thread")
COUNTERS = (
    "inputTokens",
    "cachedInputTokens",
    "cacheWriteInputTokens",
    "outputTokens",
    "reasoningOutputTokens",
    "totalTokens",
)


@dataclass
class UsageRow:
    """One counted response."""

    thread_id: str
    ts: int | None
    when: int | None  # ts, else the thread's updatedAt (for --since and --by day)
    model: str | None
    source: str | None
    cwd: str | None
    title: str | None
    counts: dict[str, int]


@dataclass
class Totals:
    """Sums of a set of rows; `cost_usd` covers the priced rows only."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    cost_usd: float = 0.0
    unpriced_tokens: int = 0
    responses: int = 0
    threads: set[str] = field(default_factory=set)
    unpriced_models: set[str] = field(default_factory=set)

    def add(self, row: UsageRow, cost: float | None) -> None:
        for k in COUNTERS:
            self.counts[k] += row.counts.get(k) or 0
        self.responses += 1
        self.threads.add(row.thread_id)
        if cost is None:
            self.unpriced_tokens += row.counts.get("totalTokens") or 0
            self.unpriced_models.add(row.model or "(unknown)")
        else:
            self.cost_usd += cost

    def to_json(self) -> dict[str, Any]:
        priced = self.responses > 0 and self.unpriced_tokens < self.counts["totalTokens"]
        return {
            **self.counts,
            "costUsd": round(self.cost_usd, 6) if priced or self.responses == 0 else None,
            "unpricedTokens": self.unpriced_tokens,
            "unpricedModels": sorted(self.unpriced_models),
            "responses": self.responses,
            "threads": len(self.threads),
        }


def _int(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def load_rows(store: Store) -> list[UsageRow]:
    """Every usage row of the store once (the module docstring's rules), oldest first."""
    q = (
        "SELECT m.thread_id, m.ts, m.data, t.source, t.cwd, t.title, t.model, t.updated_at, t.created_at"
        " FROM messages m LEFT JOIN threads t ON t.thread_id = m.thread_id"
        " WHERE m.kind = 'usage' AND m.role = 'system'"
    )
    found = []
    for tid, ts, data, source, cwd, title, model, updated, created in store.conn.execute(q):
        try:
            d = json.loads(data) if data else {}
        except ValueError:
            continue
        thread = {"source": source, "cwd": cwd, "title": title, "model": model, "updatedAt": updated,
                  "createdAt": created}  # fmt: skip
        found.append((tid, ts, d, thread))
    return counted_rows(found)


def rows_of(threads: Iterable[dict[str, Any]], messages: Iterable[dict[str, Any]]) -> list[UsageRow]:
    """`load_rows` for rows as `parse` prints them (thread rows and message rows)."""
    by_id = {t["threadId"]: t for t in threads}
    found = [
        (m["threadId"], m["ts"], m["data"] or {}, by_id.get(m["threadId"], {}))
        for m in messages
        if m["kind"] == "usage" and m["role"] == "system"
    ]
    return counted_rows(found)


def counted_rows(found: Iterable[tuple[str, int | None, Any, dict[str, Any]]]) -> list[UsageRow]:
    """(threadId, ts, data, thread row) of each usage row -> the rows counted (module docstring)."""
    raw = []
    for tid, ts, d, t in found:
        if not isinstance(d, dict):
            continue
        counts = {k: _int(d.get(k)) for k in COUNTERS}
        when = ts if ts is not None else t.get("updatedAt")
        row = UsageRow(tid, ts, when, d.get("model") or t.get("model"), t.get("source"), t.get("cwd"),
                       t.get("title"), counts)  # fmt: skip
        raw.append((row, d.get("messageId"), t.get("createdAt")))
    with_file = {r.thread_id for r, _, _ in raw if r.ts is not None}
    raw.sort(key=lambda x: (x[0].ts is None, x[0].ts or 0, x[2] or 0, x[0].thread_id))
    seen: set[str] = set()
    out = []
    for row, mid, _ in raw:
        if row.ts is None and row.thread_id in with_file:
            continue  # a captured stream of a thread whose session file is stored
        if isinstance(mid, str):
            if mid in seen:
                continue  # a copied Claude Code response (fork or resume)
            seen.add(mid)
        out.append(row)
    return out


def _local_day(ms: int | None) -> str:
    return "(no time)" if ms is None else time.strftime("%Y-%m-%d", time.localtime(ms / 1000))


def _key(row: UsageRow, by: str) -> tuple[str, str | None]:
    """(group key, label) of a row."""
    if by == "day":
        return _local_day(row.when), None
    if by == "model":
        return row.model or "(unknown)", None
    if by == "source":
        return row.source or "(unknown)", None
    if by == "project":
        return row.cwd or "(no folder)", None
    return row.thread_id, row.title


def summarize(
    rows: Iterable[UsageRow], prices: PriceTable, by: str | None = None, since_ms: int | None = None
) -> dict[str, Any]:
    """`{total, groups, by, since}`: `total` over every row at or after `since_ms`, `groups` one
    object per `by` key with `key` (and `label`: a thread's title) and the same sums; days in
    order, other groupings by tokens, most first."""
    total = Totals()
    groups: dict[str, Totals] = {}
    labels: dict[str, str | None] = {}
    for row in rows:
        if since_ms is not None and (row.when is None or row.when < since_ms):
            continue
        price = prices.price(row.model, row.ts)
        cost = None if price is None else price.cost(row.counts)
        total.add(row, cost)
        if by is not None:
            key, label = _key(row, by)
            groups.setdefault(key, Totals()).add(row, cost)
            labels[key] = label
    keys = (
        sorted(groups) if by == "day" else sorted(groups, key=lambda k: (-groups[k].counts["totalTokens"], k))
    )
    return {
        "total": total.to_json(),
        "groups": [{"key": k, "label": labels[k], **groups[k].to_json()} for k in keys],
        "by": by,
        "since": since_ms,
    }


def usage_summary(
    store: Store, prices: PriceTable, by: str | None = None, since_ms: int | None = None
) -> dict[str, Any]:
    """The summary of a store (what `oa-supervisor usage --json` prints and `usage.summary` returns)."""
    return summarize(load_rows(store), prices, by, since_ms)
