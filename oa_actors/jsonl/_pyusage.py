"""Token usage rows (`system/usage`): one row per model response, with that response's own tokens.

The thread row's `usage` is the agent's cumulative count, which is not additive across threads: a
forked Codex session's first count already holds its parent's total, Codex repeats a count after a
compaction, and a forked Claude Code session copies its parent's records. These rows are: each
holds the tokens of one response (docs/rows.md, "Token usage"), so sums over rows count each token
once. The Rust port (`rust_ext/src/usage.rs`) does the same integer operations.

Codex (`token_count` in rollouts, `turn.completed` in exec streams) reports a running total; a row
holds the difference to the previous total of the same file:
- a total equal to the previous one is a repeat (Codex writes one after a compaction): no row;
- the first total of a file, a total after a process restart (`token_count` with `info: null`,
  or a new `thread.started`), or a total below the previous one (0.50 does not restore totals on
  resume) is a new start: the row holds `last_token_usage`, the response's own tokens (a fork's
  first total includes what it inherited), or the whole total when the format has no such field;
- otherwise it holds the growth of every counter.
Claude Code reports each response's usage; its records share `message.id` and each carries the
final usage, so a row is made for the first record of each id (as the thread's `usage` counts it).
"""

from __future__ import annotations

from typing import Any

from oa_actors.jsonl._pycommon import I64_MAX, I64_MIN, as_dict, as_int
from oa_actors.jsonl._pymapper import MapperState

# Codex counters, in the order of the snapshot's `usagePrev` list.
CODEX_FIELDS = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_input_tokens",
    "output_tokens",
    "reasoning_output_tokens",
)


def sat_add(a: int, b: int) -> int:
    """Saturating i64 addition (the Rust twin uses `i64::saturating_add`)."""
    return max(I64_MIN, min(I64_MAX, a + b))


def sat_sub(a: int, b: int) -> int:
    """Saturating i64 subtraction (`i64::saturating_sub`)."""
    return max(I64_MIN, min(I64_MAX, a - b))


def codex_counts(u: Any) -> list[int] | None:
    """`[input, cached, cacheWrite, output, reasoning, total]` of a Codex usage object (missing
    counters are 0; a missing total is input + output), or None if it is not a non-empty object."""
    d = as_dict(u)
    if not d:
        return None
    vals = [as_int(d.get(f)) or 0 for f in CODEX_FIELDS]
    total = as_int(d.get("total_tokens"))
    vals.append(sat_add(vals[0], vals[3]) if total is None else total)
    return vals


def usage_data(
    model: Any, counts: list[int], reasoning_known: bool, message_id: str | None
) -> dict[str, Any]:
    """The `data` of a usage row (docs/rows.md)."""
    return {
        "model": model,
        "inputTokens": counts[0],
        "cachedInputTokens": counts[1],
        "cacheWriteInputTokens": counts[2],
        "outputTokens": counts[3],
        "reasoningOutputTokens": counts[4] if reasoning_known else None,
        "totalTokens": counts[5],
        "messageId": message_id,
    }


def _counts_list(v: Any) -> list[int] | None:
    """The snapshot's previous total (six integers), else None."""
    if isinstance(v, list) and len(v) == len(CODEX_FIELDS) + 1 and all(as_int(x) is not None for x in v):
        return v
    return None


def codex_restart(st: MapperState) -> None:
    """A new process writes to this file (its next total may start from zero)."""
    st.extra["usageFresh"] = True


def codex_total(
    st: MapperState, out: list[dict[str, Any]], total: Any, last: Any, identity: str, ts: int | None
) -> None:
    """A running total from Codex: emit a usage row with what it adds (module docstring)."""
    t = codex_counts(total)
    if t is None:
        return
    prev = _counts_list(st.extra.get("usagePrev"))
    fresh = st.extra.get("usageFresh") is True
    st.extra["usagePrev"] = t
    st.extra["usageFresh"] = False
    if prev == t:
        return
    grew = prev is not None and all(a >= b for a, b in zip(t, prev, strict=True))
    diff = [sat_sub(a, b) for a, b in zip(t, prev, strict=True)] if prev is not None and grew else None
    own: list[int] | None
    if diff is not None and not fresh:
        own = diff
    else:
        own = codex_counts(last)
        if own is None:
            own = diff if diff is not None else t
    if not any(own):
        return
    st.emit_usage(out, usage_data(st.thread["model"], own, True, None), f"{identity}{t[5]}", ts)


def claude_response(u: Any) -> list[int] | None:
    """`[input, cached, cacheWrite, output, 0, total]` of one Claude API usage object: input counts
    the cache reads and writes too (as the thread's `usage` does), or None if it is empty."""
    d = as_dict(u)
    if not d:
        return None
    inp = as_int(d.get("input_tokens")) or 0
    cache_new = as_int(d.get("cache_creation_input_tokens")) or 0
    cache_read = as_int(d.get("cache_read_input_tokens")) or 0
    out = as_int(d.get("output_tokens")) or 0
    total_in = sat_add(sat_add(inp, cache_new), cache_read)
    return [total_in, cache_read, cache_new, out, 0, sat_add(total_in, out)]


def claude_usage(
    st: MapperState,
    out: list[dict[str, Any]],
    counts: list[int] | None,
    message_id: str | None,
    identity: str,
    ts: int | None,
) -> None:
    """Emit the usage row of one Claude response (nothing for an all-zero usage)."""
    if counts is None or not any(counts):
        return
    data = usage_data(st.thread["model"], counts, False, message_id)
    st.emit_usage(out, data, identity, ts)
