"""Every verb over a real `websockets` client: local queries, delegated verbs, errors that keep the
connection open, replies only to the requester."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from oa_actors.gateway.queries import cut_page
from oa_actors.store import Store
from tests.gateway.conftest import FakeHandler, call, message_row, open_client, recv_json, thread_row


async def test_threads_list_pages(make_server):
    server = await make_server()
    ws = await open_client(server)
    r = await call(ws, "threads.list", 7, limit=2)
    assert r["type"] == "reply" and r["id"] == 7 and r["control"] == "threads.list" and r["ok"] is True
    page = r["result"]
    assert [t["threadId"] for t in page["threads"]] == ["t5", "t4"]
    assert page["hasMore"] is True and page["nextBeforeUpdatedAt"] == 400 and page["subscribed"] is False
    seen = [t["threadId"] for t in page["threads"]]
    while page["hasMore"]:
        page = (await call(ws, "threads.list", "n", limit=2, beforeUpdatedAt=page["nextBeforeUpdatedAt"]))[
            "result"
        ]
        seen += [t["threadId"] for t in page["threads"]]
    assert seen == ["t5", "t4", "t3", "t2", "t1"]
    assert (await call(ws, "threads.list"))["result"]["hasMore"] is False  # default page holds all 5
    await ws.close()


async def test_messages_for_thread_pages(make_server):
    server = await make_server(messages_page_max=12)
    ws = await open_client(server)
    r = (await call(ws, "messages.forThread", threadId="t1", limit=10))["result"]
    assert [m["seq"] for m in r["messages"]] == list(range(10))
    assert (
        r["threadId"] == "t1"
        and r["thread"]["title"] == "title 1"
        and r["hasMore"]
        and r["nextAfterSeq"] == 9
    )
    assert r["messages"][0] == message_row("t1", 0)
    r = (await call(ws, "messages.forThread", threadId="t1", afterSeq=9, limit=500))["result"]
    assert [m["seq"] for m in r["messages"]] == list(range(10, 22))  # clamped to messages_page_max
    r = (await call(ws, "messages.forThread", threadId="t1", afterSeq=27))["result"]
    assert [m["seq"] for m in r["messages"]] == [28, 29] and r["hasMore"] is False
    r = (await call(ws, "messages.forThread", threadId="nope"))["result"]
    assert r == {
        "threadId": "nope",
        "thread": None,
        "messages": [],
        "hasMore": False,
        "nextAfterSeq": -1,
        "subscribed": False,
    }
    await ws.close()


async def test_pages_never_split_equal_cursors(make_server, tmp_path):
    path = tmp_path / "eq.sqlite3"
    with Store.open(path) as store:
        store.apply_batch(
            threads=[thread_row(f"a{i}", 100) for i in range(3)]
            + [thread_row("b", 50)]
            + [thread_row(f"n{i}", None) for i in range(3)]
        )
    server = await make_server(store=path)
    ws = await open_client(server)
    seen, page = [], {"hasMore": True, "nextBeforeUpdatedAt": None}
    while page["hasMore"]:
        fields = {"limit": 2}
        if page["nextBeforeUpdatedAt"] is not None:
            fields["beforeUpdatedAt"] = page["nextBeforeUpdatedAt"]
        page = (await call(ws, "threads.list", **fields))["result"]
        seen += [t["threadId"] for t in page["threads"]]
    assert sorted(seen) == sorted(["a0", "a1", "a2", "b", "n0", "n1", "n2"]) and len(seen) == 7
    await ws.close()


async def test_fractional_seqs_sort_and_page(make_server, tmp_path):
    """Claude Code rows written late get a seq between two others (docs/rows.md): they are stored,
    ordered and paged like any seq, and a fractional `nextAfterSeq` is a valid `afterSeq`."""
    path = tmp_path / "frac.sqlite3"
    seqs = [0, 1, 2, 3]
    late = [0.5, 0.75, 2.5]
    with Store.open(path) as store:
        store.apply_batch(messages=[message_row("t", s) for s in seqs])
        store.apply_batch(messages=[dict(message_row("t", 9), key=f"late-{s}", seq=s) for s in late])
    server = await make_server(store=path)
    ws = await open_client(server)
    seen: list[float] = []
    page = {"hasMore": True, "nextAfterSeq": -1}
    while page["hasMore"]:
        page = (await call(ws, "messages.forThread", threadId="t", limit=2, afterSeq=page["nextAfterSeq"]))[
            "result"
        ]
        seen += [m["seq"] for m in page["messages"]]
    assert seen == [0, 0.5, 0.75, 1, 2, 2.5, 3]
    assert [type(s) for s in seen] == [int, float, float, int, int, float, int]
    await ws.close()


def test_cut_page_rules():
    rows = [{"k": k} for k in [1, 2, 2, 2, 3]]
    key = lambda r: r["k"]  # noqa: E731
    assert cut_page(rows, 2, 10**6, key) == 1  # back off before the run of 2s
    assert cut_page(rows, 1, 10**6, key) == 1
    assert cut_page([{"k": 2}] * 3 + [{"k": 3}], 2, 10**6, key) == 3  # run at the start: extend past it
    assert cut_page(rows, 10, 10**6, key) == 5
    assert cut_page([{"k": 1, "x": "y" * 100}, {"k": 2, "x": "y" * 100}], 2, 50, key) == 1  # byte budget
    assert cut_page([], 5, 10, key) == 0


async def test_missing_store_gives_empty_pages(make_server, tmp_path):
    server = await make_server(store=tmp_path / "absent.sqlite3")
    ws = await open_client(server)
    assert (await call(ws, "threads.list"))["result"]["threads"] == []
    assert (await call(ws, "messages.forThread", threadId="t1"))["result"]["messages"] == []
    assert (await call(ws, "bridge.status"))["result"]["store"] == {"available": False}
    with Store.open(tmp_path / "absent.sqlite3") as store:  # created later: found on the next query
        store.apply_batch(threads=[thread_row("late", 1)])
    assert [t["threadId"] for t in (await call(ws, "threads.list"))["result"]["threads"]] == ["late"]
    await ws.close()


async def test_bridge_status_and_ping(make_server):
    server = await make_server()
    ws = await open_client(server)
    r = (await call(ws, "bridge.status", "s"))["result"]
    assert r["clients"] == 1 and r["protocol"] == 1 and r["uptimeMs"] >= 0 and r["store"]["available"] is True
    assert r["counters"]["connections"] == 1 and r["counters"]["slowDisconnects"] == 0
    assert r["limits"]["maxClients"] == 256 and r["you"]["clientId"].startswith("c")
    assert "token" not in json.dumps(r).lower()
    p = await call(ws, "ping", None)
    assert p["id"] is None and p["result"]["pong"] is True and isinstance(p["result"]["serverTime"], int)
    await ws.close()


DELEGATED: list[tuple[str, dict[str, Any]]] = [
    ("run.submit", {"threadDocId": "doc1", "text": "hi", "projectId": "p", "resumeId": "r"}),
    ("run.submit", {"threadDocId": "doc1", "text": "hi"}),
    ("interrupt", {"runId": "run-1"}),
    ("interrupt", {"threadId": "t1"}),
    ("convex.status", {}),
    ("projects", {}),
    ("project.save", {"project": {"name": "P", "workingDir": "/tmp"}}),
    ("project.delete", {"projectId": "p1"}),
    ("skills", {}),
    ("skills", {"projectId": "p1"}),
]


async def test_delegated_verbs_reach_the_handler_and_reply_to_the_requester_only(make_server):
    handler = FakeHandler()
    server = await make_server(handler)
    a, b = await open_client(server), await open_client(server)
    for i, (verb, args) in enumerate(DELEGATED):
        r = await call(a, verb, f"req-{i}", **args, ignored="x")
        assert r == {
            "type": "reply",
            "id": f"req-{i}",
            "control": verb,
            "ok": True,
            "result": {"verb": verb, "args": args, "client": "c1"},
        }
    assert [(v, args) for v, args, _ in handler.calls] == DELEGATED  # unknown fields are not passed on
    assert (await call(a, "sessions.watch_status"))["result"] == {}  # None -> {}
    handler.release.set()
    assert (await call(a, "convex.backfill", 99))["result"]["verb"] == "convex.backfill"
    # b never saw any of a's replies: its next frame is the reply to its own request.
    r = await call(b, "ping", "b1")
    assert r["id"] == "b1" and r["control"] == "ping"
    assert server.counters["replies"] == len(DELEGATED) + 3
    await a.close()
    await b.close()


async def test_handler_errors(make_server):
    handler = FakeHandler()
    server = await make_server(handler, handler_timeout=0.2, max_inflight=1)
    ws = await open_client(server)
    r = await call(ws, "project.delete", 1, projectId="missing")
    assert r == {
        "type": "error",
        "id": 1,
        "control": "project.delete",
        "ok": False,
        "error": {"code": "not_found", "message": "no project missing"},
    }
    r = await call(ws, "skills", 2, projectId="boom")
    assert r["error"]["code"] == "internal" and "secret" not in r["error"]["message"]
    r = await call(ws, "convex.backfill", 3)  # never released: timeout
    assert r["error"]["code"] == "timeout" and r["id"] == 3
    await ws.send(json.dumps({"control": "convex.backfill", "id": 4}))
    await asyncio.sleep(0)
    r = await call(ws, "convex.status", 5)  # one in flight already (max_inflight=1)
    assert (r["id"], r["error"]["code"]) == (5, "busy")
    handler.release.set()
    assert (await recv_json(ws))["id"] == 4
    await ws.close()


async def test_no_handler_means_unavailable(make_server):
    server = await make_server(None)
    ws = await open_client(server)
    r = await call(ws, "run.submit", 1, threadDocId="d", text="t")
    assert r["error"]["code"] == "unavailable"
    await ws.close()


BAD = [
    ("{not json", "bad_json", None),
    ("[1, 2]", "bad_json", None),
    ('"text"', "bad_json", None),
    ("{}", "bad_request", None),
    ('{"control": 5, "id": 1}', "bad_request", 1),
    ('{"control": "nope.verb", "id": 2}', "unknown_verb", 2),
    ('{"control": "threads.list", "id": 3, "limit": "5"}', "bad_request", 3),
    ('{"control": "threads.list", "id": 4, "limit": true}', "bad_request", 4),
    ('{"control": "threads.list", "id": 5, "limit": 0}', "bad_request", 5),
    ('{"control": "threads.list", "id": 6, "subscribe": "yes"}', "bad_request", 6),
    ('{"control": "messages.forThread", "id": 7}', "bad_request", 7),
    ('{"control": "messages.forThread", "id": 8, "threadId": 3}', "bad_request", 8),
    ('{"control": "messages.forThread", "id": 9, "threadId": "t", "afterSeq": "1.5"}', "bad_request", 9),
    ('{"control": "messages.forThread", "id": 9, "threadId": "t", "afterSeq": -1.5}', "bad_request", 9),
    ('{"control": "messages.forThread", "id": 9, "threadId": "t", "afterSeq": true}', "bad_request", 9),
    ('{"control": "run.submit", "id": 10, "threadDocId": "d"}', "bad_request", 10),
    ('{"control": "run.submit", "id": 11, "threadDocId": "d", "text": "  "}', "bad_request", 11),
    ('{"control": "interrupt", "id": 12}', "bad_request", 12),
    ('{"control": "interrupt", "id": 13, "runId": "r", "threadId": "t"}', "bad_request", 13),
    ('{"control": "project.save", "id": 14, "project": "p"}', "bad_request", 14),
    ('{"control": "unsubscribe", "id": 15, "query": "everything"}', "bad_request", 15),
    ('{"control": "ping", "id": {"x": 1}}', "bad_request", None),
    ('{"control": "ping", "id": true}', "bad_request", None),
]


async def test_malformed_frames_get_error_replies_and_the_connection_stays(make_server):
    handler = FakeHandler()
    server = await make_server(handler)
    ws = await open_client(server)
    for text, code, request_id in BAD:
        await ws.send(text)
        r = await recv_json(ws)
        assert r["type"] == "error" and r["ok"] is False, text
        assert (r["error"]["code"], r["id"]) == (code, request_id), (text, r)
        assert r["error"]["message"]
    await ws.send(b'{"control": "ping", "id": "bin"}')
    r = await recv_json(ws)
    assert r["error"]["code"] == "bad_request" and "binary" in r["error"]["message"]
    assert (await call(ws, "ping", "alive"))["result"]["pong"] is True
    assert handler.calls == [] and server.counters["errors"] == len(BAD) + 1
    await ws.close()
