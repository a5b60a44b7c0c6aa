"""The router inside the supervisor: forwards frames between actor connections.

It decodes only the frame header and forwards the original bytes (no re-encoding). Flow control:
when a destination's connection is congested, the router stops reading from the source that fed it
(`pause_reading`) until the destination drains, so the data path pushes back instead of dropping.
Publishes never pause anyone: a congested subscriber misses the message and it is counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from oa_actors.runtime import codec
from oa_actors.runtime.codec import Kind, decode_header, decode_payload, encode_frame
from oa_actors.runtime.process import ActorProcess
from oa_actors.runtime.transport import FrameProtocol

log = logging.getLogger("oa.runtime.router")

_FORWARD = frozenset((Kind.TELL, Kind.ASK, Kind.DATA, Kind.URGENT, Kind.REPLY, Kind.ERROR, Kind.ACK))


class Router:
    """Routes frames among `actors`; system frames go to `on_sys(actor, msg)`."""

    def __init__(
        self,
        actors: dict[str, ActorProcess],
        on_sys: Callable[[ActorProcess, codec.Message], None],
    ) -> None:
        self.actors = actors
        self.on_sys = on_sys
        self.topics: dict[str, set[ActorProcess]] = {}
        self.bad_frames = 0
        # Control-socket clients that sent an ask (name -> connection), for routing the reply.
        self.clients: dict[str, FrameProtocol] = {}

    def make_protocol(self, actor: ActorProcess) -> FrameProtocol:
        """The protocol for the supervisor's end of `actor`'s socket."""
        proto = FrameProtocol(
            lambda frame: self.route(actor, frame),
            on_oversized=lambda size: self._oversized(actor, size),
        )
        proto.on_writable = lambda: self._unblock(actor)
        return proto

    def route(self, src: ActorProcess, frame: memoryview) -> None:
        """Handle one frame from `src`."""
        try:
            h = decode_header(frame)
        except ValueError as exc:
            self.bad_frames += 1
            log.warning("dropped a malformed frame from %s (%d bytes): %s", src.name, len(frame), exc)
            return
        src.msgs_in += 1
        kind = h.kind
        if kind in _FORWARD:
            dst = self.actors.get(h.dst)
            conn = dst.conn if dst is not None else None
            if dst is None and h.dst in self.clients:
                self.clients[h.dst].send(frame)
                return
            if dst is None or conn is None or conn.closed:
                self._undeliverable(src, dst, h)
                return
            conn.send(frame)
            dst.msgs_out += 1
            if conn.write_paused and src not in dst.blocked_sources and src is not dst:
                # The destination is slow: stop reading from the source until it drains.
                dst.blocked_sources.add(src)
                src.blocked_by += 1
                if src.blocked_by == 1 and src.conn is not None:
                    src.conn.pause_reading()
        elif kind == Kind.SYS:
            try:
                msg = decode_payload(h.payload)
            except ValueError as exc:
                self.bad_frames += 1
                log.warning("dropped a system frame from %s: %s", src.name, exc)
                return
            self.on_sys(src, msg)
        elif kind == Kind.PUB:
            for sub in self.topics.get(h.dst, ()):
                sconn = sub.conn
                if sconn is None or sconn.closed or sconn.write_paused:
                    sub.pub_dropped += 1  # broadcast path: drop for a slow subscriber, and count
                    continue
                sconn.send(frame)
                sub.msgs_out += 1
        elif kind == Kind.SUB:
            self.topics.setdefault(h.dst, set()).add(src)
            src.topics.add(h.dst)
        elif kind == Kind.UNSUB:
            self.topics.get(h.dst, set()).discard(src)
            src.topics.discard(h.dst)
        else:
            self.bad_frames += 1
            log.warning("dropped a frame of unknown kind %r from %s", kind, src.name)

    def _undeliverable(self, src: ActorProcess, dst: ActorProcess | None, h: codec.Header) -> None:
        if dst is not None:
            dst.undeliverable += 1
        reason = f"actor {h.dst!r} is not running" if dst is not None else f"unknown actor {h.dst!r}"
        if h.kind == Kind.ASK and src.conn is not None and not src.conn.closed:
            src.conn.send_now(
                encode_frame(Kind.ERROR, src.name, codec.SUPERVISOR, h.id, codec.AskError(error=reason))
            )
        elif h.kind in (Kind.TELL, Kind.DATA, Kind.URGENT):
            # DATA (and URGENT) is retransmitted by the sender when the actor is up again (ActorUp).
            log.debug("%s -> %s: %s", src.name, h.dst, reason)

    def _oversized(self, actor: ActorProcess, size: int) -> None:
        self.bad_frames += 1
        log.warning("dropped an oversized frame of %d bytes from %s", size, actor.name)

    def _unblock(self, dst: ActorProcess) -> None:
        sources, dst.blocked_sources = dst.blocked_sources, set()
        for src in sources:
            src.blocked_by -= 1
            if src.blocked_by == 0 and src.conn is not None:
                src.conn.resume_reading()

    def detach(self, actor: ActorProcess) -> None:
        """Forget an exited actor: its subscriptions end, the sources it blocked resume."""
        for topic in actor.topics:
            self.topics.get(topic, set()).discard(actor)
        actor.topics.clear()
        self._unblock(actor)
        for other in self.actors.values():
            if actor in other.blocked_sources:
                other.blocked_sources.discard(actor)
        actor.blocked_by = 0

    def broadcast_sys(self, msg: codec.Message) -> None:
        """Send a system message to every connected actor."""
        for a in self.actors.values():
            if a.conn is not None and not a.conn.closed:
                a.conn.send(encode_frame(Kind.SYS, a.name, codec.SUPERVISOR, 0, msg))
