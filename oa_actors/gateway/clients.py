"""One connected client: its bounded send queue, its writer task, its subscriptions; and `fan_out`.

Everything is sent through the `websockets` API, and nothing here ever awaits the client:

- Events for many clients (`fan_out`) go out with one `websockets.broadcast()` call to every client
  that is *ready*: nothing queued or being sent, connection open, transport buffer below
  `write_limit`. `broadcast()` writes at once and never waits.
- Every other frame, and every frame for a client that is not ready, joins that client's bounded
  queue; its writer task sends them in order with `ServerConnection.send()`, which waits while the
  socket's buffer is above the library's `write_limit`. Replies always take this path.

A frame goes directly only when the client's queue is empty and nothing is being sent, so each
client receives its frames in the order they were offered. A full queue means the client does not
keep up: the caller is told (False) and the server disconnects it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from oa_actors.gateway.auth import Principal
from oa_actors.gateway.handler import ClientInfo

log = logging.getLogger(__name__)


def client_info(ws: ServerConnection, client_id: str) -> ClientInfo:
    """Who is connected on `ws`: its id, its address, since when, its User-Agent."""
    addr = ws.remote_address
    remote = f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) and len(addr) >= 2 else str(addr)
    request = ws.request
    agent = request.headers.get("User-Agent") if request is not None else None
    return ClientInfo(id=client_id, remote=remote, connected_at=time.time(), user_agent=agent)


class Client:
    """A connection with its queue, writer task, subscriptions and delegated requests in flight."""

    __slots__ = (
        "closing",
        "inflight",
        "info",
        "principal",
        "queue",
        "sending",
        "thread_subs",
        "threads_sub",
        "write_limit",
        "writer",
        "ws",
    )

    def __init__(self, ws: ServerConnection, info: ClientInfo, queue_size: int, write_limit: int) -> None:
        self.ws = ws
        self.info = info
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(queue_size)
        self.write_limit = write_limit
        self.writer: asyncio.Task[None] | None = None
        self.sending = False  # the writer is between taking a frame and having sent it
        self.threads_sub = False
        self.thread_subs: set[str] = set()
        self.inflight: set[asyncio.Task[None]] = set()
        self.closing = False
        self.principal: Principal | None = None  # who authenticated this connection (auth.py)

    def start(self) -> None:
        self.writer = asyncio.get_running_loop().create_task(self._write_loop())

    def ready(self) -> bool:
        """Whether a frame may be broadcast to this client now (see the module docstring)."""
        return (
            not self.sending
            and self.queue.empty()
            and self.ws.protocol.state is State.OPEN
            and self.ws.transport.get_write_buffer_size() < self.write_limit
        )

    def enqueue(self, payload: bytes) -> bool:
        """Queue one frame for the writer task; False if the queue is full (the client is too slow)."""
        try:
            self.queue.put_nowait(payload)
        except asyncio.QueueFull:
            return False
        return True

    async def _write_loop(self) -> None:
        queue, ws = self.queue, self.ws
        try:
            while True:
                payload = await queue.get()
                self.sending = True
                await ws.send(payload, text=True)  # waits while the socket's buffer is full
                self.sending = False
        except ConnectionClosed:
            pass

    def discard_queue(self) -> int:
        """Drop every queued frame; returns how many."""
        n = 0
        while not self.queue.empty():
            self.queue.get_nowait()
            n += 1
        return n


def fan_out(clients: Iterable[Client], payload: bytes) -> tuple[int, list[Client]]:
    """Send one text frame to `clients` without waiting: `broadcast()` to the ready ones, the queue of
    the others. Returns (frames written or queued, clients whose queue was full)."""
    ready: list[ServerConnection] = []
    queued = 0
    full: list[Client] = []
    for client in clients:
        if client.ready():
            ready.append(client.ws)
        elif client.enqueue(payload):
            queued += 1
        else:
            full.append(client)
    failed = 0
    if ready:
        try:
            broadcast(ready, payload, text=True, raise_exceptions=True)
        except ExceptionGroup as group:  # a transport failed under us: its connection is closing
            failed = len(group.exceptions)
            log.warning("broadcast: %d of %d writes failed: %s", failed, len(ready), group.exceptions[0])
    return len(ready) - failed + queued, full
