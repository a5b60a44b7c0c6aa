"""One connected client: its bounded send queue, its writer, its subscriptions.

Sending a frame (`offer`) never awaits. When nothing is queued for the client and its transport
buffer is below `write_limit`, the frame joins the client's pending bytes, written to the transport
in one write at the end of the event-loop tick (the fast path: no task switch per client, and a
burst of events costs one system call per client, not one per event); otherwise it is queued and
the client's writer task sends it through the library, waiting for the socket to drain. A full queue means the client does not
keep up: `offer` returns False and the server disconnects it.

The fast path writes a complete, unmasked RFC 6455 text frame to the transport itself, only while
the connection is OPEN and compression is off (a server frame is then the header plus the payload,
exactly what the library would write); the library keeps writing its own frames (pings, close) and
every write is a whole frame, so they never interleave mid-frame.
"""

from __future__ import annotations

import asyncio
import struct

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from oa_actors.gateway.handler import ClientInfo


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked text frame (FIN + opcode 1) carrying `payload` (server to client)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


class Client:
    """A connection with its queue, writer task, subscriptions and delegated requests in flight."""

    __slots__ = (
        "closing",
        "direct",
        "inflight",
        "info",
        "pending",
        "pending_size",
        "queue",
        "sending",
        "thread_subs",
        "threads_sub",
        "write_limit",
        "writer",
        "ws",
    )

    def __init__(
        self, ws: ServerConnection, info: ClientInfo, queue_size: int, write_limit: int, direct: bool
    ) -> None:
        self.ws = ws
        self.info = info
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(queue_size)
        self.write_limit = write_limit
        self.direct = direct  # the fast path is allowed (no compression)
        self.writer: asyncio.Task[None] | None = None
        self.sending = False  # the writer is between taking a frame and having sent it
        self.threads_sub = False
        self.thread_subs: set[str] = set()
        self.inflight: set[asyncio.Task[None]] = set()
        self.closing = False
        self.pending: list[bytes] = []  # fast-path frames written at the end of this loop tick
        self.pending_size = 0

    def start(self) -> None:
        self.writer = asyncio.get_running_loop().create_task(self._write_loop())

    def _can_write(self) -> bool:
        transport = self.ws.transport
        return (
            self.direct
            and self.ws.protocol.state is State.OPEN
            and not transport.is_closing()
            and transport.get_write_buffer_size() + self.pending_size < self.write_limit
        )

    def _flush(self) -> None:
        """Write the pending frames in one call (dropped if the connection is no longer open)."""
        if not self.pending:
            return
        data = self.pending[0] if len(self.pending) == 1 else b"".join(self.pending)
        self.pending.clear()
        self.pending_size = 0
        if self.ws.protocol.state is State.OPEN and not self.ws.transport.is_closing():
            self.ws.transport.write(data)

    def offer(self, payload: bytes) -> bool:
        """Send or queue one frame; False if the queue is full (the client is too slow)."""
        if not self.sending and self.queue.empty() and self._can_write():
            frame = text_frame(payload)
            if not self.pending:
                asyncio.get_running_loop().call_soon(self._flush)
            self.pending.append(frame)
            self.pending_size += len(frame)
            return True
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
                self._flush()  # frames offered before this one go first
                await ws.send(payload, text=True)  # waits while the socket's buffer is full
                while not queue.empty() and self._can_write():  # the backlog, in one write
                    frame = text_frame(queue.get_nowait())
                    self.pending.append(frame)
                    self.pending_size += len(frame)
                self._flush()
                self.sending = False
        except ConnectionClosed:
            pass

    def discard_queue(self) -> int:
        """Drop every queued and pending frame; returns how many."""
        n = len(self.pending)
        self.pending.clear()
        self.pending_size = 0
        while not self.queue.empty():
            self.queue.get_nowait()
            n += 1
        return n
