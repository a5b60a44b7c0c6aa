"""Live queries: rows passed to `publish_rows` reach exactly the subscribed clients; run events
are broadcast; subscriptions end with `unsubscribe` or the connection."""

from __future__ import annotations

import asyncio

import pytest

from oa_actors.store import Store
from tests.gateway.conftest import call, message_row, open_client, recv_json, thread_row


async def test_threads_subscription_receives_committed_rows(make_server):
    server = await make_server()
    sub, other = await open_client(server), await open_client(server)
    r = (await call(sub, "threads.list", 1, limit=1, subscribe=True))["result"]
    assert r["subscribed"] is True and len(r["threads"]) == 1
    rows = [thread_row("t9", 900, "new")]
    assert server.publish_rows("threads", rows) == 1
    ev = await recv_json(sub)
    assert ev == {"type": "event", "event": "rows.threads", "data": {"rows": rows}}
    assert (await call(other, "ping", "o"))["id"] == "o"  # the non-subscriber got nothing before it
    r = await call(sub, "unsubscribe", 2, query="threads.list")
    assert r["result"] == {"query": "threads.list", "threadId": None, "removed": 1}
    assert server.publish_rows("rows.threads", rows) == 0
    assert (await call(sub, "ping", "after"))["id"] == "after"
    await sub.close()
    await other.close()


async def test_message_subscription_gets_only_its_thread(make_server):
    server = await make_server()
    a, b = await open_client(server), await open_client(server)
    assert (await call(a, "messages.forThread", 1, threadId="t1", afterSeq=25, subscribe=True))["result"][
        "subscribed"
    ]
    assert (await call(b, "messages.forThread", 1, threadId="t2", subscribe=True))["result"]["subscribed"]
    batch = [message_row("t1", 30), message_row("t2", 0), message_row("t1", 31), message_row("t3", 0)]
    assert server.publish_rows("messages", batch) == 2  # one frame per (thread, subscriber)
    ev = await recv_json(a)
    assert ev["event"] == "rows.messages" and ev["data"] == {"threadId": "t1", "rows": [batch[0], batch[2]]}
    ev = await recv_json(b)
    assert ev["data"] == {"threadId": "t2", "rows": [batch[1]]}
    status = (await call(a, "bridge.status"))["result"]
    assert status["subscriptions"] == {"threads": 0, "messageThreads": 2}
    assert status["you"]["messageThreads"] == ["t1"]
    assert (await call(a, "unsubscribe", query="messages.forThread", threadId="t1"))["result"]["removed"] == 1
    assert (await call(b, "unsubscribe", query="messages.forThread"))["result"]["removed"] == 1
    assert server.publish_rows("messages", batch) == 0
    await a.close()
    await b.close()


async def test_rows_committed_to_the_store_reach_subscribers(make_server, store_path):
    server = await make_server()
    ws = await open_client(server)
    page = (await call(ws, "messages.forThread", threadId="t1", afterSeq=28, subscribe=True))["result"]
    assert page["messages"] == [message_row("t1", 29)]
    with Store.open(store_path) as store:  # the writer commits, then the bus delivers the fresh rows
        applied = store.apply_batch(messages=[message_row("t1", 29), message_row("t1", 30, "fresh")])
    assert [m["seq"] for m in applied.messages] == [30]
    server.publish_rows("messages", applied.messages)
    ev = await recv_json(ws)
    assert ev["data"]["rows"][0]["text"] == "fresh"
    nxt = (await call(ws, "messages.forThread", threadId="t1", afterSeq=page["nextAfterSeq"]))["result"]
    assert [m["seq"] for m in nxt["messages"]] == [30]
    await ws.close()


async def test_broadcast_send_to_and_other_tables(make_server):
    server = await make_server()
    clients = [await open_client(server) for _ in range(3)]
    assert server.broadcast({"event": "run.stdout", "data": {"runId": "r1", "line": "{}"}}) == 3
    for ws in clients:
        assert await recv_json(ws) == {
            "type": "event",
            "event": "run.stdout",
            "data": {"runId": "r1", "line": "{}"},
        }
    assert server.publish_rows("projects", [{"id": "p"}]) == 3
    for ws in clients:
        assert (await recv_json(ws))["event"] == "rows.projects"
    first = server.client_infos()[0].id
    assert server.send_to(first, {"type": "event", "event": "run.state", "data": {"state": "done"}})
    assert not server.send_to("c999", {"event": "x"})
    assert (await recv_json(clients[0]))["event"] == "run.state"
    assert (await call(clients[1], "ping", "p"))["id"] == "p"
    for ws in clients:
        await ws.close()


async def test_subscriptions_end_with_the_connection(make_server):
    server = await make_server()
    ws = await open_client(server)
    await call(ws, "threads.list", subscribe=True)
    await call(ws, "messages.forThread", threadId="t1", subscribe=True)
    assert server.status()["subscriptions"] == {"threads": 1, "messageThreads": 1}
    await ws.close()
    while server.clients:
        await asyncio.sleep(0.01)
    assert server.status()["subscriptions"] == {"threads": 0, "messageThreads": 0}
    assert server.publish_rows("messages", [message_row("t1", 99)]) == 0


@pytest.mark.parametrize("compression", [False, True])
async def test_event_sizes_and_order_on_both_send_paths(make_server, compression):
    """Small and large frames (7-, 16- and 64-bit lengths), in order, across the direct and the queued
    path (a large frame fills the write buffer, so the next ones are queued)."""
    server = await make_server(compression=compression, write_limit=16 * 1024)
    ws = await open_client(server, max_size=None)
    sizes = [10, 200, 70_000, 5, 300_000, 125, 126, 65_535, 65_536, 1]
    for i, size in enumerate(sizes):
        assert server.broadcast({"event": "big", "data": {"i": i, "pad": "é" * size}}) == 1
    for i, size in enumerate(sizes):
        frame = await recv_json(ws)
        assert frame["data"]["i"] == i and len(frame["data"]["pad"]) == size
    assert (await call(ws, "ping", "after"))["id"] == "after"
    await ws.close()
