"""The gateway's one exception tree, one class per `ErrorCode` (oa_actors/verbs/registry.py).

Every error a client can see is a `GatewayError` subclass whose `code` is an `ErrorCode`; the server
turns it into `{"type": "error", "id": ..., "control": ..., "ok": false, "error": {"code", "message"}}`
and keeps the connection open. A `VerbHandler` raises these for its own failures; any other exception
from a handler becomes an `internal` error (its text is logged, not sent to the client).

    GatewayError (code "internal")
    +-- ProtocolError            the client's frame is wrong
    |   +-- BadJson              "bad_json": not JSON / not UTF-8 / not a JSON object
    |   +-- TooLarge             "too_large": a frame above `max_request` bytes
    |   +-- BadRequest           "bad_request": a missing field, a wrong type, a bad value
    |   +-- UnknownVerb          "unknown_verb": `control` names no verb this server knows
    +-- NotFound                 "not_found": the run, thread or project does not exist
    +-- Forbidden                "forbidden": the client's device may not do this (not an admin)
    +-- Unavailable              "unavailable": the actor, the store or Convex cannot answer now
    +-- Busy                     "busy": too many requests of this client still in flight
    +-- HandlerTimeout           "timeout": the handler did not answer within `handler_timeout`
"""

from __future__ import annotations

from typing import Any, ClassVar

from oa_actors.verbs.registry import ErrorCode


class GatewayError(Exception):
    """Base of every error a client can receive; `code` is stable, `message` is for humans."""

    code: ClassVar[ErrorCode] = ErrorCode.INTERNAL

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_wire(self) -> dict[str, Any]:
        """The `error` object of an error frame."""
        out: dict[str, Any] = {"code": self.code.value, "message": self.message}
        if self.details:
            out["details"] = self.details
        return out


class ProtocolError(GatewayError):
    """The client sent something this protocol does not accept."""

    code = ErrorCode.BAD_REQUEST


class BadJson(ProtocolError):
    code = ErrorCode.BAD_JSON


class TooLarge(ProtocolError):
    code = ErrorCode.TOO_LARGE


class BadRequest(ProtocolError):
    code = ErrorCode.BAD_REQUEST


class UnknownVerb(ProtocolError):
    code = ErrorCode.UNKNOWN_VERB


class NotFound(GatewayError):
    code = ErrorCode.NOT_FOUND


class Forbidden(GatewayError):
    code = ErrorCode.FORBIDDEN


class Unavailable(GatewayError):
    code = ErrorCode.UNAVAILABLE


class Busy(GatewayError):
    code = ErrorCode.BUSY


class HandlerTimeout(GatewayError):
    code = ErrorCode.TIMEOUT


#: The class of each code (the most specific one); every `ErrorCode` has one (a test checks).
ERRORS: dict[ErrorCode, type[GatewayError]] = {
    cls.code: cls
    for cls in (
        BadJson,
        TooLarge,
        BadRequest,
        UnknownVerb,
        NotFound,
        Forbidden,
        Unavailable,
        Busy,
        HandlerTimeout,
    )
}
ERRORS[ErrorCode.INTERNAL] = GatewayError


def error_for(code: ErrorCode, message: str) -> GatewayError:
    """The exception that sends `code` with `message` to the client."""
    return ERRORS[code](message)
