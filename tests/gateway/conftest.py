"""Fixtures of the bridge tests: a temp store with rows, a fake handler, servers on 127.0.0.1:0."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from oa_actors.gateway import BridgeServer, ClientInfo, GatewaySettings, NotFound, VerbHandler
from oa_actors.store import Store

TOKEN = "test-token-0123456789abcdefghijklmnop"


def thread_row(tid: str, updated: int | None, title: str = "t") -> dict[str, Any]:
    return {"threadId": tid, "source": "codex", "title": title, "createdAt": 1, "updatedAt": updated}


def message_row(tid: str, seq: int, text: str = "hello") -> dict[str, Any]:
    return {
        "threadId": tid,
        "key": f"{tid}-{seq:06d}",
        "seq": seq,
        "ts": 1000 + seq,
        "role": "assistant",
        "kind": "message",
        "text": text,
        "data": None,
        "turnId": None,
    }


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """A store with 5 threads (updatedAt 100..500) and 30 messages in thread t1."""
    path = tmp_path / "store.sqlite3"
    with Store.open(path) as store:
        store.apply_batch(threads=[thread_row(f"t{i}", i * 100, f"title {i}") for i in range(1, 6)])
        store.apply_batch(messages=[message_row("t1", seq) for seq in range(30)])
    return path


class FakeHandler(VerbHandler):
    """Records calls; answers from a script; `slow` verbs wait on `release`."""

    def __init__(self) -> None:
        import asyncio

        self.calls: list[tuple[str, dict[str, Any], ClientInfo]] = []
        self.release = asyncio.Event()

    async def handle(self, verb: str, args: dict[str, Any], client: ClientInfo) -> dict[str, Any] | None:
        self.calls.append((verb, args, client))
        if verb == "project.delete" and args["projectId"] == "missing":
            raise NotFound("no project missing")
        if verb == "skills" and args.get("projectId") == "boom":
            raise RuntimeError("secret internal detail")
        if verb == "convex.backfill":
            await self.release.wait()
        if verb == "sessions.watch_status":
            return None
        return {"verb": verb, "args": args, "client": client.id}


ServerFactory = Callable[..., Awaitable[BridgeServer]]


@pytest.fixture
async def make_server(store_path: Path) -> AsyncIterator[ServerFactory]:
    """Start servers on 127.0.0.1:0 with test settings; every one is stopped at the end of the test."""
    servers: list[BridgeServer] = []

    async def make(
        handler: VerbHandler | None = None, store: Path | str | None = "default", **overrides: Any
    ) -> BridgeServer:
        values: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "token": TOKEN, "close_timeout": 1.0}
        values.update(overrides)
        server = BridgeServer(GatewaySettings(**values), handler, store_path if store == "default" else store)
        await server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.stop()


def url(server: BridgeServer, token: str | None = None, path: str = "/ws") -> str:
    base = f"ws://127.0.0.1:{server.port}{path}"
    return base if token is None else f"{base}?token={token}"


async def open_client(server: BridgeServer, **kwargs: Any) -> ClientConnection:
    """A `websockets` client with the token in the Authorization header; the hello event is consumed."""
    ws = await connect(url(server), additional_headers={"Authorization": f"Bearer {TOKEN}"}, **kwargs)
    hello = json.loads(await ws.recv())
    assert hello["type"] == "event" and hello["event"] == "bridge.hello"
    return ws


async def recv_json(ws: ClientConnection) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await ws.recv())
    return frame


async def call(ws: ClientConnection, control: str, request_id: Any = 1, **fields: Any) -> dict[str, Any]:
    """Send one request; return the next frame (tests that expect events in between read them directly)."""
    await ws.send(json.dumps({"control": control, "id": request_id, **fields}))
    return await recv_json(ws)


async def raw_upgrade(server: BridgeServer, rcvbuf: int | None = None) -> tuple[Any, Any]:
    """A bare TCP client that completes the WebSocket handshake and then does nothing on its own
    (never reads unless the test does, never answers pings). Returns (reader, writer)."""
    import asyncio
    import base64
    import os
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
    reader, writer = await asyncio.open_connection(sock=sock)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /ws?token={TOKEN} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer
