"""Live queries: rows passed to `publish_rows` reach exactly the subscribed clients; run events
are broadcast; subscriptions end with `unsubscribe` or the connection."""

from __future__ import annotations

import asyncio
import random

import pytest

from oa_actors.store import Store
from oa_actors.verbs.events import RUN_STATE, RUN_STDOUT, RunState, RunStdout
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


def run_state(run_id: str, status: str) -> RunState:
    return RunState(
        runId=run_id,
        threadDocId="doc",
        text="hi",
        provider="codex",
        projectId=None,
        cwd=None,
        resumeId=None,
        sessionId=None,
        status=status,
        exitCode=None,
        error=None,
        createdAt=1,
        updatedAt=2,
        lines=0,
    )


async def test_broadcast_send_to_and_other_tables(make_server):
    server = await make_server()
    clients = [await open_client(server) for _ in range(3)]
    stdout = RunStdout(runId="r1", threadDocId="doc", provider="codex", line={})
    assert server.broadcast(RUN_STDOUT, stdout) == 3
    for ws in clients:
        assert await recv_json(ws) == {
            "type": "event",
            "event": "run.stdout",
            "data": {"runId": "r1", "threadDocId": "doc", "provider": "codex", "line": {}},
        }
    assert server.publish_rows("projects", [{"id": "p"}]) == 3
    for ws in clients:
        assert (await recv_json(ws))["event"] == "rows.projects"
    assert server.publish_removed("skills", ["personal:lint"]) == 3
    for ws in clients:
        assert (await recv_json(ws))["data"] == {"keys": ["personal:lint"]}
    first = server.client_infos()[0].id
    assert server.send_to(first, RUN_STATE, run_state("r1", "done"))
    assert not server.send_to("c999", RUN_STATE, run_state("r1", "done"))
    frame = await recv_json(clients[0])
    assert frame["event"] == "run.state" and frame["data"]["status"] == "done"
    assert (await call(clients[1], "ping", "p"))["id"] == "p"
    with pytest.raises(KeyError):  # an undeclared table has no event
        server.publish_rows("nope", [{"id": "x"}])
    with pytest.raises(TypeError):  # an event carries its declared data Struct only
        server.broadcast(RUN_STATE, stdout)  # type: ignore[arg-type]
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
    """Small and large frames (7-, 16- and 64-bit lengths), in order, across `broadcast()` and the
    queued path (a large frame fills the small socket buffer and the write buffer, so the next ones
    are queued). The pads are random letters, so that compression keeps them large."""
    server = await make_server(compression=compression, write_limit=16 * 1024, socket_send_buffer=8192)
    ws = await open_client(server, max_size=None)
    sizes = [10, 200, 70_000, 5, 300_000, 125, 126, 65_535, 65_536, 1]
    pads = ["".join(random.Random(i).choices("abcdefghé", k=size)) for i, size in enumerate(sizes)]
    for i, pad in enumerate(pads):
        line = {"i": i, "pad": pad}
        assert (
            server.broadcast(RUN_STDOUT, RunStdout(runId="r", threadDocId="d", provider="codex", line=line))
            == 1
        )
    client = next(iter(server._clients.values()))
    assert client.queue.qsize() > 0  # the frames after the large one took the queued path
    for i in range(len(sizes)):
        frame = await recv_json(ws)
        assert frame["data"]["line"] == {"i": i, "pad": pads[i]}
    assert (await call(ws, "ping", "after"))["id"] == "after"
    await ws.close()
