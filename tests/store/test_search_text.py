"""Search text: segmentation (CJK, emoji, Arabic), query parsing, bad input, snippets, time specs."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oa_actors.store import search_index
from oa_actors.store.search_snippet import find_spans, make_snippet, needle_pattern
from oa_actors.store.search_text import (
    MAX_QUERY_CHARS,
    QueryError,
    clean_query,
    indexed_columns,
    match_expression,
    parse_query,
    searchable_data,
    segment,
)
from oa_actors.timespec import TimeSpecError, parse_time


def test_plain_text_is_left_to_the_tokenizer() -> None:
    for text in ("fix the migration", "naïve café — “quoted” … ok", "Ελληνικά русский"):
        assert segment(text) == text


def test_cjk_runs_become_bigrams_and_their_last_character() -> None:
    assert segment("修复数据库") == " 修复 复数 数据 据库 库 "
    assert segment("用Python写") == " 用 Python 写 "
    assert segment("日本語のテキスト").split() == [
        "日本",
        "本語",
        "語の",
        "のテ",
        "テキ",
        "キス",
        "スト",
        "ト",
    ]


def test_emoji_are_tokens_of_their_own_without_modifiers() -> None:
    assert segment("ok🚀🔥 👍🏽 ❤️ 👩\u200d💻").split() == ["ok", "🚀", "🔥", "👍", "❤", "👩", "💻"]


def test_arabic_diacritics_forms_and_article() -> None:
    assert segment("الكِتَاب").split() == ["ال", "كتاب"]
    assert segment("وَالكتاب أحمد").split() == ["و", "ال", "كتاب", "احمد"]


def test_full_width_and_ligatures_fold() -> None:
    assert segment("\uff50\uff59\uff54\uff48\uff4f\uff4e \ufb01le 数").split() == ["python", "file", "数"]


def test_searchable_parts_of_data() -> None:
    cmd = {"command": "pytest -q", "exitCode": 1, "output": "3 failed", "durationMs": 5}
    assert searchable_data("cmd", "pytest -q", cmd) == "3 failed"
    files = {"changes": [{"path": "/src/a.py", "kind": "add"}, {"path": "/src/b.py", "kind": "update"}]}
    assert searchable_data("file", "add /src/a.py", files) == "/src/a.py\n/src/b.py"
    assert searchable_data("mcp", "echo.ping", {"server": "echo", "tool": "ping"}) == "echo\nping"
    todo = {"items": [{"text": "write tests", "status": "pending"}]}
    assert searchable_data("todo", "Task #1", todo) == "write tests"
    tool = {"name": "Read", "arguments": {"file_path": "/etc/hosts", "limit": 3}, "output": "x" * 9}
    assert searchable_data("tool", "Read", tool) == "/etc/hosts"
    assert searchable_data("search", "q", {"query": "q"}) == ""
    assert searchable_data("message", "hi", None) == ""
    assert indexed_columns("context", "AGENTS.md ...", None) is None


def test_query_terms_are_always_quoted() -> None:
    expr = match_expression(parse_query('fix "the bug" OR NOT NEAR(a b) -x col:y'))  # "or": a stopword
    assert expr == '"fix" AND "the bug" AND "NOT" AND "NEAR(a" AND "b)" AND "-x" AND "col:y"'
    assert match_expression(parse_query('say "hi')) == '"say" AND "hi"'
    assert match_expression(parse_query('a"b')) == '"a""b"'
    assert match_expression(parse_query("migrat*")) == '"migrat" *'


def test_stopwords_are_dropped_only_when_other_words_remain() -> None:
    assert match_expression(parse_query("where is the migration")) == '"where" AND "migration"'
    assert match_expression(parse_query("the")) == '"the"'
    assert match_expression(parse_query('"the user" is')) == '"the user"'


def test_cjk_query_runs() -> None:
    assert match_expression(parse_query("数据库")) == '" 数据 据库 "'
    assert match_expression(parse_query("库")) == '" 库 " *'
    assert match_expression(parse_query("用Python")) == '" 用 Python"'
    assert match_expression(parse_query("Python用")) == '"Python 用 " *'


@pytest.mark.parametrize("text", ["", "   ", "-", "*", '""', "()", "\x00\x01", "\ufffd", "\ue000"])
def test_queries_without_words_are_refused(text: str) -> None:
    with pytest.raises(QueryError) as err:
        parse_query(text)
    assert err.value.code == "empty_query"


def test_long_queries_are_refused_with_the_limit() -> None:
    with pytest.raises(QueryError, match=str(MAX_QUERY_CHARS)) as err:
        parse_query("word " * 2048)
    assert err.value.code == "query_too_long"


def test_invalid_utf8_from_argv_is_cleaned() -> None:
    raw = b"caf\xc3\xa9 \xff\xfe x\xed\xa0\x80"
    text = raw.decode("utf-8", "surrogateescape")
    cleaned = clean_query(text)
    cleaned.encode("utf-8")  # no surrogates left
    assert cleaned.split() == ["café", "x"]


def _fts() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute(search_index.CREATE_TABLE)
    conn.execute(f"INSERT INTO {search_index.TABLE} (rowid, text, extra, meta) VALUES (1, 'a b', '', '')")
    return conn


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_a_valid_query_or_a_clear_refusal(text: str) -> None:
    conn = _fts()
    try:
        expr = match_expression(parse_query(text))
    except QueryError as exc:
        assert exc.code in ("empty_query", "query_too_long")
        return
    conn.execute(
        f"SELECT rowid FROM {search_index.TABLE} WHERE {search_index.TABLE} MATCH ?", (expr,)
    ).fetchall()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_argv_bytes_are_a_valid_query_or_a_clear_refusal(raw: bytes) -> None:
    conn = _fts()
    try:
        expr = match_expression(parse_query(raw.decode("utf-8", "surrogateescape")))
    except QueryError:
        return
    conn.execute(
        f"SELECT rowid FROM {search_index.TABLE} WHERE {search_index.TABLE} MATCH ?", (expr,)
    ).fetchall()


def test_snippet_marks_words_on_word_boundaries() -> None:
    terms = parse_query("test café")
    text = "latest tests: the test of the Cafe and the CAFÉ"
    spans = find_spans(text, needle_pattern(terms))
    assert [text[s:e] for s, e in spans] == ["test", "Cafe", "CAFÉ"]
    snip = make_snippet(text, spans)
    assert [snip.text[s:e] for s, e in snip.highlights] == ["test", "Cafe", "CAFÉ"]


def test_snippet_marks_cjk_and_emoji_substrings_and_cuts_long_text() -> None:
    text = "x " * 200 + "我们修复了数据库迁移的问题 🚀 done " + "y " * 200
    spans = find_spans(text, needle_pattern(parse_query("数据库 🚀")))
    snip = make_snippet(text, spans)
    assert snip.text.startswith("…") and snip.text.endswith("…")
    assert len(snip.text) <= 170
    assert [snip.text[s:e] for s, e in snip.highlights] == ["数据库", "🚀"]


def test_snippet_collapses_whitespace_and_keeps_offsets() -> None:
    text = "first\n\n   line\twith   MATCH here"
    snip = make_snippet(text, find_spans(text, needle_pattern(parse_query("match"))))
    assert snip.text == "first line with MATCH here"
    assert [snip.text[s:e] for s, e in snip.highlights] == ["MATCH"]


def test_time_specs() -> None:
    now = 1_800_000_000.0
    assert parse_time("1795312551000") == 1795312551000
    assert parse_time("2026-11-22T01:55:51Z") == 1795312551000
    assert parse_time("2026-11-22T03:55:51+02:00") == 1795312551000
    assert parse_time("1h", now=now) == (now - 3600) * 1000
    assert parse_time("7d", now=now) == (now - 7 * 86400) * 1000
    assert parse_time("1h30m ago", now=now) == (now - 5400) * 1000
    from datetime import datetime

    assert parse_time("2026-11-22T01:55") == int(datetime(2026, 11, 22, 1, 55).timestamp() * 1000)
    for bad in ("yesterday", "1y", "2026-13-01", ""):
        with pytest.raises(TimeSpecError, match="ISO 8601"):
            parse_time(bad)
