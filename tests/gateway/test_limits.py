"""Frame limits (soft `too_large` reply, hard 1009 close), ping/pong keepalive, stop()."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.exceptions import ConnectionClosed

from tests.gateway.conftest import call, open_client, raw_upgrade, recv_json


async def test_request_above_max_request_gets_too_large_and_stays(make_server):
    server = await make_server(max_request=1024, max_frame=4096)
    ws = await open_client(server)
    r = await call(ws, "run.submit", 1, threadDocId="d", text="x" * 2000)
    assert r["type"] == "error" and r["error"]["code"] == "too_large" and r["id"] is None
    assert r["error"]["details"] == {"limit": 1024}
    r = await call(ws, "ping", 2, pad="é" * 600)  # 1200 bytes in UTF-8, 600 characters
    assert r["error"]["code"] == "too_large"
    assert (await call(ws, "ping", 3))["result"]["pong"] is True
    await ws.close()


async def test_frame_above_max_frame_closes_with_1009_others_unaffected(make_server):
    server = await make_server(max_request=1024, max_frame=4096)
    big, other = await open_client(server, max_size=None), await open_client(server)
    await big.send(json.dumps({"control": "ping", "pad": "x" * 10_000}))
    with pytest.raises(ConnectionClosed) as info:
        await big.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009
    while server.clients > 1:
        await asyncio.sleep(0.01)
    assert server.counters["oversizedCloses"] == 1
    assert (await call(other, "ping", "ok"))["id"] == "ok"
    await other.close()


async def test_keepalive_pings_answered_keep_the_client(make_server):
    server = await make_server(ping_interval=0.05, ping_timeout=0.5)
    ws = await open_client(server)
    conn = next(iter(server._clients.values())).ws
    while conn.latency == 0:  # the server measured a pong from this client
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)  # several more ping intervals
    assert (await call(ws, "ping", "still"))["id"] == "still"
    await ws.close()


async def read_server_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One unmasked frame from the server: (opcode, payload)."""
    head = await reader.readexactly(2)
    n = head[1] & 0x7F
    if n == 126:
        n = int.from_bytes(await reader.readexactly(2), "big")
    elif n == 127:
        n = int.from_bytes(await reader.readexactly(8), "big")
    return head[0] & 0x0F, await reader.readexactly(n)


async def test_keepalive_drops_a_peer_that_never_answers_pings(make_server):
    server = await make_server(ping_interval=0.1, ping_timeout=0.1)
    reader, writer = await raw_upgrade(server)
    opcodes = []
    while True:  # the hello event, pings (never answered), then the close frame
        opcode, payload = await asyncio.wait_for(read_server_frame(reader), 5)
        opcodes.append(opcode)
        if opcode == 0x8:
            break
    assert opcodes[0] == 0x1 and 0x9 in opcodes  # a text frame (hello), then at least one ping
    code = int.from_bytes(payload[:2], "big")
    assert (code, payload[2:].decode()) == (1011, "keepalive ping timeout")
    async with asyncio.timeout(5):
        while server.clients:
            await asyncio.sleep(0.02)
    assert server.status()["clients"] == 0
    writer.close()


async def test_stop_closes_clients_with_1001(make_server):
    server = await make_server()
    ws = await open_client(server)
    await call(ws, "threads.list", subscribe=True)
    await server.stop()
    with pytest.raises(ConnectionClosed) as info:
        await recv_json(ws)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1001
    await server.stop()  # idempotent
