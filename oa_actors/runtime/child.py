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
import threading
import time
import traceback
from collections import deque
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from oa_actors.runtime import codec
from oa_actors.runtime.actor import Actor, Context, peer_socket_path
from oa_actors.runtime.codec import Kind, decode_header, decode_payload, encode_frame
from oa_actors.runtime.logs import ShippingHandler, setup_actor_logging
from oa_actors.runtime.privacy import PRIVATE_UMASK
from oa_actors.runtime.tasks import TaskFailed, catch_stray_errors
from oa_actors.runtime.transport import FrameProtocol

if TYPE_CHECKING:
    from oa_actors.config import Config
    from oa_actors.runtime.registry import ActorSpec

PR_SET_PDEATHSIG = 1
# The consumer yields to the event loop after a message that kept it busy this long, so frames
# waiting in the socket (an URGENT one above all) are read while a backlog is being worked off.
YIELD_SECONDS = 0.001


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


def watch_lifeline(lifeline: socket.socket) -> None:
    """Kill this process as soon as the supervisor's end of `lifeline` closes (it never writes).

    A thread, not the event loop, watches it, so even an actor whose loop is blocked dies with its
    supervisor. Under forkserver the parent process is the fork server, so the parent-death signal
    alone would not follow the supervisor; the lifeline does, whatever the start method.
    """

    def watch() -> None:
        try:
            while lifeline.recv(1):
                pass
        except OSError:
            pass
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="oa-lifeline", daemon=True).start()


