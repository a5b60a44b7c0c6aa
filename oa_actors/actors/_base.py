"""Shared lifecycle for the product actors until their business logic lands."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from oa_actors.runtime.actor import Actor, ActorUnavailable, AskTimeout, Context
from oa_actors.runtime.codec import Echo, Message


async def ask_when_ready(
    ctx: Context, actor: str, msg: Message, reply_type: type[Message], tries: int = 120
) -> Message:
    """Ask `actor` until it answers with `reply_type`: at start-up the actor asked may still be
    opening its resources (the writer its store). Raises RuntimeError after `tries` attempts."""
    for attempt in range(tries):
        try:
            reply = await ctx.ask(actor, msg, timeout=5.0)
            if isinstance(reply, reply_type):
                return reply
        except (AskTimeout, ActorUnavailable) as exc:
            if attempt % 10 == 0:
                ctx.log.info("waiting for %s (%s)", actor, exc)
        await asyncio.sleep(0.25)
    raise RuntimeError(f"{actor} did not answer {type(msg).__name__}")


class LifecycleActor(Actor):
    """Logs start and stop, answers `Echo` asks (a liveness probe), reports uptime and counters."""

    def __init__(self) -> None:
        self.started = 0.0
        self.messages = 0

    async def on_start(self, ctx: Context) -> None:
        self.started = time.monotonic()
        await self.setup(ctx)
        ctx.log.info("started")

    async def setup(self, ctx: Context) -> None:
        """Per-actor start work (overridden by subclasses)."""

    async def on_message(self, msg: Message, sender: str) -> Message | None:
        self.messages += 1
        if isinstance(msg, Echo):
            return msg
        self.ctx.log.debug("ignoring %s from %s (handled in a later issue)", type(msg).__name__, sender)
        return None

    async def on_stop(self) -> None:
        self.ctx.log.info("stopping after %.1fs", time.monotonic() - self.started)

    def health(self) -> dict[str, Any]:
        return {"messages": self.messages, **self.details()}

    def details(self) -> dict[str, Any]:
        """Per-actor status fields (overridden by subclasses)."""
        return {}
