"""The supervisor: starts actors in order, routes their messages, restarts them, never gives up.

One event loop owns everything. Signal handlers and process-exit callbacks only enqueue events; the
main loop (`_main`) takes them one at a time and is the only place that restarts, kills or stops
actors, so there are no races between a crash, a health timeout and a Ctrl-C.

Policy: OTP restart types (permanent / transient / temporary) and exponential backoff between
restarts of one actor (the first is immediate); health pings, and an actor silent for
`health_timeout` seconds is killed and restarted. The restart intensity is *per actor*: an actor
that failed quickly (never ready, or within `quick_failure` seconds of it) more than `max_restarts`
times within `restart_window` seconds is marked `failed` and
retried after `failed_retry` seconds (doubling up to `failed_retry_max`), while every other actor
keeps running. OTP's intensity limit escalates to a parent supervisor; on a desktop there is none,
so the supervisor itself never exits because of a failing actor, only when asked to (a signal).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass
from typing import Any

from oa_actors.config import Config
from oa_actors.runtime import codec, control
from oa_actors.runtime.backoff import exponential_delay
from oa_actors.runtime.codec import Kind, decode_header, decode_payload, encode_frame
from oa_actors.runtime.logs import emit_remote
from oa_actors.runtime.privacy import use_private_umask
from oa_actors.runtime.process import ActorProcess, State, protect_main, stop_helpers
from oa_actors.runtime.registry import ActorSpec, Restart
from oa_actors.runtime.router import Router
from oa_actors.runtime.transport import FrameProtocol

log = logging.getLogger("oa.runtime.supervisor")


@dataclass
class Policy:
    """Supervision settings (CLI flags override the defaults)."""

    grace_period: float = 5.0
    max_restarts: int = 5  # per actor: more quick failures than this within `restart_window` -> failed
    restart_window: float = 30.0
    # A failure counts towards the budget when the incarnation was never ready or ran less than
    # this: a crash loop (dies right after start) is `failed` within seconds, while kill -9 of a
    # random actor every 2 s (one kill per actor per ~12 s, most of them later in its life) is not.
    quick_failure: float = 3.0
    backoff_base: float = 0.1
    backoff_max: float = 5.0
    backoff_reset: float = 10.0  # an actor that ran this long before failing restarts without delay
    failed_retry: float = 30.0  # a failed actor is retried after this, doubling on each failure ...
    failed_retry_max: float = 300.0  # ... up to this
    health_interval: float = 1.0
    health_timeout: float = 10.0
    ready_timeout: float = 30.0


class Supervisor:
    """Runs a set of actor specs until a signal; `run()` returns the exit code."""

    def __init__(
        self,
        config: Config,
        specs: list[ActorSpec],
        policy: Policy | None = None,
        log_level: str = "INFO",
        start_method: str | None = None,
    ) -> None:
        self.config = config
        self.specs = specs
        self.policy = policy or Policy()
        self.log_level = log_level
        protect_main()
        method = start_method or config.start_method
        self.mp = multiprocessing.get_context(method)
        if method == "forkserver":
            # Children fork from a server that already imported the runtime and the actor modules.
            self.mp.set_forkserver_preload(["oa_actors.runtime.child", *sorted({s.module for s in specs})])
        self.actors: dict[str, ActorProcess] = {
            s.name: ActorProcess(s, self.mp, config, log_level, self.policy.health_interval) for s in specs
        }
        self.router = Router(self.actors, self._on_sys)
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.started = time.monotonic()
        self.exit_code = 0
        self.shutting_down = False
        self.sigints = 0
        self._control: asyncio.AbstractServer | None = None
        self._ctl_ids = itertools.count(1)

    # --- main loop ---

    async def run(self) -> int:
        """Start, supervise until told to stop, shut down; the exit code (0, or 130 when forced)."""
        loop = asyncio.get_running_loop()
        use_private_umask()  # the actors (and the fork server) inherit it
        run_dir = self.config.run_dir
        lock_fd = control.acquire_lock(run_dir)
        try:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(sig, self.events.put_nowait, ("signal", sig))
            self._control = await loop.create_unix_server(
                self._control_protocol, sock=control.bind_control_socket(run_dir)
            )
            log.info(
                "supervisor %d starting %d actor(s): %s",
                os.getpid(),
                len(self.specs),
                ", ".join(s.name for s in self.specs),
            )
            startup = asyncio.create_task(self._start_all())
            await self._main()
            startup.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await startup
            await self._shutdown()
        finally:
            if self._control is not None:
                self._control.close()
            with contextlib.suppress(FileNotFoundError):
                control.socket_path(run_dir).unlink()
            stop_helpers()
            os.close(lock_fd)
        return self.exit_code

    async def _main(self) -> None:
        tick = min(self.policy.health_interval, 0.5)
        while True:
            try:
                kind, arg = await asyncio.wait_for(self.events.get(), timeout=tick)
            except TimeoutError:
                self._health_check()
                continue
            if kind == "signal":
                log.info("received %s: stopping actors in reverse start order", signal.Signals(arg).name)
                self.sigints += arg == signal.SIGINT
                return
            if kind == "stop":
                log.info("`oa-supervisor stop` asked to stop: stopping actors in reverse start order")
                return
            if kind == "exit":
                self._handle_exit(arg)
            elif kind == "restart":
                await self._start(arg)
            self._health_check()

    async def _start_all(self) -> None:
        for spec in self.specs:
            actor = self.actors[spec.name]
            await self._start(actor)
            waiter = actor.ready_waiter
            if waiter is None:
                continue
            try:
                await asyncio.wait_for(asyncio.shield(waiter), self.policy.ready_timeout)
            except TimeoutError:
                log.warning(
                    "%s not ready after %.0fs; starting the next actor", spec.name, self.policy.ready_timeout
                )
            except Exception:
                pass  # it exited during start; the policy in _handle_exit decides what follows

    async def _start(self, actor: ActorProcess) -> None:
        actor.restart_handle = None
        actor.retry_at = 0.0
        if self.shutting_down:
            return
        try:
            await actor.start(self.router.make_protocol, self._on_exit)
        except Exception as exc:
            # Not fatal: a failure of this actor (e.g. out of fds), restarted by the same policy.
            log.exception("could not start %s", actor.name)
            actor.abandon()
            actor.last_error = f"start failed: {type(exc).__name__}: {exc}"
            self._after_failure(actor, abnormal=True)
            return
        log.info("started %s (pid %s, incarnation %d)", actor.name, actor.pid, actor.incarnation)

    def _on_exit(self, actor: ActorProcess) -> None:
        self.events.put_nowait(("exit", actor))

    def _handle_exit(self, actor: ActorProcess) -> None:
        code = actor.process.exitcode if actor.process is not None else None
        desc = actor.exit_description()
        abnormal = code != 0 or actor.crash_report != "" or actor.last_error == "health check timeout"
        self.router.detach(actor)
        actor.close_conn()
        if actor.ready_waiter is not None and not actor.ready_waiter.done():
            actor.ready_waiter.set_exception(RuntimeError(desc))
            actor.ready_waiter.exception()  # mark retrieved
        actor.release()
        actor.pong = {}  # its counters and health() died with it: status must not show them as current
        if actor.stop_requested or self.shutting_down:
            actor.state = State.STOPPED
            return
        if abnormal:
            if actor.last_error != "health check timeout":
                actor.last_error = desc
            log.error("%s %s", actor.name, desc)
        else:
            log.info("%s exited normally", actor.name)
        self._after_failure(actor, abnormal)

    def _after_failure(self, actor: ActorProcess, abnormal: bool) -> None:
        """The policy after an incarnation ended or could not start: restart now, later, or never."""
        restart = actor.spec.restart
        if restart == Restart.TEMPORARY or (restart == Restart.TRANSIENT and not abnormal):
            actor.state = State.STOPPED
            log.info("%s is %s: not restarted", actor.name, restart.value)
            return
        p = self.policy
        now = time.monotonic()
        if actor.ready_at and now - actor.ready_at > p.backoff_reset:
            # It ran well for a while: start the backoff (and the failed-retry delay) over.
            actor.consecutive_failures = 0
            actor.failed_times = 0
        times = actor.restart_times
        if not actor.ready_at or now - actor.ready_at < p.quick_failure:
            times.append(now)
        while times and now - times[0] > p.restart_window:
            times.popleft()
        actor.restarts += 1
        if len(times) > p.max_restarts:
            self._mark_failed(actor)
            return
        actor.consecutive_failures += 1
        n = actor.consecutive_failures
        delay = 0.0 if n == 1 else exponential_delay(n - 2, p.backoff_base, p.backoff_max)
        actor.state = State.BACKOFF
        log.info("restarting %s in %.2fs (restart %d)", actor.name, delay, actor.restarts)
        self._schedule_start(actor, delay)

    def _mark_failed(self, actor: ActorProcess) -> None:
        """Over its budget: leave it down for a while (others keep running), then try again."""
        p = self.policy
        delay = exponential_delay(actor.failed_times, p.failed_retry, p.failed_retry_max)
        actor.failed_times += 1
        actor.state = State.FAILED
        # The retry starts with a fresh budget and an immediate first restart.
        actor.restart_times.clear()
        actor.consecutive_failures = 0
        log.error(
            "%s failed: more than %d quick failures in %gs (last error: %s); the other actors keep running; "
            "retrying it in %.0fs",
            actor.name,
            p.max_restarts,
            p.restart_window,
            actor.last_error or "none",
            delay,
        )
        self._schedule_start(actor, delay)

    def _schedule_start(self, actor: ActorProcess, delay: float) -> None:
        actor.retry_at = time.time() + delay
        loop = asyncio.get_running_loop()
        actor.restart_handle = loop.call_later(delay, self.events.put_nowait, ("restart", actor))

    def _health_check(self) -> None:
        """Ping every actor each `health_interval`; kill one not heard from for `health_timeout`.

        Liveness is any `Pong`: answers to our pings and the heartbeats an actor sends on its own
        timer. The heartbeats matter for an actor whose inbox is full: it has stopped reading (so our
        pings wait in its socket) but its event loop runs and it still writes."""
        now = time.monotonic()
        p = self.policy
        for actor in self.actors.values():
            conn = actor.conn
            if conn is None or conn.closed or actor.state not in (State.RUNNING, State.STARTING):
                continue
            if actor.blocked_by:
                actor.last_seen = now  # paused by backpressure: its pongs cannot reach us
                continue
            if now - actor.last_seen > p.health_timeout:
                log.error(
                    "%s did not answer health checks for %.1fs: killing it", actor.name, now - actor.last_seen
                )
                actor.last_error = "health check timeout"
                actor.last_seen = now
                actor.send_signal(signal.SIGKILL)
                continue
            if now - actor.ping_sent_at >= p.health_interval:
                actor.ping_sent_at = now
                conn.send(encode_frame(Kind.SYS, actor.name, codec.SUPERVISOR, 0, codec.Ping(id=0)))

    # --- system messages from actors ---

    def _on_sys(self, actor: ActorProcess, msg: codec.Message) -> None:
        if isinstance(msg, codec.LogLine):
            emit_remote(actor.name, msg.level, msg.logger, msg.msg, msg.created, msg.exc)
        elif isinstance(msg, codec.Pong):
            actor.last_seen = time.monotonic()
            actor.pong = {**msg.health, "_pong": msg}
        elif isinstance(msg, codec.Ready):
            actor.state = State.RUNNING
            actor.ready_at = time.monotonic()
            if actor.ready_waiter is not None and not actor.ready_waiter.done():
                actor.ready_waiter.set_result(None)
            log.info("%s ready", actor.name)
            self.router.broadcast_sys(codec.ActorUp(name=actor.name, incarnation=actor.incarnation))
        elif isinstance(msg, codec.Crashed):
            actor.crash_report = msg.error
        elif isinstance(msg, codec.Hello):
            log.debug("%s connected (pid %d)", actor.name, msg.pid)

    # --- shutdown ---

    async def _shutdown(self) -> None:
        self.shutting_down = True
        loop = asyncio.get_running_loop()
        for actor in reversed([self.actors[s.name] for s in self.specs]):
            if actor.restart_handle is not None:
                actor.restart_handle.cancel()
                actor.restart_handle = None
            actor.retry_at = 0.0
            if not actor.alive:
                actor.state = State.STOPPED
                continue
            if self.sigints >= 2:
                actor.send_signal(signal.SIGKILL)
                continue
            actor.state = State.STOPPING
            actor.stop_requested = True
            if actor.conn is not None and not actor.conn.closed:
                actor.conn.send(encode_frame(Kind.SYS, actor.name, codec.SUPERVISOR, 0, codec.Stop()))
            actor.send_signal(signal.SIGTERM)
            end = loop.time() + self.policy.grace_period
            while actor.alive and loop.time() < end:
                try:
                    kind, arg = await asyncio.wait_for(self.events.get(), timeout=max(0.0, end - loop.time()))
                except TimeoutError:
                    break
                if kind == "exit":
                    self._handle_exit(arg)
                elif kind == "signal" and arg == signal.SIGINT:
                    self.sigints += 1
                    log.warning("second interrupt: killing the remaining actors")
                    self.sigints = max(self.sigints, 2)
                    self.exit_code = self.exit_code or 130
                    break
            if actor.alive:
                if self.sigints < 2:
                    log.warning("%s did not stop within %.1fs: SIGKILL", actor.name, self.policy.grace_period)
                actor.send_signal(signal.SIGKILL)
        # Reap everything (a SIGKILLed process exits at once) so no zombie or orphan remains.
        for actor in self.actors.values():
            if actor.process is not None:
                with contextlib.suppress(Exception):
                    actor.process.join(2.0)
        # Read what the actors wrote last (their stop logs) before closing their sockets.
        end = loop.time() + 1.0
        while loop.time() < end and any(
            a.conn is not None and not a.conn.closed for a in self.actors.values()
        ):
            await asyncio.sleep(0.01)
        for actor in self.actors.values():
            if actor.process is not None:
                with contextlib.suppress(Exception):
                    actor.process.join(2.0)
                if actor.alive:
                    actor.send_signal(signal.SIGKILL)
                    actor.process.join(2.0)
                with contextlib.suppress(Exception):
                    loop.remove_reader(actor.process.sentinel)
                actor.release()
            actor.close_conn()
            actor.state = State.STOPPED
        log.info("all actors stopped")

    # --- status over the control socket ---

    def status(self) -> codec.StatusReply:
        """A snapshot for `oa-supervisor status`."""
        rows = []
        for spec in self.specs:
            a = self.actors[spec.name]
            pong = a.pong.get("_pong")
            health = {k: v for k, v in a.pong.items() if not k.startswith("_")}
            rows.append(
                codec.ActorStatus(
                    name=a.name,
                    state=a.state,
                    pid=a.pid if a.alive else None,
                    restarts=a.restarts,
                    uptime=round(a.uptime(), 3),
                    inbox=pong.inbox if pong else 0,
                    msgs_in=a.msgs_in,
                    msgs_out=a.msgs_out,
                    handled=pong.handled if pong else 0,
                    dropped=pong.dropped if pong else 0,
                    pub_dropped=a.pub_dropped,
                    undeliverable=a.undeliverable,
                    restart_type=spec.restart.value,
                    last_error=a.last_error,
                    retry_at=round(a.retry_at, 3),
                    health=health,
                )
            )
        return codec.StatusReply(
            pid=os.getpid(),
            uptime=round(time.monotonic() - self.started, 3),
            home=str(self.config.home),
            actors=rows,
            bad_frames=self.router.bad_frames,
        )

    def _control_protocol(self) -> FrameProtocol:
        """One control connection: `StatusRequest` gets `status()`; an ASK is forwarded to its actor
        and the reply comes back (so tools and tests can talk to actors)."""
        proto: FrameProtocol
        name = f"ctl:{next(self._ctl_ids)}"

        def on_frame(frame: memoryview) -> None:
            try:
                h = decode_header(frame)
            except ValueError as exc:
                log.warning("control socket: dropped a bad frame: %s", exc)
                return
            if h.kind == Kind.ASK:
                self.router.clients[name] = proto
                dst = self.actors.get(h.dst)
                if dst is None or dst.conn is None or dst.conn.closed:
                    err = codec.AskError(error=f"actor {h.dst!r} is not running")
                    proto.send(encode_frame(Kind.ERROR, name, codec.SUPERVISOR, h.id, err))
                    return
                dst.conn.send(encode_frame(Kind.ASK, h.dst, name, h.id, h.payload))
                return
            try:
                msg = decode_payload(h.payload)
            except ValueError as exc:
                log.warning("control socket: dropped a bad frame: %s", exc)
                return
            if isinstance(msg, codec.StatusRequest | codec.StopRequest):
                proto.send(encode_frame(Kind.SYS, h.src, codec.SUPERVISOR, h.id, self.status()))
            if isinstance(msg, codec.StopRequest):
                self.events.put_nowait(("stop", None))

        def on_lost(exc: Exception | None) -> None:
            self.router.clients.pop(name, None)

        proto = FrameProtocol(on_frame, on_lost=on_lost)
        return proto
