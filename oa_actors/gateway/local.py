"""The verbs the server answers itself: live queries on the local store, `bridge.status`, `ping`.

They run synchronously on the event loop, so registering a subscription, reading the page and
queueing the reply happen with no `publish_rows` in between: the reply always precedes the first
event of its subscription, and no committed row falls between the two (a row may appear in both;
clients merge threads by `threadId` and messages by `key`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from oa_actors.gateway.errors import Busy, UnknownVerb
from oa_actors.gateway.protocol import Request

if TYPE_CHECKING:
    from oa_actors.gateway.clients import Client
    from oa_actors.gateway.server import BridgeServer

MAX_THREAD_SUBSCRIPTIONS = 256  # per client


class LocalVerbs:
    """Dispatches the local verbs of one server."""

    def __init__(self, server: BridgeServer) -> None:
        self.server = server

    def answer(self, client: Client, req: Request) -> dict[str, Any]:
        handler = getattr(self, "_" + req.verb.replace(".", "_"), None)
        if handler is None:  # pragma: no cover - protocol.LOCAL_VERBS and this class agree
            raise UnknownVerb(f"unknown verb {req.verb!r}")
        result: dict[str, Any] = handler(client, req.args)
        return result

    def _threads_list(self, client: Client, args: dict[str, Any]) -> dict[str, Any]:
        s = self.server.settings
        limit = min(args.get("limit", s.threads_page_default), s.threads_page_max)
        if args.get("subscribe"):
            self.server.subscribe_threads(client, True)
        page = self.server.queries.threads_page(limit, args.get("beforeUpdatedAt"))
        page["subscribed"] = client.threads_sub
        return page

    def _messages_forThread(self, client: Client, args: dict[str, Any]) -> dict[str, Any]:
        s = self.server.settings
        thread_id: str = args["threadId"]
        limit = min(args.get("limit", s.messages_page_default), s.messages_page_max)
        if args.get("subscribe") and thread_id not in client.thread_subs:
            if len(client.thread_subs) >= MAX_THREAD_SUBSCRIPTIONS:
                raise Busy(f"at most {MAX_THREAD_SUBSCRIPTIONS} thread subscriptions per client")
            self.server.subscribe_thread(client, thread_id)
        page = self.server.queries.messages_page(thread_id, args.get("afterSeq", -1), limit)
        page["subscribed"] = thread_id in client.thread_subs
        return page

    def _unsubscribe(self, client: Client, args: dict[str, Any]) -> dict[str, Any]:
        query, thread_id = args["query"], args.get("threadId")
        removed = 0
        if query == "threads.list":
            removed = int(client.threads_sub)
            self.server.subscribe_threads(client, False)
        elif thread_id is not None:
            removed = int(self.server.unsubscribe_thread(client, thread_id))
        else:
            for tid in list(client.thread_subs):
                removed += int(self.server.unsubscribe_thread(client, tid))
        return {"query": query, "threadId": thread_id, "removed": removed}

    def _bridge_status(self, client: Client, args: dict[str, Any]) -> dict[str, Any]:
        status = self.server.status()
        status["you"] = {
            "clientId": client.info.id,
            "threads": client.threads_sub,
            "messageThreads": sorted(client.thread_subs),
        }
        return status

    def _ping(self, client: Client, args: dict[str, Any]) -> dict[str, Any]:
        return {"pong": True, "serverTime": int(time.time() * 1000)}
