"""Length-prefixed frames over a Unix stream socket, as an asyncio Protocol.

Why a Protocol and not streams: the router handles every frame in `data_received` without a task
switch, coalesces writes (all frames queued in one loop iteration leave in one `writelines`), and uses
the transport's flow control directly: `pause_reading` when the consumer is full, `pause_writing` /
`drain()` when the peer is slow. Together these give backpressure end to end without dropping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import msgspec

from oa_actors.runtime.codec import MAX_FRAME, Message, encode_frame_into, frame_length

log = logging.getLogger("oa.runtime.transport")

#: Transport write-buffer limits: above HIGH the sender waits in `drain()` (and the router pauses
#: the sources feeding this connection).
HIGH_WATER = 4 * 1024 * 1024
LOW_WATER = 1024 * 1024
#: Queued bytes that trigger an immediate write (instead of waiting for the end of the iteration).
FLUSH_AT = 256 * 1024
#: Frames at least this big are written directly instead of being copied into the write buffer.
DIRECT_WRITE = 32 * 1024


class FrameProtocol(asyncio.Protocol):
    """Splits a byte stream into frames and hands each to `on_frame(frame)`.

    `on_frame` gets a `memoryview` of the whole frame, length prefix included (so the router can
    forward it unchanged; decoders skip the first 4 bytes). The view is over an immutable `bytes`
    object, so it may be kept or queued for writing. A frame longer than `max_frame` is
    skipped whole and reported through `on_oversized(size)`, so the stream stays in sync.
    """

    def __init__(
        self,
        on_frame: Callable[[memoryview], None],
        on_lost: Callable[[Exception | None], None] | None = None,
        on_oversized: Callable[[int], None] | None = None,
        max_frame: int = MAX_FRAME,
    ) -> None:
        self.on_frame = on_frame
        self.on_lost = on_lost
        self.on_oversized = on_oversized
        self.max_frame = max_frame
        self.transport: asyncio.Transport | None = None
        self._chunks: list[bytes] = []  # a partial frame, joined once complete (one copy)
        self._have = 0
        self._need = 4  # bytes needed in _chunks before parsing can progress
        self._skip = 0  # bytes of an oversized frame still to discard
        self._wbuf = bytearray()  # frames queued in this loop iteration, written together
        self._flush_scheduled = False
        self._write_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self.closed = False
        self.frames_in = 0
        self.frames_out = 0
        self.bytes_in = 0
        # Called with (paused: bool) when the peer's flow control changes (the router uses it).
        self.on_writable: Callable[[], None] | None = None

    # --- asyncio callbacks ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport, but have the same API.
        self.transport = transport  # type: ignore[assignment]
        transport.set_write_buffer_limits(high=HIGH_WATER, low=LOW_WATER)  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._wake_drainers(exc or ConnectionResetError("connection lost"))
        if self.on_lost is not None:
            self.on_lost(exc)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_drainers(None)
        if self.on_writable is not None:
            self.on_writable()

    def data_received(self, data: bytes) -> None:
        self.bytes_in += len(data)
        if self._skip:
            if len(data) <= self._skip:
                self._skip -= len(data)
                return
            data = data[self._skip :]
            self._skip = 0
        if self._chunks:
            self._chunks.append(data)
            self._have += len(data)
            if self._have < self._need:
                return  # a large frame still arriving: do not copy it per chunk
            data = b"".join(self._chunks)
            self._chunks.clear()
        view = memoryview(data)
        total = len(data)
        pos = 0
        on_frame = self.on_frame
        while total - pos >= 4:
            size = frame_length(view[pos : pos + 4])
            if size > self.max_frame:
                # Skip the oversized frame whole; what follows it is still a valid stream.
                avail = total - pos - 4
                if avail >= size:
                    pos += 4 + size
                else:
                    self._skip = size - avail
                    pos = total
                if self.on_oversized is not None:
                    self.on_oversized(size)
                continue
            end = pos + 4 + size
            if end > total:
                self._need = 4 + size
                break
            self.frames_in += 1
            on_frame(view[pos:end])
            pos = end
        else:
            self._need = 4
        if pos < total:
            rest = data[pos:] if pos else data
            self._chunks.append(rest)
            self._have = len(rest)

    # --- sending ---

    @property
    def write_paused(self) -> bool:
        """True while the peer reads slower than we write (transport buffer above the high mark)."""
        return self._write_paused

    def send(self, frame: bytes | memoryview) -> None:
        """Queue one encoded frame; queued frames leave together at the end of this loop iteration
        (or as soon as `FLUSH_AT` bytes are queued, so transport flow control sees them)."""
        if self.closed:
            raise ConnectionResetError("connection closed")
        self.frames_out += 1
        if len(frame) >= DIRECT_WRITE and self.transport is not None:
            # A big frame (a forwarded batch) goes out as is: no copy into the write buffer.
            self.flush()
            self.transport.write(frame)
            return
        self._wbuf += frame
        self._queued()

    def send_msg(self, kind: int, dst: str, src: str, id: int, msg: Message | msgspec.Raw) -> None:
        """Encode a message straight into the write buffer (the fast path of `tell`)."""
        if self.closed:
            raise ConnectionResetError("connection closed")
        encode_frame_into(self._wbuf, kind, dst, src, id, msg)
        self.frames_out += 1
        self._queued()

    def _queued(self) -> None:
        if len(self._wbuf) >= FLUSH_AT:
            self.flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def send_now(self, frame: bytes | memoryview) -> None:
        """Write one frame (and anything queued before it) immediately: for latency-bound asks."""
        if self.closed or self.transport is None:
            raise ConnectionResetError("connection closed")
        self._wbuf += frame
        self.frames_out += 1
        self.flush()

    def flush(self) -> None:
        """Write all queued frames in one call."""
        self._flush_scheduled = False
        if not self._wbuf:
            return
        buf, self._wbuf = self._wbuf, bytearray()
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(buf)

    async def drain(self) -> None:
        """Wait while the peer is slow (backpressure); raises if the connection is lost."""
        if self.closed:
            raise ConnectionResetError("connection closed")
        if not self._write_paused:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._drain_waiters.append(fut)
        await fut

    def _wake_drainers(self, exc: Exception | None) -> None:
        waiters, self._drain_waiters = self._drain_waiters, []
        for fut in waiters:
            if not fut.done():
                if exc is None:
                    fut.set_result(None)
                else:
                    fut.set_exception(exc)

    def pause_reading(self) -> None:
        """Stop reading from the socket (the kernel buffer then pushes back on the sender)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def close(self) -> None:
        """Flush what is queued and close."""
        self.flush()
        if self.transport is not None:
            self.transport.close()
