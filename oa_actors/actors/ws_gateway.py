"""`ws_gateway`: the bridge WebSocket (`ws://<host>:8787/ws`, OPENAGENTS_BRIDGE_BIND) for the apps.

The server (oa_actors/gateway) answers live queries from the local store itself; every other verb
is asked of the actor that serves it (its `owner` in oa_actors/verbs/catalog.py) and the reply goes
to the requester only.
Committed rows, run output and backfill progress arrive on bus topics and are fanned out to the
clients (a slow client is disconnected, never waited for). docs/protocol.md is the protocol.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import msgspec

from oa_actors import messages as m
from oa_actors.actors._base import LifecycleActor
from oa_actors.gateway.errors import HandlerTimeout, Unavailable, UnknownVerb, error_for
from oa_actors.gateway.handler import ClientInfo, VerbHandler
from oa_actors.gateway.server import BridgeServer
from oa_actors.gateway.settings import GatewaySettings
from oa_actors.runtime import control
from oa_actors.runtime.actor import ActorUnavailable, AskTimeout, Context
from oa_actors.runtime.codec import Message, StatusReply
from oa_actors.usage.prices import PriceTable
from oa_actors.verbs import catalog as c
from oa_actors.verbs import events as ev
from oa_actors.verbs.catalog import VERBS
from oa_actors.verbs.dispatch import VerbFailure, VerbTable, code_of
from oa_actors.verbs.registry import ErrorCode, NoArgs, Verb

TOPICS = (m.TOPIC_THREADS, m.TOPIC_MESSAGES, m.TOPIC_PROJECTS, m.TOPIC_SKILLS, m.TOPIC_RUNS, m.TOPIC_PROGRESS)
ASK_TIMEOUT = 25.0  # below the server's 30 s handler timeout, so the client gets our reason


class ActorVerbs(VerbHandler):
    """Asks the actor that serves each delegated verb over the bus (and the verb's `parts`); the
    verbs of `ws_gateway` itself are answered here, without the bus."""

    def __init__(self, ctx: Context, actor: WsGateway) -> None:
        self.ctx = ctx
        self.actor = actor

    async def ask(self, actor: str, verb: str, args: dict[str, Any]) -> dict[str, Any]:
        reply: Message
        if actor == m.GATEWAY:  # its own verbs: no trip over the bus
            reply = await WsGateway.verbs.dispatch(self.actor, m.VerbRequest(verb=verb, args=args))
        else:
            reply = await self._ask_bus(actor, verb, args)
        if not isinstance(reply, m.VerbReply):
            raise Unavailable(f"{actor} sent an unexpected reply to {verb}")
        if reply.ok:
            return reply.result
        raise error_for(code_of(reply.code), reply.error or f"{verb} failed")

    async def _ask_bus(self, actor: str, verb: str, args: dict[str, Any]) -> Message:
        try:
            return await self.ctx.ask(actor, m.VerbRequest(verb=verb, args=args), timeout=ASK_TIMEOUT)
        except AskTimeout:
            raise HandlerTimeout(f"{actor} did not answer {verb} in time") from None
        except ActorUnavailable as exc:
            raise Unavailable(f"{actor} is not available: {exc}") from None

    async def _part(self, verb: Verb[Any, Any]) -> dict[str, Any]:
        try:
            return await self.ask(verb.owner, verb.name, {})
        except (Unavailable, HandlerTimeout) as exc:
            return {"state": "unknown", "lastError": str(exc)}

    async def handle(self, verb: str, args: dict[str, Any], client: ClientInfo) -> dict[str, Any] | None:
        declared = VERBS.get(verb)
        if declared is None or declared.local:
            raise UnknownVerb(f"{verb!r} is not a verb served by an actor")
        result, *parts = await asyncio.gather(
            self.ask(declared.owner, verb, args), *(self._part(part) for _, part in declared.parts)
        )
        for (key, _), value in zip(declared.parts, parts, strict=True):
            result[key] = value
        return result


def actor_rows(status: StatusReply) -> c.SupervisorStatus:
    """The supervisor's `StatusReply` in the protocol's shape (camelCase)."""
    return c.SupervisorStatus(
        pid=status.pid,
        uptime=status.uptime,
        home=status.home,
        badFrames=status.bad_frames,
        actors=[
            c.ActorRow(
                name=a.name,
                state=a.state,
                pid=a.pid,
                restarts=a.restarts,
                uptime=a.uptime,
                inbox=a.inbox,
                msgsIn=a.msgs_in,
                msgsOut=a.msgs_out,
                handled=a.handled,
                dropped=a.dropped,
                pubDropped=a.pub_dropped,
                undeliverable=a.undeliverable,
                restartType=a.restart_type,
                lastError=a.last_error,
                retryAt=a.retry_at,
                health=dict(a.health),
            )
            for a in status.actors
        ],
    )


class WsGateway(LifecycleActor):
    """Serves the bridge WebSocket and fans bus events out to its clients."""

    verbs: ClassVar[VerbTable[WsGateway]] = VerbTable(m.GATEWAY)
    server: BridgeServer | None = None

    @verbs.handles(c.SUPERVISOR_STATUS)
    async def _supervisor_status(self, args: NoArgs) -> c.SupervisorStatus:
        """Read through the supervisor's control socket (the bus has no path to the supervisor)."""
        try:
            status = await control.request_status_async(self.ctx.config.run_dir)
        except (OSError, TimeoutError) as exc:
            raise VerbFailure(ErrorCode.UNAVAILABLE, f"the supervisor did not answer: {exc}") from None
        return actor_rows(status)

    async def setup(self, ctx: Context) -> None:
        settings = GatewaySettings.from_config(ctx.config)
        self.server = BridgeServer(settings, ActorVerbs(ctx, self), ctx.config.store_path, spawn=ctx.spawn)
        self.server.queries.prices = PriceTable(ctx.config.price_overrides)  # usage.summary's costs
        await self.server.start()
        for topic in TOPICS:
            await ctx.subscribe(topic)
        # With a fixed port the start banner already showed the URL; a free port (0) is known now.
        ctx.log.debug(  # the bridge server logs where it listens (with the web app), once
            "bridge WebSocket on ws://%s:%d%s (token required; `oa-supervisor pair` shows it)",
            settings.host,
            self.server.port,
            settings.path,
        )

    async def on_stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
        await super().on_stop()

    async def on_message(self, msg: Message, sender: str) -> Message | None:
        server = self.server
        if server is None:
            return await super().on_message(msg, sender)
        if isinstance(msg, m.RowsCommitted):
            self.messages += 1
            if msg.rows:
                server.publish_rows(msg.table, msg.rows)
            if msg.removed:
                server.publish_removed(msg.table, msg.removed)
            return None
        if isinstance(msg, m.RunOutput):
            self.messages += 1
            server.broadcast(ev.RUN_STDOUT, msg.data)
            return None
        if isinstance(msg, m.RunChanged):
            self.messages += 1
            server.broadcast(ev.RUN_STATE, msg.data)
            return None
        if isinstance(msg, m.VerbRequest):
            return await self.verbs.dispatch(self, msg)
        if isinstance(msg, m.BackfillStatus):
            self.messages += 1
            server.broadcast(ev.BACKFILL_PROGRESS, ev.BackfillProgress(**msgspec.structs.asdict(msg)))
            return None
        return await super().on_message(msg, sender)

    def details(self) -> dict[str, Any]:
        if self.server is None:
            return {}
        host = self.server.settings.host
        return {
            "url": f"ws://{host}:{self.server.port}{self.server.settings.path}",
            "port": self.server.port,
            **self.server.status(),
        }
