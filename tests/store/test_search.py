"""Full-text search on a real store: multilingual matching, ranking, filters, paging, bad input."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from oa_actors.store import Store
from oa_actors.store.search import CANDIDATES, SearchError, SearchPage, SearchQuery, search

T0 = 1_795_000_000_000


def msg(thread: str, seq: int, text: str, **over: Any) -> dict[str, Any]:
    return {
        "threadId": thread,
        "key": hashlib.blake2b(f"{thread}/{seq}".encode(), digest_size=16).hexdigest(),
        "seq": seq,
        "ts": T0 + seq * 1000,
        "role": "assistant",
        "kind": "message",
        "text": text,
        "data": None,
        "turnId": None,
        **over,
    }


def thread(tid: str, **over: Any) -> dict[str, Any]:
    return {"threadId": tid, "source": "codex", "title": f"title of {tid}", "cwd": "/home/u/p", **over}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "store.sqlite3", background_checkpoint=False)
    yield s
    s.close()


def keys(page: SearchPage) -> list[str]:
    return [h.key for h in page.hits]


def texts(store: Store, q: str, **kw: Any) -> list[str]:
    page = search(store, SearchQuery(q, limit=50, **kw))
    by_key = {m["key"]: m["text"] for m in store.messages_by_keys(keys(page)).values()}
    return [by_key[k] for k in keys(page)]


MULTILINGUAL = [
    "我们修复了数据库迁移的问题",
    "数据库连接超时",
    "日本語のテキストを全文検索する",
    "データベースの移行が失敗しました",
    "قرأت الكتاب في المكتبة",
    "كتب الطالب رسالة",
    "shipped it 🚀 and celebrated 🎉",
    "Écris une réponse en français, café",
    "\uff46\uff55\uff4c\uff4c \uff57\uff49\uff44\uff54\uff48 text",  # full-width "full width"
    "한국어 검색 테스트",
    "the migration was fixed in postgres",
]


@pytest.fixture
def multilingual(store: Store) -> Store:
    store.apply_batch([thread("ml")], [msg("ml", i, t) for i, t in enumerate(MULTILINGUAL)])
    return store


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("数据库", [0, 1]),
        ("数据", [0, 1]),  # two characters
        ("库", [0, 1]),  # one character: the run's last or the start of a bigram
        ("迁移", [0]),
        ("修复了数据库", [0]),
        ("超时", [1]),
        ("时", [1]),
        ("テキスト", [2]),
        ("全文検索", [2]),
        ("データベース", [3]),
        ("の", [2, 3]),
        ("الكتاب", [4]),
        ("كتاب", [4]),  # without the article
        ("المكتبة", [4]),
        ("🚀", [6]),
        ("🎉 celebrated", [6]),
        ("cafe", [7]),
        ("ECRIS", [7]),
        ("full", [8]),
        ("검색", [9]),
        ("migration postgres", [10]),
        ('"was fixed"', [10]),
        ('"fixed was"', []),
        ("migrat*", [10]),
    ],
)
def test_multilingual_queries_find_what_they_should(
    multilingual: Store, query: str, expected: list[int]
) -> None:
    assert sorted(texts(multilingual, query)) == sorted(MULTILINGUAL[i] for i in expected)


CJK = "数据库迁移修复问题日本語テキ"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(alphabet=CJK + " a", min_size=1, max_size=12), min_size=3, max_size=12), st.data())
def test_cjk_queries_match_exactly_the_texts_holding_them(tmp_path: Path, docs: list[str], data: Any) -> None:
    """For a query of CJK characters, the hits are exactly the texts that contain it."""
    assume(any(d.strip(" a") for d in docs))
    path = tmp_path / f"{uuid.uuid4().hex}.sqlite3"  # a new store per example
    with Store.open(path, background_checkpoint=False) as s:
        s.apply_batch([thread("h")], [msg("h", i, t) for i, t in enumerate(docs)])
        source = data.draw(st.sampled_from([d for d in docs if d.strip(" a")]))
        run = max(source.replace("a", " ").split(), key=len)
        start = data.draw(st.integers(0, len(run) - 1))
        end = data.draw(st.integers(start + 1, len(run)))
        q = run[start:end]
        got = sorted(texts(s, q))
        assert got == sorted(d for d in docs if q in d), q


def test_bm25_ranks_denser_matches_first_and_newer_on_ties(store: Store) -> None:
    store.apply_batch(
        [thread("r")],
        [
            msg("r", 0, "deadlock in the scheduler " + "filler " * 40),
            msg("r", 1, "deadlock deadlock deadlock"),
            msg("r", 2, "pytest -q"),
            msg("r", 3, "pytest -q"),
            *(msg("r", 4 + i, f"other text {i}") for i in range(20)),
        ],
    )
    page = search(store, SearchQuery("deadlock"))
    assert [h.seq for h in page.hits] == [1, 0]
    assert page.hits[0].score > page.hits[1].score > 0
    assert [h.seq for h in search(store, SearchQuery("pytest")).hits] == [3, 2]  # tie: newer first


def test_hits_carry_thread_fields_and_a_highlighted_snippet(store: Store) -> None:
    store.apply_batch(
        [thread("t1", title="Fix the migration", source="claude", cwd="/w/api")],
        [
            msg("t1", 0, "we should look at the Postgres migration again", role="user"),
            msg(
                "t1",
                1,
                "pytest",
                role="tool",
                kind="cmd",
                data={"command": "pytest", "exitCode": 1, "output": "E   postgres refused", "durationMs": 3},
            ),
        ],
    )
    hits = search(store, SearchQuery("postgres")).hits
    assert len(hits) == 2
    by_seq = {h.seq: h for h in hits}
    h = by_seq[0]
    assert (h.thread_id, h.title, h.source) == ("t1", "Fix the migration", "claude")
    assert (h.cwd, h.role, h.kind) == ("/w/api", "user", "message")
    assert h.field == "text" and [h.snippet[a:b] for a, b in h.highlights] == ["Postgres"]
    out = by_seq[1]
    assert out.field == "extra" and out.snippet == "E postgres refused"
    j = out.to_json()
    assert {"threadId", "key", "role", "kind", "ts", "snippet", "score", "highlights"} <= set(j)


@pytest.fixture
def filtered(store: Store) -> Store:
    store.apply_batch(
        [
            thread("0aaa-codex", source="codex", cwd="/w/api"),
            thread("0abb-claude", source="claude", cwd="/w/api/sub"),
            thread("0bcc-other", source="codex", cwd="/w/apiary"),
        ],
        [
            msg("0aaa-codex", 0, "token refresh", role="user", ts=T0),
            msg("0aaa-codex", 1, "token refresh", role="tool", kind="cmd", ts=T0 + 10_000),
            msg("0abb-claude", 0, "token refresh", role="assistant", ts=T0 + 20_000),
            msg("0bcc-other", 0, "token refresh", role="assistant", kind="reason", ts=None),
        ],
    )
    return store


def hits_of(store: Store, **kw: Any) -> set[tuple[str, int]]:
    return {(h.thread_id, h.seq) for h in search(store, SearchQuery("token", **kw)).hits}


def test_filters(filtered: Store) -> None:
    assert len(hits_of(filtered)) == 4
    assert hits_of(filtered, source="claude") == {("0abb-claude", 0)}
    assert hits_of(filtered, thread="0aaa") == {("0aaa-codex", 0), ("0aaa-codex", 1)}
    assert hits_of(filtered, thread="0bcc-other") == {("0bcc-other", 0)}
    assert hits_of(filtered, project="/w/api") == {("0aaa-codex", 0), ("0aaa-codex", 1), ("0abb-claude", 0)}
    assert hits_of(filtered, project="/w/api/") == hits_of(filtered, project="/w/api")
    assert hits_of(filtered, roles=("user", "tool")) == {("0aaa-codex", 0), ("0aaa-codex", 1)}
    assert hits_of(filtered, kinds=("reason",)) == {("0bcc-other", 0)}
    assert hits_of(filtered, since_ms=T0 + 5_000) == {("0aaa-codex", 1), ("0abb-claude", 0)}
    assert hits_of(filtered, until_ms=T0 + 10_000) == {("0aaa-codex", 0), ("0aaa-codex", 1)}
    assert hits_of(filtered, since_ms=T0 + 5_000, source="codex", roles=("tool",)) == {("0aaa-codex", 1)}
    assert hits_of(filtered, source="app") == set()


def test_filters_over_many_threads_are_checked_on_each_match(filtered: Store, monkeypatch: Any) -> None:
    import oa_actors.store.search as search_module

    monkeypatch.setattr(search_module, "MAX_THREAD_TOKENS", 1)
    assert hits_of(filtered, source="codex") == {("0aaa-codex", 0), ("0aaa-codex", 1), ("0bcc-other", 0)}
    assert hits_of(filtered, project="/w/api") == {("0aaa-codex", 0), ("0aaa-codex", 1), ("0abb-claude", 0)}
    assert hits_of(filtered, since_ms=T0 + 5_000) == {("0aaa-codex", 1), ("0abb-claude", 0)}


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"thread": "0a"}, "ambiguous_thread"),
        ({"thread": "zz"}, "unknown_thread"),
        ({"source": "gemini"}, "bad_filter"),
        ({"roles": ("robot",)}, "bad_filter"),
        ({"kinds": ("a b",)}, "bad_filter"),
        ({"since_ms": 10, "until_ms": 5}, "bad_filter"),
        ({"limit": 0}, "bad_limit"),
        ({"cursor": "!!!"}, "bad_cursor"),
        ({"cursor": "OTk5OTk5OjE"}, "bad_cursor"),
    ],
)
def test_bad_filters_are_clear_errors(filtered: Store, kw: dict[str, Any], code: str) -> None:
    with pytest.raises(SearchError) as err:
        search(filtered, SearchQuery("token", **kw))
    assert err.value.code == code and err.value.message


def test_paging_is_complete_and_stable_while_rows_arrive(store: Store) -> None:
    store.apply_batch([thread("p")], [msg("p", i, f"needle {'x ' * (i % 7)}") for i in range(53)])
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = search(store, SearchQuery("needle", limit=10, cursor=cursor))
        seen += keys(page)
        pages += 1
        if pages == 2:  # rows stored meanwhile do not shift the later pages
            store.apply_batch([], [msg("p", 100 + i, "needle") for i in range(5)])
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 6 and len(seen) == 53 == len(set(seen))
    assert len(search(store, SearchQuery("needle", limit=100)).hits) == 58


def test_at_most_candidates_are_ranked(store: Store, monkeypatch: Any) -> None:
    import oa_actors.store.search as search_module

    monkeypatch.setattr(search_module, "CANDIDATES", 10)
    store.apply_batch([thread("c")], [msg("c", i, "common " + "w " * (30 - i)) for i in range(30)])
    page = search(store, SearchQuery("common", limit=20))
    assert sorted(h.seq for h in page.hits) == list(range(20, 30))  # the newest ten
    assert page.next_cursor is None
    assert CANDIDATES >= 1000


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_any_text_gives_hits_or_a_search_error(multilingual: Store, text: str) -> None:
    try:
        page = search(multilingual, SearchQuery(text))
    except SearchError as exc:
        assert exc.code in ("empty_query", "query_too_long")
        return
    assert len(page.hits) <= 20


def test_a_store_without_the_index_says_how_to_build_it(store: Store) -> None:
    store.conn.execute("UPDATE schema_version SET version = 2")
    with pytest.raises(SearchError) as err:
        search(store, SearchQuery("x"))
    assert err.value.code == "no_index" and "oa-supervisor run" in err.value.message
