"""Token usage rows (`system/usage`, docs/rows.md "Token usage") on the corpus, both backends.

Each row holds one response's own tokens, so sums count each token once: a Codex fork's first
cumulative count already holds its parent's total, Codex repeats a count after a compaction, a
Claude Code response spans several records sharing `message.id`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.jsonl.corpus import CORPUS, parse_with

S169 = CORPUS / "codex-0.169.0" / "sessions" / "2026" / "11" / "22"
S050 = CORPUS / "codex-0.50.0" / "sessions" / "2026" / "11" / "22"
PARENT = next(S169.glob("*01a200f7-a067-*.jsonl"))  # multiturn: three turns
FORK = next(S169.glob("*01a200f7-a5b8-*.jsonl"))  # `codex fork` of PARENT, one more turn
COMPACT = next(S169.glob("*01a200f7-a7ae-*.jsonl"))  # a compaction between two turns
RESUMED_050 = next(S050.glob("*01a200f9-3923-*.jsonl"))  # 0.50: three processes, totals not restored
CLAUDE = CORPUS / "claude-2.1.197"


def usage(tail_cls: Any, path: Path) -> list[dict[str, Any]]:
    rows, _, errors = parse_with(tail_cls, path)
    assert not any(errors.values())
    return [r["data"] for r in rows if r["kind"] == "usage"]


def token_counts(path: Path) -> list[tuple[int, int]]:
    """(total, last) total_tokens of every token_count event with info, as the file says."""
    out = []
    for line in path.read_text().splitlines():
        p = json.loads(line).get("payload") or {}
        if p.get("type") == "token_count" and p.get("info"):
            info = p["info"]
            out.append((info["total_token_usage"]["total_tokens"], info["last_token_usage"]["total_tokens"]))
    return out


def test_a_rollout_sums_to_its_final_total(tail_cls) -> None:
    rows = usage(tail_cls, PARENT)
    assert [r["totalTokens"] for r in rows] == [1515, 1815, 2115]
    assert sum(r["totalTokens"] for r in rows) == token_counts(PARENT)[-1][0] == 5445
    assert all(r["model"] == "gpt-5.5" and r["messageId"] is None for r in rows)
    first = rows[0]
    assert first["inputTokens"] + first["outputTokens"] == first["totalTokens"]


def test_a_fork_counts_only_its_own_tokens(tail_cls) -> None:
    (total, last), *_ = token_counts(FORK)
    assert total == 7860 and total - last == 5445  # the first total holds the parent's 5445
    rows = usage(tail_cls, FORK)
    assert [r["totalTokens"] for r in rows] == [2415]
    parent = sum(r["totalTokens"] for r in usage(tail_cls, PARENT))
    assert parent + 2415 == total  # parent and fork together: every token once


def test_a_count_repeated_after_compaction_is_not_counted_again(tail_cls) -> None:
    counts = token_counts(COMPACT)
    assert [t for t, _ in counts] == [250020, 250020, 253060, 253060, 257080]  # two repeats
    rows = usage(tail_cls, COMPACT)
    assert [r["totalTokens"] for r in rows] == [250020, 3040, 4020]
    assert sum(r["totalTokens"] for r in rows) == 257080


def test_050_process_restarts_count_each_process(tail_cls) -> None:
    # 0.50 starts each resumed process from zero (a token_count with info null first).
    rows = usage(tail_cls, RESUMED_050)
    assert [r["totalTokens"] for r in rows] == [1515, 1815, 2115]


def test_claude_counts_each_message_id_once(tail_cls) -> None:
    path = next(CLAUDE.glob("projects/-home-dev-work-bash/6be3c9d5-*.jsonl"))
    records: dict[str, int] = {}
    for line in path.read_text().splitlines():
        o = json.loads(line)
        m = o.get("message")
        if o.get("type") == "assistant" and isinstance(m, dict) and m.get("usage"):
            records[m["id"]] = records.get(m["id"], 0) + 1
    assert max(records.values()) > 1  # a response spans several records
    rows = usage(tail_cls, path)
    assert [r["messageId"] for r in rows] == list(records)
    stream = usage(tail_cls, CLAUDE / "stream-bash.jsonl")  # the same run's stream-json capture
    assert [r["messageId"] for r in stream] == [None]
    assert stream[0]["totalTokens"] == sum(r["totalTokens"] for r in rows) == 3657


def test_usage_rows_sit_between_integer_seqs(tail_cls) -> None:
    rows, _, _ = parse_with(tail_cls, PARENT)
    seqs = [r["seq"] for r in rows]
    assert seqs == sorted(seqs)
    assert all((r["seq"] % 1 == 0.5) == (r["kind"] == "usage") for r in rows)
