"""The contract between the server and whoever answers the delegated verbs (the `ws_gateway` actor).

    class ActorHandler(VerbHandler):
        async def handle(self, verb: str, args: dict, client: ClientInfo) -> dict:
            declared = VERBS.get(verb)          # oa_actors/verbs/catalog.py
            ...ask declared.owner on the bus...

`args` holds the verb's fields, already validated against its arguments Struct
(oa_actors/verbs/catalog.py), as a JSON-ready dict without the fields the client left out. The
return value (a JSON-encodable dict or reply Struct, or None for `{}`) is the `result` of the
reply, sent to the requesting client only. Raise a `GatewayError` subclass (errors.py) for a
failure the client should see with its code; any other exception becomes an `internal` error. The
server applies `handler_timeout` and the per-client `max_inflight`, and cancels the call if the
client disconnects.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any

from oa_actors.gateway.errors import Unavailable


@dataclass(frozen=True)
class ClientInfo:
    """Who sent a request: a connection id unique within this server, the peer address, and when."""

    id: str
    remote: str
    connected_at: float  # seconds since the epoch
    user_agent: str | None = None


class VerbHandler(abc.ABC):
    """Answers every verb the server does not answer from the local store."""

    @abc.abstractmethod
    async def handle(self, verb: str, args: dict[str, Any], client: ClientInfo) -> dict[str, Any] | None:
        """Answer one request; raise a `GatewayError` subclass for an error reply."""


class NullHandler(VerbHandler):
    """The handler of a server that has none: every delegated verb is `unavailable`."""

    async def handle(self, verb: str, args: dict[str, Any], client: ClientInfo) -> dict[str, Any] | None:
        raise Unavailable(f"{verb} is not available: no handler is connected to this bridge")
