"""Lifecycle of one actor's OS process, as seen from the supervisor (one small class, like uvicorn's).

Each incarnation gets a fresh Unix socketpair: the supervisor keeps one end (wrapped in a
`FrameProtocol`), the child gets the other through multiprocessing's fd passing. Process death is
noticed through the process sentinel (an fd that becomes readable when the child exits), so a
restart starts within one loop iteration of a kill.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.machinery
import logging
import multiprocessing
import multiprocessing.context
import os
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from oa_actors.config import Config
from oa_actors.runtime.child import actor_main
from oa_actors.runtime.registry import ActorSpec
from oa_actors.runtime.transport import FrameProtocol

log = logging.getLogger("oa.runtime.supervisor")


class State:
    """Actor states shown by `status`."""

    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    BACKOFF = "backoff"  # waiting before a restart
    FAILED = "failed"  # over its restart budget: retried later (`retry_at`) while the others run
    STOPPED = "stopped"  # exited and not restarted (temporary, clean transient exit, or shutdown)


class ActorProcess:
    """One actor: its current process and connection, plus what survives restarts (counters, errors)."""

    def __init__(
        self,
        spec: ActorSpec,
        mp: multiprocessing.context.BaseContext,
        config: Config,
        log_level: str,
        heartbeat: float = 1.0,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.mp = mp
        self.config = config
        self.log_level = log_level
        self.process: multiprocessing.process.BaseProcess | None = None
        self.conn: FrameProtocol | None = None
        self.state = State.STOPPED
        self.incarnation = 0
        self.restarts = 0
        self.consecutive_failures = 0
        self.restart_times: deque[float] = deque()  # monotonic times of restarts in the window
        self.failed_times = 0  # how often in a row it went over its budget (doubles the retry delay)
        self.retry_at = 0.0  # wall-clock time of the scheduled restart (0: none)
        self.started_at = 0.0
        self.ready_at = 0.0
        self.last_error = ""
        self.crash_report = ""  # from the actor's Crashed message, if it managed to send one
        self.msgs_in = 0  # frames received from this actor
        self.msgs_out = 0  # frames routed to this actor
        self.pub_dropped = 0
        self.undeliverable = 0
        self.pong: dict[str, Any] = {}
        self.heartbeat = heartbeat
        self.ping_sent_at = 0.0  # monotonic time of the last ping
        self.last_seen = 0.0  # monotonic time of the last Pong (or of the start)
        self.topics: set[str] = set()
        self.ready_waiter: asyncio.Future[None] | None = None
        self.restart_handle: asyncio.TimerHandle | None = None
        self.blocked_sources: set[ActorProcess] = set()  # paused because this actor is slow
        self.blocked_by: int = 0  # number of destinations this actor's reading is paused for
        self.stop_requested = False
        self.last_exitcode: int | None = None
        self.lifeline: socket.socket | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.exitcode is None

    def uptime(self) -> float:
        if self.state not in (State.RUNNING, State.STARTING, State.STOPPING) or not self.started_at:
            return 0.0
        return time.monotonic() - self.started_at

    async def start(
        self,
        make_protocol: Callable[[ActorProcess], FrameProtocol],
        on_exit: Callable[[ActorProcess], None],
    ) -> None:
        """Start a new incarnation; returns once the process exists (not when it is ready)."""
        loop = asyncio.get_running_loop()
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        for s in (parent, child):
            # Bigger kernel buffers mean fewer wakeups for batched data.
            with contextlib.suppress(OSError):
                s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        # The lifeline: the child exits when this end closes, i.e. when the supervisor dies.
        self.lifeline, life_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.incarnation += 1
        self.ready_at = 0.0
        self.crash_report = ""
        self.pong = {}
        self.ping_sent_at = 0.0
        self.last_seen = time.monotonic()
        self.stop_requested = False
        ppid = os.getpid() if self.mp.get_start_method() == "spawn" else 0
        proc = self.mp.Process(  # type: ignore[attr-defined]
            target=actor_main,
            args=(self.spec, child, life_child, self.config, self.log_level, ppid, self.heartbeat),
            name=f"oa-{self.name}",
            daemon=False,
        )
        self.state = State.STARTING
        self.ready_waiter = loop.create_future()
        try:
            # Start from the main thread: PR_SET_PDEATHSIG fires when the *thread* that forked exits.
            proc.start()
            self.process = proc
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
            life_child.close()
        self.started_at = time.monotonic()
        parent.setblocking(False)
        try:
            _, self.conn = await loop.create_unix_connection(lambda: make_protocol(self), sock=parent)
        except BaseException:
            parent.close()
            raise
        loop.add_reader(proc.sentinel, self._on_sentinel, on_exit)

    def _on_sentinel(self, on_exit: Callable[[ActorProcess], None]) -> None:
        proc = self.process
        if proc is None:
            return
        loop = asyncio.get_running_loop()
        with contextlib.suppress(Exception):
            loop.remove_reader(proc.sentinel)
        proc.join(0)
        conn = self.conn
        if conn is None or conn.closed:
            on_exit(self)
            return
        # The socket may still hold the actor's last frames (its crash report, its last log lines):
        # report the exit once they are read (EOF), or after a short timeout.
        fired = False

        def fire(_exc: Exception | None = None) -> None:
            nonlocal fired
            if not fired:
                fired = True
                timer.cancel()
                on_exit(self)

        timer = loop.call_later(0.5, fire)
        conn.on_lost = fire

    def exit_description(self) -> str:
        """Why the last incarnation ended, for logs and `last_error`."""
        code = self.process.exitcode if self.process is not None else None
        if code is None:
            what = "still running"
        elif code < 0:
            try:
                what = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                what = f"killed by signal {-code}"
        else:
            what = f"exited with code {code}"
        return f"{what}: {self.crash_report}" if self.crash_report else what

    def abandon(self) -> None:
        """Clean up after a start that failed half-way: kill what was started, close its sockets."""
        if self.process is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self.process.sentinel)
            if self.alive:
                self.send_signal(signal.SIGKILL)
                with contextlib.suppress(Exception):
                    self.process.join(5.0)
        self.close_conn()
        if self.ready_waiter is not None and not self.ready_waiter.done():
            self.ready_waiter.set_exception(RuntimeError("start failed"))
            self.ready_waiter.exception()  # mark retrieved
        self.release()

    def send_signal(self, sig: int) -> None:
        """Signal the current process if it is still running."""
        if self.process is not None and self.process.pid and self.process.exitcode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, sig)

    def close_conn(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
        self.conn = None

    def release(self) -> None:
        """Free the finished process object (fds) after its exit was handled."""
        if self.process is not None:
            self.last_exitcode = self.process.exitcode
            with contextlib.suppress(Exception):
                self.process.close()
        self.process = None
        if self.lifeline is not None:
            self.lifeline.close()
            self.lifeline = None


def protect_main() -> None:
    """Keep actor processes from re-running the CLI script.

    Both spawn and forkserver children re-import the parent's `__main__` by path when it has no
    module spec, and a console script without an `if __name__ == "__main__"` guard would then run
    `oa-supervisor run` again inside every actor. A spec named `*.__main__` makes multiprocessing
    skip that step (see multiprocessing.spawn._fixup_main_from_name).
    """
    main = sys.modules.get("__main__")
    if main is not None and getattr(main, "__spec__", None) is None:
        main.__spec__ = importlib.machinery.ModuleSpec("oa_actors.__main__", None)


def stop_helpers() -> None:
    """Stop multiprocessing's fork server and resource tracker now, not at interpreter exit."""
    with contextlib.suppress(Exception):
        from multiprocessing import forkserver

        forkserver._forkserver._stop()  # type: ignore[attr-defined]
    with contextlib.suppress(Exception):
        from multiprocessing import resource_tracker

        resource_tracker._resource_tracker._stop()  # type: ignore[attr-defined]
