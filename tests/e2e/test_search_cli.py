"""`oa-supervisor search` as a user runs it: a subprocess against a store a real `backfill` wrote.

Sessions the tests never saw (seeded at random per run) must come back with the right thread in
the top 3 for English and Chinese keyword queries; bad input of every kind gets a result or a clear
error, never a traceback; a re-backfill adds no duplicate hits.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from oa_actors.store import Store
from oa_actors.store.search import SearchQuery, search
from tests.jsonl.corpus import CORPUS
from tests.support.search_checks import index_mismatch
from tests.support.search_corpus import TopicThread, topic_sessions

ROOT = Path(__file__).resolve().parents[2]


def cli(env: dict[str, str], *args: str | bytes, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    argv: Sequence[str | bytes] = [sys.executable, "-m", "oa_actors", *args]
    return subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, timeout=timeout)  # type: ignore[arg-type]


def search_json(env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    out = cli(env, "search", "--json", *args)
    assert out.returncode in (0, 1), out.stderr.decode()
    return [json.loads(line) for line in out.stdout.decode().splitlines()]


def top_threads(hits: list[dict[str, Any]], n: int = 3) -> list[str]:
    seen: list[str] = []
    for h in hits:
        if h["threadId"] not in seen:
            seen.append(h["threadId"])
    return seen[:n]


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], list[TopicThread], int]:
    tmp = tmp_path_factory.mktemp("search-cli")
    seed = random.SystemRandom().randrange(1 << 30)
    print(f"topic sessions seed: {seed}")
    sessions = tmp / "codex-home" / "sessions"
    shutil.copytree(CORPUS / "codex-0.169.0" / "sessions", sessions)
    topics = topic_sessions(sessions, seed)
    env = {**os.environ, "OPENAGENTS_HOME": str(tmp / "oa-home"), "CODEX_HOME": str(tmp / "codex-home"),
           "HOME": str(tmp)}  # fmt: skip
    out = cli(env, "backfill", "--quiet")
    assert out.returncode == 0, out.stderr.decode()
    return env, topics, seed


def test_keyword_queries_rank_the_right_thread_in_the_top_3(backfilled: Any) -> None:
    """Through the search API on the backfilled store (the CLI is its thin wrapper, tested below;
    a subprocess per query would make this test slow)."""
    env, topics, seed = backfilled
    misses = []
    with Store.open(Path(env["OPENAGENTS_HOME"]) / "store.sqlite3", readonly=True) as store:
        for t in topics:
            sep = " " if t.language == "en" else ""
            for query in (t.words[0], t.words[2], sep.join(t.words[:2]), f"{t.words[1]} {t.words[2]}"):
                hits = [h.to_json() for h in search(store, SearchQuery(query, limit=20)).hits]
                if t.thread_id not in top_threads(hits):
                    misses.append((t.language, query, top_threads(hits)))
    assert not misses, f"seed {seed}: {misses}"
    got = top_threads(search_json(env, topics[0].words[0]))  # and once through the CLI
    assert topics[0].thread_id in got


def test_json_hits_carry_the_fields_and_human_output_marks_matches(backfilled: Any) -> None:
    env, topics, _ = backfilled
    t = next(t for t in topics if t.language == "zh")
    hits = search_json(env, t.words[0], "--limit", "5")
    assert hits and {"threadId", "key", "role", "kind", "ts", "snippet", "score", "highlights"} <= set(
        hits[0]
    )
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    h = hits[0]
    assert all(h["snippet"][a:b] == t.words[0] for a, b in h["highlights"])
    out = cli(env, "search", t.words[0], "--limit", "1")
    text = out.stdout.decode()
    assert out.returncode == 0 and f"[{t.words[0]}]" in text and "\x1b[" not in text  # not a TTY
    coloured = cli(env, "search", t.words[0], "--limit", "1", "--color", "always").stdout.decode()
    assert f"\x1b[1;33m{t.words[0]}\x1b[0m" in coloured


def test_filters_through_the_cli(backfilled: Any) -> None:
    env, topics, _ = backfilled
    t = topics[0]
    hits = search_json(env, t.words[0], "--thread", t.thread_id[:8])
    assert hits and {h["threadId"] for h in hits} == {t.thread_id}
    assert {h["role"] for h in search_json(env, t.words[0], "--role", "user")} <= {"user"}
    assert {h["kind"] for h in search_json(env, t.words[0], "--kind", "cmd")} <= {"cmd"}
    assert search_json(env, t.words[0], "--since", "2026-10-01", "--source", "codex")
    assert search_json(env, t.words[0], "--until", "2020-01-01") == []
    assert search_json(env, t.words[0], "--source", "claude") == []
    cwd = "/home/dev/p0"  # topic_sessions: thread i works in /home/dev/p{i % 5}
    assert {h["cwd"] for h in search_json(env, t.words[0], "--project", cwd)} == {cwd}
    assert {h["cwd"] for h in search_json(env, "the", "--project", "/home/dev/p1/")} == {"/home/dev/p1"}


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["zzqqxxnotaword"], 1, "no matches"),
        (['"'], 2, "no words"),
        (["*"], 2, "no words"),
        (["-"], 2, "no words"),
        ([""], 2, "no words"),
        (["(", ")"], 2, "no words"),
        (["NEAR", "AND", "OR", "NOT"], 1, "no matches"),
        (['"unclosed phrase'], 1, "no matches"),
        (["x" * 10_240], 2, "at most 1000"),
        ([b"\xff\xfe caf\xc3\xa9"], 1, "no matches"),
        ([b"\xff\xfe"], 2, "no words"),
        (["x", "--mode", "semantic"], 2, "the store has no embeddings yet"),  # backfill embeds nothing
        (["x", "--mode", "hybrid"], 2, "the store has no embeddings yet"),
        (["x", "--since", "last tuesday"], 2, "ISO 8601"),
        (["x", "--thread", "nosuchthread"], 2, "no thread id starts with"),
        (["x", "--limit", "0"], 2, "limit must be between"),
        (["x", "--cursor", "garbage"], 2, "cursor"),
    ],
)
def test_bad_input_gets_a_result_or_a_clear_error(
    backfilled: Any, args: list[str | bytes], code: int, message: str
) -> None:
    env, _, _ = backfilled
    out = cli(env, "search", "--json", *args)
    err = out.stderr.decode("utf-8", "replace")
    assert out.returncode == code, err
    assert message in err and "Traceback" not in err
    if code != 0:
        assert out.stdout == b""


def test_paging_through_the_cli(backfilled: Any) -> None:
    env, _, _ = backfilled
    first = cli(env, "search", "--json", "--limit", "3", "the")
    assert first.returncode == 0
    cursor = first.stderr.decode().split("--cursor ")[1].split()[0]
    second = search_json(env, "the", "--limit", "3", "--cursor", cursor)
    keys = [json.loads(x)["key"] for x in first.stdout.decode().splitlines()] + [h["key"] for h in second]
    assert len(keys) == 6 == len(set(keys))


def test_rebackfill_adds_no_duplicate_hits(backfilled: Any, tmp_path: Path) -> None:
    env, topics, _ = backfilled
    store = Path(env["OPENAGENTS_HOME"]) / "store.sqlite3"
    t = topics[1]
    before = search_json(env, t.words[0], "--limit", "100")
    count = sqlite3.connect(store).execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    assert cli(env, "backfill", "--quiet").returncode == 0  # everything checkpointed: reads nothing
    # The same sessions under new paths are read in full again: the same keys, so no new rows.
    copy = Path(env["CODEX_HOME"]) / "sessions" / "2026" / "12" / "01"
    copy.mkdir(parents=True)
    for path in (Path(env["CODEX_HOME"]) / "sessions" / "2026" / "10").rglob("*.jsonl"):
        shutil.copy(path, copy / path.name)
    assert cli(env, "backfill", "--quiet").returncode == 0
    after = search_json(env, t.words[0], "--limit", "100")
    assert sorted(h["key"] for h in after) == sorted(h["key"] for h in before)
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True, isolation_level=None)
    assert conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == count
    missing, extra, checked = index_mismatch(conn)
    assert (missing, extra) == (set(), set()) and checked > 0
