"""Which FTS5 tokenizer for the search index: the measurements behind docs/search.md.

Three candidates index the same messages (tests/support/search_corpus.bench_rows: prose, commands
with output, 5% Chinese/Japanese, 1% Arabic, 2% emoji), each in its own store file, contentless:
- `bigram` (the product): unicode61 + this project's pre-segmentation (CJK bigrams, emoji, Arabic),
  exactly the product's code (search_index, search_text);
- `trigram`: FTS5's trigram tokenizer on the raw text; a query term shorter than 3 characters
  cannot use it, so it falls back to a LIKE scan of the messages;
- `both`: the two indexes side by side (trigram for terms of 3+ characters, bigram for shorter).
For each: the time to insert (messages + index, commits included, relative to the messages alone),
the index size (dbstat), the query latency (p50/p99 of MATCH ... ORDER BY rowid DESC LIMIT 2000
with bm25, the product's candidate query) for English words, CJK terms of 1-2 characters and of 3+
characters, and the quality: recall of CJK and emoji queries against the texts that hold them, and
for English words the share of hits where the word is only part of another word ("test" in
"latest", which a word index does not return), both over the text and the searchable parts of
`data`. Recall counts every match (the product then ranks the newest 2,000).

Plain pytest: 4,000 messages; `--benchmark-enable` (or OA_BENCH_TOKENIZER_MESSAGES): 100,000.
Writes benches/results/search_tokenizers.json at full size.
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

from measure import Record, Size

from oa_actors.store import search_index
from oa_actors.store.search_text import Term, indexed_columns, searchable_data, term_to_fts
from tests.support.search_corpus import EMOJI, EN_WORDS, JA_WORDS, ZH_WORDS, bench_rows

SEED = 11
TRIGRAM = "CREATE VIRTUAL TABLE tri USING fts5(text, extra, content='', tokenize='trigram')"
QUERIES = 40


def _build(path: Path, variant: str, messages: list[dict[str, Any]]) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA page_size = 16384")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE messages (key TEXT PRIMARY KEY, kind TEXT, text TEXT, data TEXT)")
    if variant in ("bigram", "both"):
        conn.execute(search_index.CREATE_TABLE)
    if variant in ("trigram", "both"):
        conn.execute(TRIGRAM)
    t0 = time.perf_counter()
    for i in range(0, len(messages), 2000):
        part = messages[i : i + 2000]
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO messages (key, kind, text, data) VALUES (?,?,?,?)",
            [(m["key"], m["kind"], m["text"], json.dumps(m["data"]) if m["data"] else None) for m in part],
        )
        cols = [(m["key"], indexed_columns(m["kind"], m["text"], m["data"])) for m in part]
        if variant in ("bigram", "both"):
            conn.executemany(
                f"INSERT INTO {search_index.TABLE} (rowid, text, extra, meta) "
                "VALUES ((SELECT rowid FROM messages WHERE key = ?), ?, ?, '')",
                [(k, c[0], c[1]) for k, c in cols if c is not None],
            )
        if variant in ("trigram", "both"):
            raw = [(m["key"], m["text"] or "", json.dumps(m["data"]) if m["data"] else "") for m in part]
            conn.executemany(
                "INSERT INTO tri (rowid, text, extra)"
                " VALUES ((SELECT rowid FROM messages WHERE key = ?), ?, ?)",
                [r for r, (_, c) in zip(raw, cols, strict=True) if c is not None],
            )
        conn.execute("COMMIT")
    secs = time.perf_counter() - t0
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return secs


def _size_mb(path: Path, prefix: str) -> float:
    conn = sqlite3.connect(path)
    n = conn.execute(
        "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name LIKE ?", (prefix + "%",)
    ).fetchone()[0]
    conn.close()
    return round(n / 1e6, 2)


def _match(conn: sqlite3.Connection, variant: str, q: str) -> tuple[set[int], float]:
    """Every rowid matching `q` in `variant` (for recall: no limit), and the time (ms) the
    product's candidate query (bm25 of the newest 2,000 matches) took."""
    use_tri = variant == "trigram" or (variant == "both" and len(q) >= 3)
    if use_tri and len(q) < 3:
        arg = "%" + q.replace("%", "").replace("_", "") + "%"
        sql = timed = "SELECT rowid FROM messages WHERE text LIKE ?"
    else:
        table = "tri" if use_tri else search_index.TABLE
        arg = '"' + q.replace('"', '""') + '"' if use_tri else term_to_fts(Term(q))
        sql = f"SELECT rowid FROM {table} WHERE {table} MATCH ?"
        timed = (
            f"SELECT rowid, bm25({table}) FROM {table} WHERE {table} MATCH ? ORDER BY rowid DESC LIMIT 2000"
        )
    t0 = time.perf_counter()
    conn.execute(timed, (arg,)).fetchall()
    ms = (time.perf_counter() - t0) * 1000
    return {r[0] for r in conn.execute(sql, (arg,))}, ms


