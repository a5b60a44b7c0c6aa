"""Supervised background tasks: a long-lived task that fails takes its owner down (let it crash).

A bare `asyncio.create_task` whose coroutine raises fails silently: the exception waits in the task
until someone looks (often never), while the owner looks healthy. Every long-lived task of an actor
is started with `Context.spawn(coro, name)` instead, which crashes the actor on the first failure,
so the supervisor restarts it and status and the log show why (the traceback is logged once, by the
actor's crash report). Services that also run without an actor (the tailer and the FS syncer under
`oa-supervisor backfill` or in tests) take a `spawn` function; their default, `LocalTasks`, keeps
the first failure and hands it to the caller (e.g. `TailerService.wait_idle` raises it).

"Long-lived" means it runs until cancelled: a supervised task that returns is a failure too (a
loop that stopped is as silent as one that raised). Cancelling a task is never a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any

#: How a service starts its long-lived tasks: `spawn(coro, name) -> task` (`Context.spawn`).
Spawn = Callable[[Coroutine[Any, Any, Any], str], "asyncio.Task[Any]"]


class TaskFailed(RuntimeError):
    """A supervised task raised (the original exception is `__cause__`) or returned; in an actor
    process also a thread or an event-loop callback that raised (`kind` says which)."""

    def __init__(self, name: str, cause: BaseException | None, kind: str = "background task") -> None:
        if cause is None:
            super().__init__(f"{kind} {name!r} ended, but it must run until cancelled")
        else:
            super().__init__(f"{kind} {name!r} failed: {type(cause).__name__}: {cause}")
        self.task_name = name
        self.__cause__ = cause


def spawn_supervised(
    coro: Coroutine[Any, Any, Any], name: str, on_failure: Callable[[TaskFailed], None]
) -> asyncio.Task[Any]:
    """Start `coro` as a task named `name`; `on_failure(TaskFailed)` is called (on the loop) if it
    raises or returns. Cancellation is not a failure."""
    task = asyncio.get_running_loop().create_task(coro, name=name)

    def done(t: asyncio.Task[Any]) -> None:
        if t.cancelled():
            return
        on_failure(TaskFailed(name, t.exception()))  # exception() also marks it retrieved

    task.add_done_callback(done)
    return task


class LocalTasks:
    """Supervision for a service run outside an actor: the first failure is logged (with its
    traceback) and kept in `failure`; `raise_failure()` hands it to the caller; `on_failure` (if
    given) wakes whoever waits on the service."""

    def __init__(self, log: logging.Logger, on_failure: Callable[[], None] | None = None) -> None:
        self.log = log
        self.failure: TaskFailed | None = None
        self._on_failure = on_failure

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """A `Spawn` function."""
        return spawn_supervised(coro, name, self._failed)

    def _failed(self, exc: TaskFailed) -> None:
        self.log.error("%s", exc, exc_info=exc)
        if self.failure is None:
            self.failure = exc
        if self._on_failure is not None:
            self._on_failure()

    def raise_failure(self) -> None:
        """Raise the first failure, if a task failed."""
        if self.failure is not None:
            raise self.failure


def catch_stray_errors(loop: asyncio.AbstractEventLoop, on_failure: Callable[[TaskFailed], None]) -> None:
    """In an actor process: report a thread that dies of an exception (watchdog observers, store
    checkpoints) and an event-loop callback that raises (e.g. a watch event handed over with
    `call_soon_threadsafe`) to `on_failure`, which crashes the actor. By default Python prints
    those to stderr and carries on without them: a watch that stopped would go unnoticed."""

    def thread_failed(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        name = args.thread.name if args.thread is not None else "?"
        failure = TaskFailed(name, args.exc_value, kind="thread")
        with contextlib.suppress(RuntimeError):  # the loop is closed: the process is ending anyway
            loop.call_soon_threadsafe(on_failure, failure)

    def loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, Exception) and "handle" in context:  # a scheduled callback raised
            on_failure(TaskFailed(repr(context["handle"])[:200], exc, kind="callback"))
        else:
            loop.default_exception_handler(context)

    threading.excepthook = thread_failed
    loop.set_exception_handler(loop_error)
