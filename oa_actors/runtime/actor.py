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
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from oa_actors.runtime.codec import Empty, Kind, Message, decode_payload, encode_frame
from oa_actors.runtime.transport import FrameProtocol

if TYPE_CHECKING:
    from oa_actors.config import Config


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

    def __init__(self, name: str, config: Config, conn: FrameProtocol, max_unacked: int = 4096) -> None:
        self.name = name
        self.config = config
        self.log = logging.getLogger(f"oa.actors.{name}")
        self._conn = conn
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Message]] = {}
        self._seq: dict[str, int] = {}
        self._unacked: dict[str, OrderedDict[int, bytes]] = {}
        self._max_unacked = max_unacked
        self._ack_event = asyncio.Event()
        self.sent = 0
        self.late_replies = 0

    # --- patterns ---

    async def tell(self, actor: str, msg: Message) -> None:
        """One-way send; waits while the path to `actor` is congested (backpressure, never drops)."""
        self._conn.send(encode_frame(Kind.TELL, actor, self.name, 0, msg))
        self.sent += 1
        if self._conn.write_paused:
            await self._conn.drain()

    async def ask(self, actor: str, msg: Message, timeout: float = 5.0) -> Message:
        """Send a request and wait for the reply; raises `AskTimeout` or `ActorUnavailable`."""
        rid = next(self._ids)
        fut: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        try:
            # Written at once, not coalesced: an ask is latency-bound.
            self._conn.send_now(encode_frame(Kind.ASK, actor, self.name, rid, msg))
            self.sent += 1
            async with asyncio.timeout(timeout):
                return await fut
        except TimeoutError:
            raise AskTimeout(f"ask {type(msg).__name__} to {actor!r} timed out after {timeout}s") from None
        finally:
            self._pending.pop(rid, None)

    async def deliver(self, actor: str, msg: Message) -> None:
        """Reliable one-way send (data path): kept until `actor` acknowledges it, retransmitted when
        `actor` restarts. At-least-once: the receiver may see a message twice after a crash. Waits
        while `max_unacked` messages to `actor` are unacknowledged (backpressure)."""
        pending = self._unacked.setdefault(actor, OrderedDict())
        while len(pending) >= self._max_unacked:
            self._ack_event.clear()
            await self._ack_event.wait()
        seq = self._seq.get(actor, 0) + 1
        self._seq[actor] = seq
        frame = encode_frame(Kind.DATA, actor, self.name, seq, msg)
        pending[seq] = frame
        self._conn.send(frame)
        self.sent += 1
        if self._conn.write_paused:
            await self._conn.drain()

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

    def _on_ack(self, peer: str, seq: int) -> None:
        pending = self._unacked.get(peer)
        if not pending:
            return
        while pending:
            first = next(iter(pending))
            if first > seq:
                break
            del pending[first]
        self._ack_event.set()

    def _on_peer_up(self, peer: str) -> None:
        """Retransmit every unacknowledged DATA frame to a (re)started peer, in order."""
        pending = self._unacked.get(peer)
        if not pending:
            return
        self.log.info("retransmitting %d unacknowledged message(s) to %s", len(pending), peer)
        for frame in pending.values():
            self._conn.send(frame)
