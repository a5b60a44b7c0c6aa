"""The inside of an actor process: parent-death signal, signals, event loop, inbox, dispatch.

`actor_main` is the multiprocessing target. The process dies with its supervisor (PR_SET_PDEATHSIG
plus exit on EOF of the supervisor socket), ignores SIGINT (Ctrl-C is the supervisor's business) and
stops cleanly on a `Stop` message or SIGTERM. Frames are dispatched in `_on_frame` without a task
switch; system frames (ping, stop, acks, replies) bypass the inbox so a busy actor still answers
health checks as long as its event loop is not blocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import traceback
from collections import deque
from typing import TYPE_CHECKING, Any

from oa_actors.runtime import codec
from oa_actors.runtime.actor import Actor, Context
from oa_actors.runtime.codec import Kind, decode_header, decode_payload, encode_frame
from oa_actors.runtime.logs import ShippingHandler, setup_actor_logging
from oa_actors.runtime.transport import FrameProtocol

if TYPE_CHECKING:
    from oa_actors.config import Config
    from oa_actors.runtime.registry import ActorSpec

PR_SET_PDEATHSIG = 1


def set_parent_death_signal(sig: int = signal.SIGKILL) -> None:
    """Ask Linux to kill this process when its parent dies (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where available, else the default loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def actor_main(spec: ActorSpec, sock: socket.socket, config: Config, log_level: str, ppid: int) -> None:
    """Process entry point of one actor incarnation (`ppid`: the expected parent, 0 to skip the check;
    under forkserver the parent is the fork server, which itself exits when the supervisor dies)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_parent_death_signal()
    if ppid and os.getppid() != ppid:
        os._exit(0)  # the parent died before the death signal was armed
    setup_actor_logging(spec.name, log_level)
    code = 1
    try:
        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            code = runner.run(ActorRuntime(spec, sock, config).run())
    except BaseException:  # the runtime already reported a crash; this is the last resort
        traceback.print_exc()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class ActorRuntime:
    """Runs one actor: connection, bounded inbox, consumer loop, health answers, stop."""

    def __init__(self, spec: ActorSpec, sock: socket.socket, config: Config) -> None:
        self.spec = spec
        self.sock = sock
        self.config = config
        self.inbox: deque[tuple[int, str, int, Any]] = deque()
        self.inbox_max = spec.inbox_size
        self.reading_paused = False
        self.received = 0
        self.handled = 0
        self.dropped = 0
        self.log = logging.getLogger(f"oa.actors.{spec.name}")
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._lost = False
        self._acks: dict[str, int] = {}
        self._ack_scheduled = False
        self.actor: Actor | None = None

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        self.sock.setblocking(False)
        _, conn = await loop.create_unix_connection(
            lambda: FrameProtocol(self._on_frame, self._on_lost, self._on_oversized), sock=self.sock
        )
        self.conn = conn
        self.ctx = Context(self.spec.name, self.config, conn)
        self._ship_logs()
        loop.add_signal_handler(signal.SIGTERM, self._stopping.set)
        self._sys(codec.Hello(name=self.spec.name, pid=os.getpid()))
        try:
            self.actor = self.spec.load()()
            self.actor.ctx = self.ctx
            await self.actor.on_start(self.ctx)
            self._sys(codec.Ready())
            consumer = asyncio.create_task(self._consume())
            stop = asyncio.create_task(self._stopping.wait())
            done, _ = await asyncio.wait({consumer, stop}, return_when=asyncio.FIRST_COMPLETED)
            if consumer in done:
                consumer.result()  # re-raises the handler's exception
            consumer.cancel()
            if self._lost:
                return 0  # the supervisor is gone; nothing to report to
            await self.actor.on_stop()
            conn.flush()
            return 0
        except Exception as exc:
            err = f"{type(exc).__name__}: {exc}"
            self.log.error("actor crashed: %s", err, exc_info=True)
            with contextlib.suppress(Exception):
                self._sys(codec.Crashed(error=err))
                conn.flush()
            return 1
        finally:
            with contextlib.suppress(Exception):
                conn.close()
            await asyncio.sleep(0)

    def _ship_logs(self) -> None:
        def ship(level: int, logger: str, msg: str, created: float, exc: str) -> None:
            if not self.conn.closed:
                self._sys(codec.LogLine(level=level, logger=logger, msg=msg, created=created, exc=exc))

        root = logging.getLogger()
        for h in list(root.handlers):
            root.removeHandler(h)
        root.addHandler(ShippingHandler(ship))

    def _sys(self, msg: codec.Message) -> None:
        self.conn.send(encode_frame(Kind.SYS, codec.SUPERVISOR, self.spec.name, 0, msg))

    # --- inbound ---

    def _on_frame(self, frame: memoryview) -> None:
        try:
            h = decode_header(frame)
        except ValueError as exc:
            self.dropped += 1
            self.log.warning("dropped a malformed frame (%d bytes): %s", len(frame), exc)
            return
        kind = h.kind
        if kind in (Kind.TELL, Kind.ASK, Kind.DATA, Kind.PUB):
            self.received += 1
            self.inbox.append((kind, h.src, h.id, h.payload))
            self._wake.set()
            if len(self.inbox) >= self.inbox_max and not self.reading_paused:
                self.reading_paused = True  # the socket buffer now pushes back on the router
                self.conn.pause_reading()
        elif kind in (Kind.REPLY, Kind.ERROR):
            self.ctx._on_reply(kind, h.id, h.payload)
        elif kind == Kind.ACK:
            self.ctx._on_ack(h.src, h.id)
        elif kind == Kind.SYS:
            self._on_sys(h.payload)
        else:
            self.dropped += 1
            self.log.warning("dropped a frame of unknown kind %r from %s", kind, h.src)

    def _on_sys(self, payload: Any) -> None:
        try:
            msg = decode_payload(payload)
        except ValueError as exc:
            self.dropped += 1
            self.log.warning("dropped a system frame: %s", exc)
            return
        if isinstance(msg, codec.Ping):
            health: dict[str, Any] = {}
            if self.actor is not None:
                try:
                    health = self.actor.health()
                except Exception as exc:
                    health = {"error": repr(exc)}
            self.conn.send_now(
                encode_frame(
                    Kind.SYS,
                    codec.SUPERVISOR,
                    self.spec.name,
                    0,
                    codec.Pong(
                        id=msg.id,
                        inbox=len(self.inbox),
                        received=self.received,
                        handled=self.handled,
                        sent=self.ctx.sent,
                        dropped=self.dropped,
                        unacked=self.ctx.unacked,
                        health=health,
                    ),
                )
            )
        elif isinstance(msg, codec.Stop):
            self._stopping.set()
        elif isinstance(msg, codec.ActorUp):
            self.ctx._on_peer_up(msg.name)

    def _on_lost(self, exc: Exception | None) -> None:
        # EOF from the supervisor: it died or closed us; an orphan actor must not live on.
        self._lost = True
        self._stopping.set()

    def _on_oversized(self, size: int) -> None:
        self.dropped += 1
        self.log.warning("dropped an oversized frame of %d bytes (limit %d)", size, codec.MAX_FRAME)

    # --- consumer ---

    async def _consume(self) -> None:
        assert self.actor is not None
        actor = self.actor
        inbox = self.inbox
        name = self.spec.name
        resume_at = self.inbox_max // 2
        while True:
            if not inbox:
                self._wake.clear()
                await self._wake.wait()
                continue
            kind, src, rid, payload = inbox.popleft()
            if self.reading_paused and len(inbox) <= resume_at:
                self.reading_paused = False
                self.conn.resume_reading()
            try:
                msg = decode_payload(payload)
            except ValueError as exc:
                self.dropped += 1
                self.log.warning("dropped a message from %s: %s", src, exc)
                if kind == Kind.ASK:
                    self.conn.send_now(
                        encode_frame(Kind.ERROR, src, name, rid, codec.AskError(error=str(exc)))
                    )
                elif kind == Kind.DATA:
                    self._ack(src, rid)  # a retransmission would fail the same way
                continue
            reply = await actor.on_message(msg, src)
            self.handled += 1
            if kind == Kind.ASK:
                if reply is None:
                    frame = encode_frame(Kind.ERROR, src, name, rid, codec.AskError(error="no reply"))
                else:
                    frame = encode_frame(Kind.REPLY, src, name, rid, reply)
                self.conn.send_now(frame)
            elif kind == Kind.DATA:
                self._ack(src, rid)
            if self.handled % 256 == 0:
                await asyncio.sleep(0)  # let I/O (pings, acks, replies) through under load

    def _ack(self, src: str, seq: int) -> None:
        # Cumulative acks, one per sender per loop iteration.
        self._acks[src] = seq
        if not self._ack_scheduled:
            self._ack_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_acks)

    def _flush_acks(self) -> None:
        self._ack_scheduled = False
        acks, self._acks = self._acks, {}
        for src, seq in acks.items():
            if not self.conn.closed:
                self.conn.send(encode_frame(Kind.ACK, src, self.spec.name, seq, codec.Empty()))
