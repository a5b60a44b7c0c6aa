"""`ws_gateway`: the bridge WebSocket (`ws://<host>:8787/ws`, OPENAGENTS_BRIDGE_BIND) for the apps.

The server (oa_actors/gateway) answers live queries from the local store itself; every other verb
is asked of the actor that owns it (messages.VERB_OWNERS) and the reply goes to the requester only.
Committed rows, run output and backfill progress arrive on bus topics and are fanned out to the
clients (a slow client is disconnected, never waited for). docs/protocol.md is the protocol.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from oa_actors import messages as m
from oa_actors.actors._base import LifecycleActor
from oa_actors.gateway.errors import BadRequest, HandlerTimeout, NotFound, Unavailable, UnknownVerb
from oa_actors.gateway.handler import ClientInfo, VerbHandler
from oa_actors.gateway.server import BridgeServer
from oa_actors.gateway.settings import GatewaySettings
from oa_actors.runtime.actor import ActorUnavailable, AskTimeout, Context
from oa_actors.runtime.codec import Message

TOPICS = (m.TOPIC_THREADS, m.TOPIC_MESSAGES, m.TOPIC_PROJECTS, m.TOPIC_SKILLS, m.TOPIC_RUNS, m.TOPIC_PROGRESS)
ASK_TIMEOUT = 25.0  # below the server's 30 s handler timeout, so the client gets our reason


def slug(name: str) -> str:
    """A project id from its name when the app sends none: `My App!` -> `my-app`."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64]


class ActorVerbs(VerbHandler):
    """Routes delegated verbs to the owning actors over the bus."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def ask(self, actor: str, verb: str, args: dict[str, Any]) -> dict[str, Any]:
        try:
            reply = await self.ctx.ask(actor, m.VerbRequest(verb=verb, args=args), timeout=ASK_TIMEOUT)
        except AskTimeout:
            raise HandlerTimeout(f"{actor} did not answer {verb} in time") from None
        except ActorUnavailable as exc:
            raise Unavailable(f"{actor} is not available: {exc}") from None
        if not isinstance(reply, m.VerbReply):
            raise Unavailable(f"{actor} sent an unexpected reply to {verb}")
        if reply.ok:
            return reply.result
        if reply.code == "bad_request":
            raise BadRequest(reply.error)
        if reply.code == "not_found":
            raise NotFound(reply.error)
        if reply.code == "unknown_verb":
            raise UnknownVerb(reply.error)
        raise Unavailable(reply.error or f"{verb} failed")

    async def handle(self, verb: str, args: dict[str, Any], client: ClientInfo) -> dict[str, Any] | None:
        if verb == "convex.status":
            writer = await self.ask(m.WRITER, verb, args)
            try:
                writer["backend"] = await self.ask(m.BACKEND, verb, args)
            except (Unavailable, HandlerTimeout) as exc:
                writer["backend"] = {"state": "unknown", "lastError": str(exc)}
            return writer
        if verb == "project.save":
            project = dict(args["project"])
            pid = project.pop("id", None) or slug(str(project.get("name", "")))
            body = project.pop("body", "")
            return await self.ask(
                m.FS, verb, {"id": pid, "project": project, "body": body if isinstance(body, str) else ""}
            )
        if verb == "project.delete":
            return await self.ask(m.FS, verb, {"id": args["projectId"]})
        owner = m.VERB_OWNERS.get(verb)
        if owner is None:
            raise UnknownVerb(f"unknown verb {verb!r}")
        return await self.ask(owner, verb, args)


class WsGateway(LifecycleActor):
    """Serves the bridge WebSocket and fans bus events out to its clients."""

    server: BridgeServer | None = None

    async def setup(self, ctx: Context) -> None:
        settings = GatewaySettings.from_config(ctx.config)
        self.server = BridgeServer(settings, ActorVerbs(ctx), ctx.config.store_path)
        await self.server.start()
        for topic in TOPICS:
            await ctx.subscribe(topic)
        ctx.log.info(
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
                server.broadcast({"event": f"rows.{msg.table}.removed", "data": {"keys": msg.removed}})
            return None
        if isinstance(msg, m.RunEvent):
            self.messages += 1
            server.broadcast({"event": msg.event, "data": msg.data})
            return None
        if isinstance(msg, m.BackfillStatus):
            self.messages += 1
            server.broadcast({"event": "backfill.progress", "data": msgspec.structs.asdict(msg)})
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
