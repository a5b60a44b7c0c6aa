"""The price table of `oa-supervisor usage`: `prices.json` in this package, overridden per model by
the `[prices]` table of config.toml (`Config.price_overrides`).

Prices are USD per million tokens and dated (an entry applies from its `since` day, UTC, until the
model's next entry). A model is looked up by its exact name, then without a trailing `[...]` tag
(`claude-opus-4-8[1m]`) or date (`claude-sonnet-4-20250514`). A model with no input and output
price is unpriced: its tokens are counted and shown, never given a guessed cost.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from oa_actors.config_table import PRICE_KEYS

_SUFFIX = re.compile(r"(\[[^\]]*\]|-\d{8}|-\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Price:
    """USD per million tokens; `cached_input` and `cache_write` default to `input`."""

    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None

    def cost(self, counts: Mapping[str, int]) -> float:
        """The cost in USD of one usage row's counts (docs/rows.md): `inputTokens` includes the
        cached (read) and cache-write tokens, `outputTokens` includes reasoning."""
        cached = counts.get("cachedInputTokens") or 0
        write = counts.get("cacheWriteInputTokens") or 0
        plain = max((counts.get("inputTokens") or 0) - cached - write, 0)
        cached_price = self.input if self.cached_input is None else self.cached_input
        write_price = self.input if self.cache_write is None else self.cache_write
        usd = plain * self.input + cached * cached_price + write * write_price
        usd += (counts.get("outputTokens") or 0) * self.output
        return usd / 1e6


def packaged_table() -> dict[str, list[dict[str, Any]]]:
    """The `models` of the packaged prices.json: model -> entries sorted by `since`."""
    text = resources.files("oa_actors.usage").joinpath("prices.json").read_text(encoding="utf-8")
    models: dict[str, list[dict[str, Any]]] = json.loads(text)["models"]
    return {m: sorted(entries, key=lambda e: str(e["since"])) for m, entries in models.items()}


def _day(ts_ms: int | None) -> str | None:
    return None if ts_ms is None else time.strftime("%Y-%m-%d", time.gmtime(ts_ms / 1000))


class PriceTable:
    """Resolves a model and a time to a `Price`, or None (unpriced)."""

    def __init__(self, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.table = packaged_table()
        self.overrides = {m: dict(v) for m, v in (overrides or {}).items()}

    def _name(self, model: str) -> str | None:
        for name in (model, _SUFFIX.sub("", model)):
            if name in self.table or name in self.overrides:
                return name
        return None

    def price(self, model: str | None, ts_ms: int | None) -> Price | None:
        """The price of `model` on the day of `ts_ms` (no time: its newest entry)."""
        if not model:
            return None
        name = self._name(model)
        if name is None:
            return None
        entries = self.table.get(name, [])
        day = _day(ts_ms)
        entry: dict[str, Any] = {}
        if entries:
            # Before the first entry (a clock off, or a preview): the first entry's prices.
            entry = entries[0]
            for e in entries:
                if day is None or str(e["since"]) <= day:
                    entry = e
        merged: dict[str, Any] = {k: entry.get(k) for k in PRICE_KEYS} | {
            k: v for k, v in self.overrides.get(name, {}).items() if k in PRICE_KEYS
        }
        if merged.get("input") is None or merged.get("output") is None:
            return None
        return Price(
            input=float(merged["input"]),
            output=float(merged["output"]),
            cached_input=None if merged.get("cached_input") is None else float(merged["cached_input"]),
            cache_write=None if merged.get("cache_write") is None else float(merged["cache_write"]),
        )


def typescript_module() -> str:
    """`convex/usagePrices.ts`: the packaged table for the Convex `usage:summary` query (generated:
    `python -m oa_actors.usage.prices > convex/usagePrices.ts`; a test keeps it in step)."""
    body = json.dumps(packaged_table(), indent=2, sort_keys=True)
    return (
        "/**\n * GENERATED from oa_actors/usage/prices.json by `python -m oa_actors.usage.prices`:\n"
        " * do not edit. USD per million tokens, per model, dated (docs/usage.md).\n */\n"
        "export type PriceEntry = {\n  since: string;\n  input?: number;\n  cached_input?: number;\n"
        "  cache_write?: number;\n  output?: number;\n};\n\n"
        f"export const PRICES: Record<string, PriceEntry[]> = {body};\n"
    )


if __name__ == "__main__":
    print(typescript_module(), end="")