def run_comparison(tmp: Path, n: int) -> dict[str, Any]:
    messages = [m for _, rows in bench_rows(n, SEED) for m in rows]
    rnd = random.Random(SEED)
    cjk = ZH_WORDS + JA_WORDS
    sets = {
        "english_words": [rnd.choice(EN_WORDS) for _ in range(QUERIES)],
        "cjk_1_2_chars": [w[: rnd.choice((1, 2))] for w in rnd.sample(cjk, min(QUERIES, len(cjk)))],
        "cjk_3plus_chars": [w for w in cjk if len(w) >= 3][:QUERIES],
        "emoji": EMOJI,
    }
    texts = {}
    out: dict[str, Any] = {"messages": len(messages)}
    for variant in ("none", "bigram", "trigram", "both"):
        path = tmp / f"{variant}.sqlite3"
        secs = _build(path, variant, messages)
        res: dict[str, Any] = {"insert_s": round(secs, 2)}
        if variant == "none":
            conn = sqlite3.connect(path)
            texts = {
                r: f"{t or ''}\n{searchable_data(k, t, json.loads(d) if d else None)}"
                for r, k, t, d in conn.execute(
                    "SELECT rowid, kind, text, data FROM messages WHERE kind != 'context'"
                )
            }
            conn.close()
            res["messages_MB"] = _size_mb(path, "messages") + _size_mb(path, "sqlite_autoindex_messages")
            out[variant] = res
            continue
        res["index_MB"] = round(_size_mb(path, search_index.TABLE) + _size_mb(path, "tri"), 2)
        conn = sqlite3.connect(path)
        for name, queries in sets.items():
            ms, recall, partial = [], [], []
            for q in queries:
                got, t = _match(conn, variant, q)
                ms.append(t)
                if name == "english_words":
                    word = re.compile(rf"(?<![a-z0-9]){re.escape(q)}(?![a-z0-9])", re.I)
                    if got:
                        partial.append(sum(1 for r in got if not word.search(texts.get(r, ""))) / len(got))
                else:
                    want = {r for r, t in texts.items() if q in t}
                    if want:
                        recall.append(len(got & want) / len(want))
            res[name] = {
                "p50_ms": round(statistics.median(ms), 2),
                "p99_ms": round(max(ms), 2),
                **({"recall": round(statistics.fmean(recall), 3)} if recall else {}),
                **({"hits_inside_other_words": round(statistics.fmean(partial), 3)} if partial else {}),
            }
        conn.close()
        out[variant] = res
    base = out["none"]["insert_s"]
    for variant in ("bigram", "trigram", "both"):
        out[variant]["insert_cost_vs_rows_alone"] = round(out[variant]["insert_s"] / base - 1, 2)
        out[variant]["index_over_messages"] = round(out[variant]["index_MB"] / out["none"]["messages_MB"], 2)
    return out


def test_bench_search_tokenizers(benchmark: Any, tmp_path: Path, bench_size: Size, record: Record) -> None:
    n = bench_size("OA_BENCH_TOKENIZER_MESSAGES", 4_000, 100_000)
    res = benchmark.pedantic(run_comparison, args=(tmp_path, n), rounds=1, iterations=1)
    print("\ntokenizers:", json.dumps(res, indent=2))
    assert res["bigram"]["cjk_1_2_chars"]["recall"] == 1.0  # the product finds every short CJK query
    record(res, name="comparison")