def actor_main(
    spec: ActorSpec,
    sock: socket.socket,
    lifeline: socket.socket,
    config: Config,
    log_level: str,
    ppid: int,
    heartbeat: float = 1.0,
) -> None:
    """Process entry point of one actor incarnation (`ppid`: the supervisor when it is the parent
    (spawn), 0 under forkserver)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.umask(PRIVATE_UMASK)  # inherited already; explicit, whatever started us
    # Own process group: a Ctrl-C or a group-wide signal reaches only the supervisor, whose policy
    # then stops the actors in order.
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    if ppid:
        set_parent_death_signal()
        if os.getppid() != ppid:
            os._exit(0)  # the parent died before the death signal was armed
    lifeline.setblocking(True)
    watch_lifeline(lifeline)
    setup_actor_logging(spec.name, log_level)
    code = 1
    try:
        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            code = runner.run(ActorRuntime(spec, sock, config, heartbeat).run())
    except BaseException:  # the runtime already reported a crash; this is the last resort
        traceback.print_exc()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _reply(conn: FrameProtocol, frame: bytes) -> None:
    with contextlib.suppress(ConnectionError):
        conn.send_now(frame)


class ActorRuntime:
    """Runs one actor: connection, bounded inbox, consumer loop, health answers, stop."""

    def __init__(self, spec: ActorSpec, sock: socket.socket, config: Config, heartbeat: float = 1.0) -> None:
        self.spec = spec
        self.heartbeat = heartbeat
        self.sock = sock
        self.config = config
        self.inbox: deque[tuple[int, str, int, Any, FrameProtocol]] = deque()
        # URGENT frames wait here and are handled before the inbox (counted in its bound too).
        self.urgent: deque[tuple[int, str, int, Any, FrameProtocol]] = deque()
        self.inbound: set[FrameProtocol] = set()  # connections that feed the inbox
        self._link_server: asyncio.AbstractServer | None = None
        self._link_path = ""
        self.inbox_max = spec.inbox_size
        self.reading_paused = False
        self.received = 0
        self.handled = 0
        self.dropped = 0
        self.log = logging.getLogger(f"oa.actors.{spec.name}")
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._lost = False
        self._lost_exc: Exception | None = None
        self._acks: dict[str, list[int]] = {}  # sender -> [lo, hi] of handled DATA seqs
        self._ack_scheduled = False
        self.actor: Actor | None = None
        self._crash: asyncio.Future[None]  # set in run(), on the actor's loop
        self._stopping_now = False  # on_stop or the crash path runs: failures are only logged

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        if me is not None:
            me.set_name("oa-actor")  # the runtime's own tasks are named oa-*, as status tools expect
        self._crash = loop.create_future()
        self.sock.setblocking(False)

        def factory() -> FrameProtocol:
            # Set up before the first data_received, which may come before the call below returns.
            self.conn = FrameProtocol(
                lambda f: self._on_frame(f, self.conn), self._on_lost, self._on_oversized
            )
            self.ctx = Context(
                self.spec.name,
                self.config,
                self.conn,
                make_link=self._link_protocol,
                on_task_failed=self._task_failed,
            )
            self.inbound.add(self.conn)
            return self.conn

        await loop.create_unix_connection(factory, sock=self.sock)
        conn = self.conn
        await self._listen_for_links()
        self._ship_logs()
        catch_stray_errors(loop, self._task_failed)
        loop.add_signal_handler(signal.SIGTERM, self._stopping.set)
        self._sys(codec.Hello(name=self.spec.name, pid=os.getpid()))
        loop.call_later(self.heartbeat, self._beat)
        try:
            self.actor = self.spec.load()()
            self.actor.ctx = self.ctx
            await self._unless_crashed(self.actor.on_start(self.ctx))
            self._sys(codec.Ready())
            consumer = asyncio.create_task(self._consume(), name="oa-consume")
            stop = asyncio.create_task(self._stopping.wait(), name="oa-stop")
            waits: set[asyncio.Future[Any]] = {consumer, stop, self._crash}
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            if self._crash.done():
                consumer.cancel()
                stop.cancel()
                self._crash.result()  # raises the failure of a background task
            if consumer in done:
                consumer.result()  # re-raises the handler's exception
            consumer.cancel()
            self._stopping_now = True
            if self._lost:
                # The supervisor is gone (EOF), or our link broke (an error: abnormal exit).
                return 1 if self._lost_exc is not None else 0
            await self.actor.on_stop()
            conn.flush()
            return 0
        except Exception as exc:
            self._stopping_now = True
            err = f"{type(exc).__name__}: {exc}"
            # The one log line with the traceback (a background task's own traceback is its cause).
            self.log.error("actor crashed: %s", err, exc_info=True)
            with contextlib.suppress(Exception):
                self._sys(codec.Crashed(error=err))
                conn.flush()
            return 1
        finally:
            if self._crash.done():
                self._crash.exception()  # retrieved (it may have lost the race to another error)
            if self._link_server is not None:
                self._link_server.close()
                with contextlib.suppress(OSError):
                    os.unlink(self._link_path)
            with contextlib.suppress(Exception):
                conn.close()
            await asyncio.sleep(0)

    # --- supervision of what runs beside the handlers ---

    def _task_failed(self, exc: TaskFailed) -> None:
        """A supervised task, a thread or a loop callback failed: crash the actor (let it crash)."""
        if self._crash.done() or self._stopping_now:
            self.log.error("%s", exc, exc_info=exc)  # already going down: still never silent
            return
        self._crash.set_exception(exc)

    async def _unless_crashed(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` (on_start), but raise at once if a background task fails meanwhile."""
        task = asyncio.create_task(coro, name="oa-start")
        waits: set[asyncio.Future[Any]] = {task, self._crash}
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            self._crash.result()
        task.result()

    async def _listen_for_links(self) -> None:
        """Accept direct links from peers (see `Context.link`) on `run/peers/<name>.sock`."""
        path = peer_socket_path(self.config, self.spec.name)
        if path is None:
            return
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # left by our previous incarnation
        old = os.umask(0o177)
        try:
            self._link_server = await asyncio.get_running_loop().create_unix_server(
                self._link_protocol, str(path)
            )
            self._link_path = str(path)
        except OSError as exc:
            self.log.warning("direct links disabled: %s", exc)
        finally:
            os.umask(old)

    def _link_protocol(self) -> FrameProtocol:
        """Protocol of a direct link, inbound or outbound: frames go to the same dispatch."""
        proto: FrameProtocol

        def lost(exc: Exception | None) -> None:
            self.inbound.discard(proto)

        proto = FrameProtocol(lambda f: self._on_frame(f, proto), lost, self._on_oversized)
        self.inbound.add(proto)
        if self.reading_paused:
            asyncio.get_running_loop().call_soon(proto.pause_reading)
        return proto

    def _ship_logs(self) -> None:
        loop = asyncio.get_running_loop()
        loop_thread = threading.get_ident()

        def send(line: codec.LogLine) -> None:
            if not self.conn.closed:
                self._sys(line)

        def ship(level: int, logger: str, msg: str, created: float, exc: str) -> None:
            line = codec.LogLine(level=level, logger=logger, msg=msg, created=created, exc=exc)
            if threading.get_ident() == loop_thread:
                send(line)
                return
            # Logged from another thread (a `to_thread` worker, a watch or checkpoint thread): the
            # connection belongs to the loop. Writing to it from here raced with the loop's own
            # writes (frames could be sent twice or lost) and failed outright when no flush was
            # pending ("no running event loop"): the line was lost.
            with contextlib.suppress(RuntimeError):  # the loop is closed: the process is ending
                loop.call_soon_threadsafe(send, line)

        root = logging.getLogger()
        for h in list(root.handlers):
            root.removeHandler(h)
        root.addHandler(ShippingHandler(ship))

    def _sys(self, msg: codec.Message) -> None:
        self.conn.send(encode_frame(Kind.SYS, codec.SUPERVISOR, self.spec.name, 0, msg))

    # --- inbound ---

    def _on_frame(self, frame: memoryview, conn: FrameProtocol) -> None:
        try:
            h = decode_header(frame)
        except ValueError as exc:
            self.dropped += 1
            self.log.warning("dropped a malformed frame (%d bytes): %s", len(frame), exc)
            return
        kind = h.kind
        if kind in (Kind.TELL, Kind.ASK, Kind.DATA, Kind.PUB, Kind.URGENT):
            self.received += 1
            (self.urgent if kind == Kind.URGENT else self.inbox).append((kind, h.src, h.id, h.payload, conn))
            self._wake.set()
            if len(self.inbox) + len(self.urgent) >= self.inbox_max and not self.reading_paused:
                self.reading_paused = True  # the socket buffers now push back on the senders
                for c in self.inbound:
                    c.pause_reading()
        elif kind in (Kind.REPLY, Kind.ERROR):
            self.ctx._on_reply(kind, h.id, h.payload)
        elif kind == Kind.ACK:
            self.ctx._on_ack(h.src, h.id, h.payload)
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
            self._pong(now=True)
        elif isinstance(msg, codec.Stop):
            self._stopping.set()
        elif isinstance(msg, codec.ActorUp):
            self.ctx._on_peer_up(msg.name)

    def _pong(self, now: bool = False) -> None:
        """Report liveness, counters and `health()` to the supervisor."""
        health: dict[str, Any] = {}
        if self.actor is not None:
            try:
                health = self.actor.health()
            except Exception as exc:
                health = {"error": repr(exc)}
        pong = codec.Pong(
            id=0,
            inbox=len(self.inbox) + len(self.urgent),
            received=self.received,
            handled=self.handled,
            sent=self.ctx.sent,
            dropped=self.dropped,
            unacked=self.ctx.unacked,
            health=health,
        )
        frame = encode_frame(Kind.SYS, codec.SUPERVISOR, self.spec.name, 0, pong)
        if self.conn.closed:
            return
        if now:
            self.conn.send_now(frame)
        else:
            self.conn.send(frame)

    def _beat(self) -> None:
        # Heartbeat on our own timer: it gets out even while a full inbox keeps pings unread.
        if self.conn.closed:
            return
        self._pong()
        asyncio.get_running_loop().call_later(self.heartbeat, self._beat)

    def _on_lost(self, exc: Exception | None) -> None:
        # EOF from the supervisor: it died or closed us; an orphan actor must not live on.
        self._lost = True
        self._lost_exc = exc
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
        urgent = self.urgent
        resume_at = self.inbox_max // 2
        last_yield = time.monotonic()
        while True:
            if not inbox and not urgent:
                self._wake.clear()
                await self._wake.wait()
                last_yield = time.monotonic()
                continue
            kind, src, rid, payload, via = urgent.popleft() if urgent else inbox.popleft()
            if self.reading_paused and len(inbox) + len(urgent) <= resume_at:
                self.reading_paused = False
                for c in self.inbound:
                    c.resume_reading()
            try:
                msg = decode_payload(payload)
            except ValueError as exc:
                self.dropped += 1
                self.log.warning("dropped a message from %s: %s", src, exc)
                if kind == Kind.ASK:
                    _reply(via, encode_frame(Kind.ERROR, src, name, rid, codec.AskError(error=str(exc))))
                elif kind in (Kind.DATA, Kind.URGENT):
                    self._ack(src, rid)  # a retransmission would fail the same way
                continue
            if isinstance(msg, codec.Sync):
                reply: codec.Message | None = msg  # answered by the runtime: everything before is handled
            else:
                reply = await actor.on_message(msg, src)
            self.handled += 1
            if kind == Kind.ASK:
                if reply is None:
                    frame = encode_frame(Kind.ERROR, src, name, rid, codec.AskError(error="no reply"))
                else:
                    frame = encode_frame(Kind.REPLY, src, name, rid, reply)
                # Back the way it came (a direct link when the ask used one).
                _reply(via if not via.closed else self.conn, frame)
            elif kind in (Kind.DATA, Kind.URGENT):
                self._ack(src, rid)
            if self.handled % 256 == 0 or time.monotonic() - last_yield > YIELD_SECONDS:
                # Let I/O (pings, acks, replies, an URGENT frame behind queued work) through under
                # load: every 256 messages, or after a message that kept the loop busy.
                await asyncio.sleep(0)
                last_yield = time.monotonic()

    def _ack(self, src: str, seq: int) -> None:
        """Acknowledge DATA through the router (the sender's links may be gone after a restart)."""
        # One ack per contiguous run of seqs per sender per loop iteration.
        run = self._acks.get(src)
        if run is None:
            self._acks[src] = [seq, seq]
        elif seq == run[1] + 1:
            run[1] = seq
        else:
            self._send_ack(src, run[0], run[1])
            self._acks[src] = [seq, seq]
        if not self._ack_scheduled:
            self._ack_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_acks)

    def _flush_acks(self) -> None:
        self._ack_scheduled = False
        acks, self._acks = self._acks, {}
        for src, (lo, hi) in acks.items():
            self._send_ack(src, lo, hi)

    def _send_ack(self, src: str, lo: int, hi: int) -> None:
        if not self.conn.closed:
            self.conn.send(encode_frame(Kind.ACK, src, self.spec.name, hi, codec.Ack(lo=lo)))
