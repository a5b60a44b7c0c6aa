"""The product actors with a fault-injection hook, for `--specs tests.runtime.faulty_actors:SPECS`.

Each actor here is the real one (same setup, same loops, same dependencies) plus two test-only
messages: `ListTasks` names the tasks running in the actor (the ones started with `ctx.spawn`, and
any other), and `InjectFault(task)` makes one long-lived task fail *inside its own loop*: the task
is interrupted where it waits (a sleep, an event, an HTTP call, a queue) and `InjectedFault` is
raised at that point, exactly as if the awaited dependency had raised. Nothing else changes, so
what the test sees afterwards (a crash, a restart, the error in status) is the product's own
behaviour.
"""

from __future__ import annotations

import asyncio
import ctypes
import threading
import types
from collections.abc import Callable, Coroutine, Generator
from typing import Any

from oa_actors.actors.codex_runner import CodexRunner
from oa_actors.actors.convex_backend import ConvexBackend
from oa_actors.actors.convex_writer import ConvexWriter
from oa_actors.actors.fs_syncer import FsSyncer
from oa_actors.actors.indexer import Indexer
from oa_actors.actors.sessions_tailer import SessionsTailer
from oa_actors.actors.ws_gateway import WsGateway
from oa_actors.runtime.actor import Actor, Context
from oa_actors.runtime.codec import Message
from oa_actors.runtime.registry import DEFAULT_SPECS, ActorSpec


class InjectedFault(RuntimeError):
    """The failure a test injected into a background task."""


class InjectFault(Message, tag="test.inject_fault"):
    """Make the supervised task named `task` fail; the reply says whether it was found."""

    task: str
    found: bool = False


class ListTasks(Message, tag="test.list_tasks"):
    """Ask for the running tasks: `supervised` (started with ctx.spawn) and `other` (every other);
    and the names of the live threads."""

    supervised: list[str] = []
    other: list[str] = []
    threads: list[str] = []


def _raise_in_thread(name: str) -> bool:
    """Raise `InjectedFault` inside the live thread named `name` (at its next Python bytecode, e.g.
    when its wait times out), as if what it called had raised. False if there is no such thread."""
    for t in threading.enumerate():
        if t.name == name and t.is_alive() and t.ident is not None:
            done = ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(t.ident), ctypes.py_object(InjectedFault)
            )
            return bool(done == 1)
    return False


@types.coroutine
def _drive(coro: Coroutine[Any, Any, Any], name: str, armed: Callable[[], bool]) -> Generator[Any, Any, Any]:
    """Run `coro` step by step; when its task is cancelled while `armed()`, throw `InjectedFault`
    into `coro` at the await where it is suspended (instead of the cancellation)."""
    value: Any = None
    pending: BaseException | None = None
    while True:
        try:
            yielded = coro.send(value) if pending is None else coro.throw(pending)
        except StopIteration as stop:
            return stop.value
        value, pending = None, None
        try:
            value = yield yielded
        except asyncio.CancelledError as exc:
            if armed():
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()
                pending = InjectedFault(f"fault injected into {name}")
            else:
                pending = exc
        except BaseException as exc:
            pending = exc


class FaultInjection(Actor):
    """Mixin placed before a product actor class: wraps `ctx.spawn` and answers the test messages."""

    async def on_start(self, ctx: Context) -> None:
        self._spawned: dict[str, asyncio.Task[Any]] = {}
        self._armed: set[str] = set()
        real_spawn = ctx.spawn

        def spawn(coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
            async def faultable() -> Any:
                return await _drive(coro, name, lambda: name in self._armed)

            task = real_spawn(faultable(), name)
            self._spawned[name] = task
            return task

        ctx.spawn = spawn  # type: ignore[method-assign]  # the product code calls ctx.spawn
        await super().on_start(ctx)

    async def on_message(self, msg: Message, sender: str) -> Message | None:
        if isinstance(msg, InjectFault):
            if msg.task not in self._spawned:  # a long-lived thread (the store's, a watch's)
                return InjectFault(task=msg.task, found=_raise_in_thread(msg.task))
            task = self._spawned.get(msg.task)
            if task is None or task.done():
                return InjectFault(task=msg.task, found=False)
            self._armed.add(msg.task)
            task.cancel()
            return InjectFault(task=msg.task, found=True)
        if isinstance(msg, ListTasks):
            mine = {t for t in self._spawned.values() if not t.done()}
            return ListTasks(
                supervised=sorted(t.get_name() for t in mine),
                other=sorted(t.get_name() for t in asyncio.all_tasks() if t not in mine),
                threads=sorted(t.name for t in threading.enumerate()),
            )
        return await super().on_message(msg, sender)


class FaultyBackend(FaultInjection, ConvexBackend):
    """`convex_backend` with fault injection."""


class FaultyWriter(FaultInjection, ConvexWriter):
    """`convex_writer` with fault injection."""


class FaultyTailer(FaultInjection, SessionsTailer):
    """`sessions_tailer` with fault injection."""


class FaultyFsSyncer(FaultInjection, FsSyncer):
    """`fs_syncer` with fault injection."""


class FaultyRunner(FaultInjection, CodexRunner):
    """`codex_runner` with fault injection."""


class FaultyIndexer(FaultInjection, Indexer):
    """`indexer` with fault injection."""


class FaultyGateway(FaultInjection, WsGateway):
    """`ws_gateway` with fault injection."""


_CLASSES: dict[str, type[Actor]] = {
    "convex_backend": FaultyBackend,
    "convex_writer": FaultyWriter,
    "sessions_tailer": FaultyTailer,
    "fs_syncer": FaultyFsSyncer,
    "codex_runner": FaultyRunner,
    "indexer": FaultyIndexer,
    "ws_gateway": FaultyGateway,
}
SPECS = [
    ActorSpec(s.name, f"{__name__}:{_CLASSES[s.name].__name__}", s.restart, s.order, s.inbox_size)
    for s in DEFAULT_SPECS
]
