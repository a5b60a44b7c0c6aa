"""The gateway's one exception tree (docs/protocol.md, "Errors").

Every error a client can see is a `GatewayError` subclass with a stable `code`; the server turns it
into `{"type": "error", "id": ..., "control": ..., "ok": false, "error": {"code", "message"}}` and
keeps the connection open. A `VerbHandler` raises these for its own failures; any other exception
from a handler becomes an `internal` error (its text is logged, not sent to the client).

    GatewayError (code "internal")
    +-- ProtocolError            the client's frame is wrong
    |   +-- BadJson              "bad_json": not JSON / not UTF-8 / not a JSON object
    |   +-- TooLarge             "too_large": a frame above `max_request` bytes
    |   +-- BadRequest           "bad_request": a missing field, a wrong type, a bad value
    |   +-- UnknownVerb          "unknown_verb": `control` names no verb this server knows
    +-- NotFound                 "not_found": the run, thread or project does not exist
    +-- Unavailable              "unavailable": the actor, the store or Convex cannot answer now
    +-- Busy                     "busy": too many requests of this client still in flight
    +-- HandlerTimeout           "timeout": the handler did not answer within `handler_timeout`
"""

from __future__ import annotations

from typing import Any, ClassVar

# Every code a client may receive (documented in docs/protocol.md).
ERROR_CODES = (
    "bad_json",
    "too_large",
    "bad_request",
    "unknown_verb",
    "not_found",
    "unavailable",
    "busy",
    "timeout",
    "internal",
)


class GatewayError(Exception):
    """Base of every error a client can receive; `code` is stable, `message` is for humans."""

    code: ClassVar[str] = "internal"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_wire(self) -> dict[str, Any]:
        """The `error` object of an error frame."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            out["details"] = self.details
        return out


class ProtocolError(GatewayError):
    """The client sent something this protocol does not accept."""

    code = "bad_request"


class BadJson(ProtocolError):
    code = "bad_json"


class TooLarge(ProtocolError):
    code = "too_large"


class BadRequest(ProtocolError):
    code = "bad_request"


class UnknownVerb(ProtocolError):
    code = "unknown_verb"


class NotFound(GatewayError):
    code = "not_found"


class Unavailable(GatewayError):
    code = "unavailable"


class Busy(GatewayError):
    code = "busy"


class HandlerTimeout(GatewayError):
    code = "timeout"
