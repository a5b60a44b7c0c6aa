"""`oa-supervisor usage` as a user runs it: a subprocess against a store a real `backfill` wrote
from the whole corpus (Codex 0.169 and 0.50 rollouts and exec streams, Claude Code session files
and stream-json captures), and the counting rules of docs/usage.md on that store."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from oa_actors.jsonl import JsonlTail
from oa_actors.store import Store
from oa_actors.usage.prices import Price, PriceTable
from oa_actors.usage.summary import BY_CHOICES, load_rows
from tests.jsonl.corpus import CORPUS, all_codex_files, parse_with

ROOT = Path(__file__).resolve().parents[2]
PARENT = "01a200f7-a067-7c50-b80d-114bced61ae5"  # codex multiturn
FORK = "01a200f7-a5b8-7d61-a7b7-0e4f85b40644"  # its fork
CLAUDE_PARENT = "c09da64e-8c77-4838-b53b-b65a7bb6c7c8"  # resumed three times, then compacted
CLAUDE_FORK = "5cfb24a5-3421-4512-b7f9-0b5eeea45293"  # --resume c09da64e --fork-session


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oa_actors", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("usage-cli")
    shutil.copytree(CORPUS, tmp / "corpus")
    env = {**os.environ, "OPENAGENTS_HOME": str(tmp / "oa-home"), "CODEX_HOME": str(tmp / "codex-home"),
           "HOME": str(tmp)}  # fmt: skip
    out = cli(env, "backfill", "--quiet", "--sessions", str(tmp / "corpus"))
    assert out.returncode == 0, out.stderr
    # No supervisor: imported directly, so the totals are committed and named.
    with Store.open(Path(env["OPENAGENTS_HOME"]) / "store.sqlite3", readonly=True) as store:
        totals = f"the store holds {store.count('messages')} messages in {store.count('threads')} threads"
    assert out.stderr.splitlines()[-2:] == [out.stderr.splitlines()[-2], totals]
    assert re.fullmatch(r"\d+ files read \([\d.]+ MB\), \d+ new messages", out.stderr.splitlines()[-2])
    again = cli(env, "backfill", "--quiet", "--sessions", str(tmp / "corpus"))
    assert (
        again.returncode == 0
        and "nothing new:" in again.stderr
        and "files already up to date" in again.stderr
    )
    return env


def usage(env: dict[str, str], *args: str) -> dict[str, Any]:
    out = cli(env, "usage", "--json", *args)
    assert out.returncode == 0, out.stderr
    doc: dict[str, Any] = json.loads(out.stdout)
    return doc


def test_every_grouping_adds_up_to_the_total(env: dict[str, str]) -> None:
    total = usage(env)["total"]
    assert total["totalTokens"] > 0 and total["responses"] > 0
    for by in BY_CHOICES:
        doc = usage(env, "--by", by)
        assert doc["total"] == total
        for k in ("inputTokens", "cachedInputTokens", "outputTokens", "totalTokens", "responses"):
            assert sum(g[k] for g in doc["groups"]) == total[k], (by, k)


def test_forks_count_their_own_tokens_only(env: dict[str, str]) -> None:
    by_thread = {g["key"]: g for g in usage(env, "--by", "thread")["groups"]}
    assert by_thread[PARENT]["totalTokens"] == 5445  # its rollout's final total
    assert by_thread[FORK]["totalTokens"] == 7860 - 5445  # the fork's total less what it inherited
    # Claude Code: the fork file copies the parent's four responses and adds one.
    fork_file = next((CORPUS / "claude-2.1.197" / "projects").glob(f"*/{CLAUDE_FORK}.jsonl"))
    rows, _, _ = parse_with(JsonlTail, fork_file)
    fork_rows = [r["data"] for r in rows if r["kind"] == "usage"]
    assert len(fork_rows) == 5
    assert by_thread[CLAUDE_FORK]["responses"] == 1
    assert by_thread[CLAUDE_FORK]["totalTokens"] == fork_rows[-1]["totalTokens"]


def test_each_response_is_counted_once_in_the_store(env: dict[str, str]) -> None:
    with Store.open(Path(env["OPENAGENTS_HOME"]) / "store.sqlite3", readonly=True) as store:
        rows = load_rows(store)
        stored = store.conn.execute("SELECT COUNT(*) FROM messages WHERE kind = 'usage'").fetchone()[0]
    assert len(rows) < stored  # stream captures and copied Claude responses were left out
    # A thread stored from its rollout and from `codex exec --json` keeps the rollout's rows.
    exec_threads = {
        parse_with(JsonlTail, f)[1]["threadId"] for f in all_codex_files() if f.name.startswith("exec-")
    }
    counted = [r for r in rows if r.thread_id in exec_threads]
    assert counted and all(r.ts is not None for r in counted if r.thread_id in (PARENT, FORK))
    with_file = {r.thread_id for r in rows if r.ts is not None}
    assert not [r for r in rows if r.ts is None and r.thread_id in with_file]


def test_prices_from_the_package_and_the_config_file(env: dict[str, str], tmp_path: Path) -> None:
    by_model = {g["key"]: g for g in usage(env, "--by", "model")["groups"]}
    codex = by_model["gpt-5-codex"]  # in the packaged table
    price = PriceTable().price("gpt-5-codex", None)
    assert price == Price(input=1.25, output=10.0, cached_input=0.125)
    assert codex["costUsd"] is not None and codex["costUsd"] > 0 and codex["unpricedTokens"] == 0
    assert by_model["mock-model"]["costUsd"] is None  # unknown: unpriced, never guessed
    assert by_model["mock-model"]["unpricedTokens"] == by_model["mock-model"]["totalTokens"]
    home = Path(env["OPENAGENTS_HOME"])
    (home / "config.toml").write_text('[prices."mock-model"]\ninput = 2.0\noutput = 8.0\n')
    try:
        g = {g["key"]: g for g in usage(env, "--by", "model")["groups"]}["mock-model"]
    finally:
        (home / "config.toml").unlink()
    uncached = g["inputTokens"] - g["cachedInputTokens"]
    want = (uncached * 2.0 + g["cachedInputTokens"] * 2.0 + g["outputTokens"] * 8.0) / 1e6
    assert g["costUsd"] == pytest.approx(want) and g["unpricedTokens"] == 0


def test_dated_prices_and_model_name_variants() -> None:
    t = PriceTable()
    june = 1749600000000  # 2025-06-11
    assert t.price("o3", june) == Price(input=2.0, output=8.0, cached_input=0.5)
    assert t.price("o3", june - 30 * 86400000) == Price(input=10.0, output=40.0, cached_input=2.5)
    assert t.price("claude-sonnet-4-20250514", june) == t.price("claude-sonnet-4", june)
    assert t.price("claude-opus-4-5[1m]", None) == t.price("claude-opus-4-5", None)
    assert t.price("no-such-model", None) is None and t.price(None, None) is None
    only_input = PriceTable({"x": {"input": 1.0}})
    assert only_input.price("x", None) is None  # no output price: unpriced


def test_human_table_since_and_bad_input(env: dict[str, str], tmp_path: Path) -> None:
    out = cli(env, "usage", "--by", "model")
    assert out.returncode == 0 and "TOTAL" in out.stdout and "unpriced" in out.stdout
    assert "model responses in" in out.stdout
    future = cli(env, "usage", "--since", "2099-01-01")
    assert future.returncode == 0 and "no token usage recorded since 2099-01-01" in future.stderr
    bad = cli(env, "usage", "--since", "yesterday-ish")
    assert bad.returncode == 2 and "--since" in bad.stderr and "Traceback" not in bad.stderr
    by = cli(env, "usage", "--by", "color")
    assert by.returncode == 2 and "invalid choice" in by.stderr
    none = cli({**env, "OPENAGENTS_HOME": str(tmp_path / "empty")}, "usage")
    assert none.returncode == 2 and "no store at" in none.stderr and len(none.stderr.splitlines()) == 1
