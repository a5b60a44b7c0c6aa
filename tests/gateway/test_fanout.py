"""200 concurrent clients, one of which never reads: the others get every event, the slow one is
disconnected (1013) and counted, and neither `publish_rows` nor `broadcast` ever waits for it."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.gateway.conftest import call, message_row, open_client, raw_upgrade

CLIENTS = 200
WAVE = 16  # events published between two checks; below the send queue, so a reader never overflows


@pytest.mark.slow
async def test_200_clients_one_never_reads(make_server):
    server = await make_server(send_queue=64, write_limit=4096, socket_send_buffer=8192, max_clients=256)
    fast = [await open_client(server) for _ in range(CLIENTS - 1)]
    for ws in fast:
        assert (await call(ws, "messages.forThread", threadId="live", subscribe=True))["result"]["subscribed"]
    # The never-reading client: handshake, subscribe, then silence with a tiny receive buffer.
    reader, writer = await raw_upgrade(server, rcvbuf=4096)
    slow_info = server.client_infos()[-1]
    slow = server._clients[slow_info.id]
    server.subscribe_thread(slow, "live")  # as if it had sent messages.forThread subscribe

    received = [0] * len(fast)
    seqs: list[list[int]] = [[] for _ in fast]

    async def read(i: int, ws) -> None:
        async for text in ws:
            frame = json.loads(text)
            if frame.get("event") == "rows.messages":
                seqs[i].extend(r["seq"] for r in frame["data"]["rows"])
                received[i] += 1

    readers = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(fast)]
    pad = "x" * 2000
    published = 0
    while slow_info.id in server._clients or not server.counters["slowDisconnects"]:
        for _ in range(WAVE):
            queued = server.publish_rows("messages", [message_row("live", published, pad)])
            assert queued >= len(fast)  # never blocks, never skips a reading client
            published += 1
        while min(received) < published:  # every reading client caught up with the wave
            await asyncio.sleep(0.005)
        assert published < 20_000, "the never-reading client was not disconnected"
    assert server.counters["slowDisconnects"] == 1 and server.counters["dropped"] >= 1
    assert server.clients == len(fast)
    # After the slow one is gone the others still get every event, in order.
    for _ in range(WAVE):
        server.publish_rows("messages", [message_row("live", published, pad)])
        published += 1
    while min(received) < published:
        await asyncio.sleep(0.005)
    assert all(s == list(range(published)) for s in seqs)
    status = server.status()
    assert status["counters"]["slowDisconnects"] == 1 and status["clients"] == len(fast)
    print(f"published {published} events to {len(fast)} readers; slow client cut after ~{published - WAVE}")
    writer.close()
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    for ws in fast:
        await ws.close()
    del reader
