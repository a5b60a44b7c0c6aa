"""Test-only actors, run by a real supervisor via `OA_ACTOR_SPECS=tests.runtime.fixture_actors:SPECS`.

Tests drive them with `control.ask(run_dir, actor, Cmd(...))`; each returns a `Cmd` with the result.
Behaviour switches come from environment variables set by the test on the supervisor process.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import msgspec
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from oa_actors.runtime import codec
from oa_actors.runtime.actor import Actor, ActorUnavailable, AskTimeout, Context
from oa_actors.runtime.codec import Echo, Kind, Message, encode_frame
from oa_actors.runtime.registry import ActorSpec, Restart


class Cmd(Message, tag="test.cmd"):
    """A command to a test actor, and its result."""

    op: str
    arg: str = ""
    n: int = 0


class Item(Message, tag="test.item"):
    """One item of a data-path stream."""

    seq: int


def _home() -> Path:
    return Path(os.environ["OPENAGENTS_HOME"])


class EchoActor(Actor):
    """Answers asks; counts tells; records `Item` seqs (one line each) to `$OPENAGENTS_HOME/<name>.seqs`."""

    def __init__(self) -> None:
        self.count = 0
        self.items = 0
        self.published: list[int] = []

    async def on_start(self, ctx: Context) -> None:
        await ctx.subscribe("news")
        ctx.log.info("echo actor started (pid %d)", os.getpid())
        self.seqs = open(_home() / f"{ctx.name}.seqs", "a", buffering=1)  # noqa: SIM115 - lives with the actor

    async def on_message(self, msg: Message, sender: str) -> Message | None:
        self.count += 1
        if isinstance(msg, Item):
            self.items += 1
            self.seqs.write(f"{msg.seq}\n")
            if os.environ.get("OA_TEST_SLOW_SINK"):
                await asyncio.sleep(float(os.environ.get("OA_TEST_SLOW_SINK_DELAY", "0.0005")))
            return None
        if isinstance(msg, Echo):
            if msg.text == "news":
                self.published.append(msg.n)
            return msg
        if isinstance(msg, Cmd):
            if msg.op == "count":
                return Cmd(op="count", n=self.count)
            if msg.op == "items":
                return Cmd(op="items", n=self.items)
            if msg.op == "published":
                return Cmd(op="published", n=len(self.published))
            if msg.op == "sleep":
                await asyncio.sleep(float(msg.arg))
                return Cmd(op="slept")
            if msg.op == "block":
                time.sleep(float(msg.arg))  # busy: frames sent meanwhile wait in the socket
                return None
            if msg.op == "hang":
                time.sleep(3600)  # blocks the event loop: health checks must catch it
            if msg.op == "crash":
                raise RuntimeError("crash requested")
            if msg.op == "pid":
                return Cmd(op="pid", n=os.getpid())
            if msg.op in ("watch_raise_in_thread", "watch_raise_on_loop"):
                self._watch_and_raise(msg.arg, on_loop=msg.op == "watch_raise_on_loop")
                return Cmd(op="watching")
        return None

    def _watch_and_raise(self, folder: str, on_loop: bool) -> None:
        """A watchdog observer on `folder` whose event handler has a bug, either in the observer's
        thread or in the callback it hands to the event loop (as the session and FS watches do)."""
        loop = asyncio.get_running_loop()

        def bug(path: str) -> None:
            raise RuntimeError(f"handler bug on {os.path.basename(path)}")

        class Handler(FileSystemEventHandler):
            def on_created(self, event: FileSystemEvent) -> None:
                path = os.fsdecode(event.src_path)
                if on_loop:
                    loop.call_soon_threadsafe(bug, path)
                else:
                    bug(path)

        self.observer = Observer()
        self.observer.daemon = True
        self.observer.schedule(Handler(), folder)
        self.observer.start()

    def health(self) -> dict[str, Any]:
        return {"count": self.count}


class Prober(EchoActor):
    """Runs scenarios on request (ask timeouts, bad frames, streams) and returns what happened."""

    async def on_message(self, msg: Message, sender: str) -> Message | None:
        if not isinstance(msg, Cmd) or msg.op not in SCENARIOS:
            return await super().on_message(msg, sender)
        return await SCENARIOS[msg.op](self.ctx, msg)


async def _ask_timeout(ctx: Context, msg: Cmd) -> Cmd:
    try:
        await ctx.ask(msg.arg, Cmd(op="sleep", arg="3"), timeout=0.2)
    except AskTimeout:
        return Cmd(op="timeout")
    return Cmd(op="answered")


async def _ask_unknown(ctx: Context, msg: Cmd) -> Cmd:
    try:
        await ctx.ask("nobody", Echo(), timeout=5)
    except ActorUnavailable as exc:
        return Cmd(op="unavailable", arg=str(exc))
    return Cmd(op="answered")


async def _bad_frames(ctx: Context, msg: Cmd) -> Cmd:
    conn = ctx._conn
    target = msg.arg
    # 1. garbage that is not a frame header at all, to the router
    conn.send(b"\x00\x00\x00\x05\xc1\xc1\xc1\xc1\xc1")
    # 2. a well-formed header for `target` whose payload has an unknown tag
    unknown = msgspec.msgpack.encode({"type": "no.such.type", "x": 1})
    conn.send(encode_frame(Kind.TELL, target, ctx.name, 0, msgspec.Raw(unknown)))
    # 3. a known tag with the wrong shape
    wrong = msgspec.msgpack.encode({"type": "test.item", "seq": "not an int"})
    conn.send(encode_frame(Kind.TELL, target, ctx.name, 0, msgspec.Raw(wrong)))
    # 4. a payload that is not msgpack
    conn.send(encode_frame(Kind.TELL, target, ctx.name, 0, msgspec.Raw(b"\xc1")))
    # 5. an oversized frame (announced and sent in full): the router skips it and stays in sync
    big = codec.MAX_FRAME + 1
    conn.send(big.to_bytes(4, "big") + b"\x00" * big)
    # 6. sending an oversized message is refused at the sender
    try:
        await ctx.tell(target, Echo(data=b"x" * (codec.MAX_FRAME + 10)))
        refused = "sent"
    except codec.FrameTooLarge:
        refused = "refused"
    # Still in sync: a normal ask through the same connection works.
    reply = await ctx.ask(target, Cmd(op="count"), timeout=10)
    assert isinstance(reply, Cmd)
    return Cmd(op="bad_frames", arg=refused, n=reply.n)


async def _stream(ctx: Context, msg: Cmd) -> Cmd:
    """Reliable stream of `msg.n` items to `msg.arg`; answers once every item is acknowledged."""
    for seq in range(msg.n):
        await ctx.deliver(msg.arg, Item(seq=seq))
    while ctx.unacked:
        await asyncio.sleep(0.01)
    return Cmd(op="streamed", n=msg.n)


async def _start_stream(ctx: Context, msg: Cmd) -> Cmd:
    """Start `_stream` in the background (the test kills the receiver meanwhile)."""
    task = asyncio.get_running_loop().create_task(_stream(ctx, msg))
    _tasks.add(task)
    return Cmd(op="started")


async def _stream_done(ctx: Context, msg: Cmd) -> Cmd:
    return Cmd(op="unacked", n=ctx.unacked if all(t.done() for t in _tasks) else -1)


async def _link(ctx: Context, msg: Cmd) -> Cmd:
    return Cmd(op="linked", n=int(await ctx.link(msg.arg)))


async def _flood(ctx: Context, msg: Cmd) -> Cmd:
    """`msg.n` plain tells (backpressure path) to `msg.arg`."""
    for seq in range(msg.n):
        await ctx.tell(msg.arg, Item(seq=seq))
    return Cmd(op="flooded", n=msg.n)


async def _publish(ctx: Context, msg: Cmd) -> Cmd:
    for i in range(msg.n):
        await ctx.publish("news", Echo(n=i, text="news"))
    return Cmd(op="published", n=msg.n)


async def _log_from_threads(ctx: Context, msg: Cmd) -> Cmd:
    """`msg.n` log lines from worker threads, interleaved with lines from the loop."""

    def worker(i: int) -> None:
        ctx.log.warning("line %d from a worker thread", i)

    await asyncio.gather(*(asyncio.to_thread(worker, i) for i in range(msg.n)))
    for i in range(msg.n):
        ctx.log.warning("line %d from the loop", i)
    return Cmd(op="logged", n=msg.n)


_tasks: set[asyncio.Task[Any]] = set()


async def _urgent(ctx: Context, msg: Cmd) -> Cmd:
    """While `msg.arg` is busy: 20 DATA items, then one URGENT item (seq 999); returns how many
    stay unacknowledged once everything is handled (0)."""
    await ctx.tell(msg.arg, Cmd(op="block", arg="0.5"))
    for i in range(20):
        await ctx.deliver(msg.arg, Item(seq=i))
    await ctx.deliver(msg.arg, Item(seq=999), urgent=True)
    for _ in range(500):
        if not ctx.unacked:
            break
        await asyncio.sleep(0.02)
    return Cmd(op="urgent", n=ctx.unacked)


SCENARIOS = {
    "urgent": _urgent,
    "log_from_threads": _log_from_threads,
    "ask_timeout": _ask_timeout,
    "ask_unknown": _ask_unknown,
    "bad_frames": _bad_frames,
    "stream": _stream,
    "start_stream": _start_stream,
    "stream_done": _stream_done,
    "flood": _flood,
    "link": _link,
    "publish": _publish,
}


class Crasher(Actor):
    """Fails in `on_start`, every time."""

    async def on_start(self, ctx: Context) -> None:
        raise RuntimeError("boom from crasher")


class Flaky(EchoActor):
    """Fails in `on_start` while `$OPENAGENTS_HOME/<name>.broken` exists (a broken binary, say);
    works normally once the file is gone (the problem was fixed)."""

    async def on_start(self, ctx: Context) -> None:
        broken = _home() / f"{ctx.name}.broken"
        if broken.exists():
            raise RuntimeError(f"boom from {ctx.name}: {broken.read_text().strip()}")
        await super().on_start(ctx)


class Quitter(Actor):
    """Exits normally right after start (a transient actor that finished its job)."""

    async def on_start(self, ctx: Context) -> None:
        asyncio.get_running_loop().call_later(0.2, os._exit, 0)


class SlowStopper(EchoActor):
    """Takes far longer than any grace period to stop."""

    async def on_stop(self) -> None:
        await asyncio.sleep(3600)


_M = "tests.runtime.fixture_actors"
SPECS = [
    ActorSpec("alpha", f"{_M}:EchoActor", order=1),
    ActorSpec("beta", f"{_M}:EchoActor", order=2),
    ActorSpec("prober", f"{_M}:Prober", order=3),
    ActorSpec("sink", f"{_M}:EchoActor", order=4, inbox_size=64),
    ActorSpec("crasher", f"{_M}:Crasher", order=5),
    ActorSpec("quitter", f"{_M}:Quitter", restart=Restart.TRANSIENT, order=6),
    ActorSpec("temp", f"{_M}:EchoActor", restart=Restart.TEMPORARY, order=7),
    ActorSpec("slowstop", f"{_M}:SlowStopper", order=8),
    ActorSpec("gamma", f"{_M}:EchoActor", order=9),
    ActorSpec("delta", f"{_M}:EchoActor", order=10),
    ActorSpec("flaky", f"{_M}:Flaky", order=11),
]
