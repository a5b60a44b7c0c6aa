"""The actor API that later issues build on: `Actor` (lifecycle hooks) and `Context` (messaging).

An actor runs alone in its own OS process with its own event loop (uvloop where available). It is
connected to the supervisor, which routes its messages; it never shares memory with other actors.

    class Echoer(Actor):
        async def on_start(self, ctx: Context) -> None:
            await ctx.subscribe("runs")

        async def on_message(self, msg: Message, sender: str) -> Message | None:
            return msg  # the return value answers an `ask`; it is ignored for a tell

Delivery (see docs/runtime.md): `tell` is the data path with backpressure (it waits while the
receiver is slow and is never dropped by the bus while both ends live); `deliver` adds
acknowledgements and retransmission after a restart (at-least-once); `ask` is request/reply with a
timeout; `publish` fans out and may drop for a slow subscriber (counted).

Background work: `ctx.spawn(coro, name)` starts a supervised long-lived task; an exception in it
crashes the actor like one in `on_message` (nothing fails silently). Never use a bare
`asyncio.create_task` for a loop that must keep running.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oa_actors.runtime.codec import Empty, Kind, Message, Sync, decode_payload, encode_frame
from oa_actors.runtime.tasks import TaskFailed, spawn_supervised
from oa_actors.runtime.transport import FrameProtocol

if TYPE_CHECKING:
    from oa_actors.config import Config


def peer_socket_path(config: Config, actor: str) -> Path | None:
    """Where `actor` accepts direct links, or None if the path is too long for a Unix socket."""
    path = config.run_dir / "peers" / f"{actor}.sock"
    return path if len(os.fsencode(path)) < 104 else None


class AskTimeout(TimeoutError):
    """No reply to an `ask` within its timeout."""


class ActorUnavailable(RuntimeError):
    """The asked actor is unknown, not running, or failed to answer (the reason is in the message)."""


class Actor:
    """Base class of an actor. Override the `on_*` hooks and `health`; `self.ctx` is set before start."""

    ctx: Context

    async def on_start(self, ctx: Context) -> None:
        """Acquire resources, subscribe to topics. Messages are handled only after this returns."""

    async def on_message(self, msg: Message, sender: str) -> Message | None:
        """Handle one message. For an `ask`, the return value is the reply. An exception crashes the
        actor (let it crash: the supervisor restarts it by its restart type)."""
        return None

    async def on_stop(self) -> None:
        """Release resources on an orderly stop (Stop message or SIGTERM)."""

    def health(self) -> dict[str, Any]:
        """Extra fields for `oa-supervisor status` (must be msgpack-serializable)."""
        return {}


class Context:
    """What an actor uses to talk to others: tell, ask, deliver, publish, subscribe; plus config, log."""

    def __init__(
        self,
        name: str,
        config: Config,
        conn: FrameProtocol,
        max_unacked: int = 4096,
        make_link: Callable[[], FrameProtocol] | None = None,
        on_task_failed: Callable[[TaskFailed], None] | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.log = logging.getLogger(f"oa.actors.{name}")
        self._conn = conn
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Message]] = {}
        self._seq: dict[str, int] = {}
        # DATA seqs start at the wall clock in microseconds, not at 1, so no two incarnations of an
        # actor use the same seqs: an ack the receiver still owed a dead incarnation (for frames
        # that incarnation sent) would otherwise release the new incarnation's unsent frames of the
        # same numbers, and a receiver crash then lost them. (An incarnation would have to send
        # more than a message per microsecond, on average, to reach its successor's range.)
        self._seq_base = time.time_ns() // 1000
        self._unacked: dict[str, OrderedDict[int, bytes]] = {}
        self._unacked_bytes: dict[str, int] = {}
        self._max_unacked = max_unacked
        self._ack_event = asyncio.Event()
        self.sent = 0
        self.late_replies = 0
        self._links: dict[str, FrameProtocol] = {}
        self._make_link = make_link
        self._on_task_failed = on_task_failed or self._log_task_failure

    # --- background tasks ---

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run a long-lived background task, supervised: if it raises (or returns: it must run
        until cancelled) the actor crashes, and the supervisor restarts it and shows the error.
        Cancel it in `on_stop`. Per-request work that reports its own errors needs no supervision."""
        return spawn_supervised(coro, name, self._on_task_failed)

    def _log_task_failure(self, exc: TaskFailed) -> None:
        # Only without a runtime (a Context built by a test): the runtime crashes the actor instead.
        self.log.error("%s", exc, exc_info=exc)

    # --- patterns ---

    async def tell(self, actor: str, msg: Message) -> None:
        """One-way send; waits while the path to `actor` is congested (backpressure, never drops)."""
        conn = self._links.get(actor, self._conn)
        conn.send_msg(Kind.TELL, actor, self.name, 0, msg)
        self.sent += 1
        if conn.write_paused:
            await conn.drain()
        elif not self.sent & 511:
            await asyncio.sleep(0)  # a sender that never waits must still let pings and acks in

    async def ask(self, actor: str, msg: Message, timeout: float = 5.0) -> Message:
        """Send a request and wait for the reply; raises `AskTimeout` or `ActorUnavailable`."""
        rid = next(self._ids)
        fut: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        try:
            # Written at once, not coalesced: an ask is latency-bound.
            self._links.get(actor, self._conn).send_now(encode_frame(Kind.ASK, actor, self.name, rid, msg))
            self.sent += 1
            async with asyncio.timeout(timeout):
                return await fut
        except TimeoutError:
            raise AskTimeout(f"ask {type(msg).__name__} to {actor!r} timed out after {timeout}s") from None
        finally:
            self._pending.pop(rid, None)

    async def deliver(self, actor: str, msg: Message, urgent: bool = False) -> int:
        """Reliable one-way send (data path): kept until `actor` acknowledges it, retransmitted when
        `actor` restarts. At-least-once: the receiver may see a message twice after a crash. Waits
        while `max_unacked` messages to `actor` are unacknowledged (backpressure). Returns the
        message's sequence number (see `acked`).

        `urgent`: the receiver handles it before the messages already waiting in its inbox (sent as
        `Kind.URGENT`). Only for a message that may overtake every unacknowledged one before it."""
        pending = self._unacked.setdefault(actor, OrderedDict())
        while len(pending) >= self._max_unacked:
            self._ack_event.clear()
            await self._ack_event.wait()
        seq = self._seq.get(actor, self._seq_base) + 1
        self._seq[actor] = seq
        frame = encode_frame(Kind.URGENT if urgent else Kind.DATA, actor, self.name, seq, msg)
        pending[seq] = frame
        self._unacked_bytes[actor] = self._unacked_bytes.get(actor, 0) + len(frame)
        conn = self._links.get(actor, self._conn)
        conn.send(frame)
        self.sent += 1
        if conn.write_paused:
            await conn.drain()
        return seq

    def acked(self, actor: str, seq: int) -> bool:
        """Whether the message `deliver` numbered `seq` is acknowledged (handled) by `actor`."""
        return seq not in self._unacked.get(actor, ())

    def unacked_bytes(self, actor: str) -> int:
        """Encoded bytes of the messages sent to `actor` with `deliver` and not acknowledged yet."""
        return self._unacked_bytes.get(actor, 0)

    async def wait_unacked_below(self, actor: str, nbytes: int) -> None:
        """Wait until fewer than `nbytes` bytes sent to `actor` are unacknowledged (a send window
        smaller than the backpressure of `deliver`)."""
        while self._unacked_bytes.get(actor, 0) >= nbytes:
            self._ack_event.clear()
            await self._ack_event.wait()

    async def sync(self, actor: str, timeout: float = 60.0) -> None:
        """Wait until `actor` has handled everything this actor sent it before (same path, FIFO)."""
        await self.ask(actor, Sync(), timeout)

    async def link(self, actor: str) -> bool:
        """Open a direct connection to `actor` for the data path (tell, deliver, ask), bypassing the
        router: half the hops and no supervisor CPU. Returns False (and keeps using the router) if
        the peer cannot be reached. Messages sent before and after linking may overtake each other;
        after the link, order per sender holds again. The link closes when either side restarts."""
        if actor in self._links:
            return True
        if self._make_link is None:
            return False
        path = peer_socket_path(self.config, actor)
        if path is None or not path.exists():
            return False
        loop = asyncio.get_running_loop()
        try:
            _, proto = await loop.create_unix_connection(self._make_link, str(path))
        except OSError as exc:
            self.log.debug("no direct link to %s: %s", actor, exc)
            return False
        assert isinstance(proto, FrameProtocol)
        self._links[actor] = proto
        inner = proto.on_lost

        def lost(exc: Exception | None) -> None:
            if self._links.get(actor) is proto:
                del self._links[actor]
            if inner is not None:
                inner(exc)

        proto.on_lost = lost
        return True

    async def unlink(self, actor: str) -> None:
        """Close the direct link to `actor` (later messages go through the router again)."""
        proto = self._links.pop(actor, None)
        if proto is not None:
            if proto.write_paused:
                await proto.drain()
            proto.close()

    async def publish(self, topic: str, msg: Message) -> None:
        """Fan out to the topic's subscribers; a slow subscriber may miss it (the router counts it)."""
        self._conn.send(encode_frame(Kind.PUB, topic, self.name, 0, msg))
        self.sent += 1
        if self._conn.write_paused:
            await self._conn.drain()

    async def subscribe(self, topic: str) -> None:
        """Receive `publish`es to `topic` in `on_message`. Renewed by the actor after a restart."""
        self._conn.send(encode_frame(Kind.SUB, topic, self.name, 0, Empty()))

    async def unsubscribe(self, topic: str) -> None:
        """Stop receiving `topic`."""
        self._conn.send(encode_frame(Kind.UNSUB, topic, self.name, 0, Empty()))

    @property
    def unacked(self) -> int:
        """Messages sent with `deliver` and not yet acknowledged."""
        return sum(len(p) for p in self._unacked.values())

    # --- called by the runtime ---

    def _on_reply(self, kind: int, rid: int, payload: Any) -> None:
        fut = self._pending.get(rid)
        if fut is None or fut.done():
            self.late_replies += 1  # the ask already timed out
            return
        try:
            msg = decode_payload(payload)
        except ValueError as exc:
            fut.set_exception(ActorUnavailable(f"undecodable reply: {exc}"))
            return
        if kind == Kind.ERROR:
            fut.set_exception(ActorUnavailable(getattr(msg, "error", "ask failed")))
        else:
            fut.set_result(msg)

    def _on_ack(self, peer: str, hi: int, payload: Any) -> None:
        pending = self._unacked.get(peer)
        if not pending:
            return
        try:
            ack = decode_payload(payload)
        except ValueError:
            return
        lo = getattr(ack, "lo", hi)
        freed = 0
        if hi - lo < len(pending):
            for seq in range(lo, hi + 1):
                frame = pending.pop(seq, None)
                if frame is not None:
                    freed += len(frame)
        else:
            for seq in [s for s in pending if lo <= s <= hi]:
                freed += len(pending.pop(seq))
        self._unacked_bytes[peer] = self._unacked_bytes.get(peer, 0) - freed
        self._ack_event.set()

    def _on_peer_up(self, peer: str) -> None:
        """Retransmit every unacknowledged DATA frame to a (re)started peer, in order."""
        stale = self._links.pop(peer, None)
        if stale is not None:
            stale.close()
        pending = self._unacked.get(peer)
        if not pending:
            return
        self.log.info("retransmitting %d unacknowledged message(s) to %s", len(pending), peer)
        for frame in pending.values():
            self._conn.send(frame)
