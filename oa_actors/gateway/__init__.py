"""The bridge WebSocket (docs/architecture.md; the protocol is docs/protocol.md).

Standalone and actor-independent: the `ws_gateway` actor builds a `BridgeServer` with
`GatewaySettings.from_config(config)`, a `VerbHandler` that asks other actors, and the store path;
then feeds it committed rows (`publish_rows`, `publish_removed`) and run events (`broadcast` of a
declared event, oa_actors/verbs/events.py). The verbs it accepts are oa_actors/verbs/catalog.py's.
"""

from oa_actors.gateway.devices import DeviceRegistry
from oa_actors.gateway.errors import (
    BadJson,
    BadRequest,
    Busy,
    GatewayError,
    HandlerTimeout,
    NotFound,
    ProtocolError,
    TooLarge,
    Unavailable,
    UnknownVerb,
)
from oa_actors.gateway.handler import ClientInfo, NullHandler, VerbHandler
from oa_actors.gateway.server import BridgeServer
from oa_actors.gateway.settings import GatewaySettings

__all__ = [
    "BadJson",
    "BadRequest",
    "BridgeServer",
    "Busy",
    "ClientInfo",
    "DeviceRegistry",
    "GatewayError",
    "GatewaySettings",
    "HandlerTimeout",
    "NotFound",
    "NullHandler",
    "ProtocolError",
    "TooLarge",
    "Unavailable",
    "UnknownVerb",
    "VerbHandler",
]
