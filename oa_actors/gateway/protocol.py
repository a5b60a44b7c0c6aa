"""The bridge protocol: frame parsing, and the reply/error/event frames.

Pure functions, no I/O. The verbs and events themselves (their fields, types and constraints) are
declared once in oa_actors/verbs; the server (server.py) and docs/protocol.md follow them.

Client -> server, one JSON object per text frame; the verb's fields sit next to `control`:

    {"control": "messages.forThread", "id": 7, "threadId": "…", "afterSeq": 41, "subscribe": true}

Server -> client:

    {"type": "reply", "id": 7, "control": "messages.forThread", "ok": true, "result": {...}}
    {"type": "error", "id": 7, "control": "messages.forThread", "ok": false,
     "error": {"code": "bad_request", "message": "Expected `float` >= -1.0 - at `$.afterSeq`"}}
    {"type": "event", "event": "rows.messages", "data": {...}}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from oa_actors.gateway.errors import BadJson, BadRequest, GatewayError, TooLarge, UnknownVerb
from oa_actors.verbs.catalog import VERBS
from oa_actors.verbs.registry import Args, ArgsError, Event, EventData, Verb

PROTOCOL_VERSION = 1
MAX_ID_LENGTH = 128

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

#: The verbs a client may send, by name.
PUBLIC_VERBS: dict[str, Verb[Any, Any]] = VERBS.public()

RequestId = str | int | None
D = TypeVar("D", bound=EventData)


@dataclass(frozen=True)
class Request:
    """A validated request: the verb, the client's id (echoed in the reply) and the typed arguments."""

    verb: Verb[Any, Any]
    id: RequestId
    args: Args


def _fail(exc: GatewayError, request_id: RequestId = None, verb: str | None = None) -> GatewayError:
    exc.request_id = request_id  # type: ignore[attr-defined]
    exc.control = verb  # type: ignore[attr-defined]
    return exc


def error_context(exc: BaseException) -> tuple[RequestId, str | None]:
    """The request id and verb a parse error belongs to (None when the frame had none)."""
    return getattr(exc, "request_id", None), getattr(exc, "control", None)


def frame_size(data: str | bytes) -> int:
    """Size in bytes of a received frame."""
    if isinstance(data, bytes):
        return len(data)
    return len(data) if data.isascii() else len(data.encode("utf-8", "surrogatepass"))


def parse_frame(
    data: str | bytes, max_request: int, verbs: Mapping[str, Verb[Any, Any]] = PUBLIC_VERBS
) -> Request:
    """Validate one received frame into a `Request`, or raise a `ProtocolError` whose
    `request_id`/`control` attributes say which request it answers (see `error_context`)."""
    if isinstance(data, bytes):
        raise _fail(BadRequest("binary frames are not supported: send JSON in text frames"))
    size = frame_size(data)
    if size > max_request:
        raise _fail(
            TooLarge(f"request of {size} bytes exceeds the limit of {max_request} bytes", limit=max_request)
        )
    try:
        frame = _decode(data)
    except (msgspec.DecodeError, ValueError, RecursionError) as exc:
        raise _fail(BadJson(f"not valid JSON: {exc}")) from None
    if not isinstance(frame, dict):
        raise _fail(BadJson("a request must be a JSON object"))
    request_id = frame.get("id")
    if request_id is not None and not (
        (isinstance(request_id, str) and len(request_id) <= MAX_ID_LENGTH)
        or (isinstance(request_id, int) and not isinstance(request_id, bool))
    ):
        raise _fail(BadRequest(f"id must be a string of at most {MAX_ID_LENGTH} characters or an integer"))
    name = frame.get("control")
    if not isinstance(name, str) or not name:
        raise _fail(BadRequest("control (the verb, a string) is required"), request_id)
    verb = verbs.get(name)
    if verb is None:
        raise _fail(UnknownVerb(f"unknown verb {name[:64]!r}"), request_id, name[:64])
    try:
        args = verb.parse(frame)
    except ArgsError as exc:
        details = {"field": exc.field} if exc.field else {}
        raise _fail(BadRequest(str(exc), **details), request_id, name) from None
    return Request(verb, request_id, args)


# -- what the server sends ---------------------------------------------------------------------------
def encode(obj: Any) -> bytes:
    """JSON bytes (UTF-8) of anything the protocol sends; raises TypeError for unencodable values."""
    try:
        return _encode(obj)
    except (msgspec.EncodeError, OverflowError) as exc:
        raise TypeError(str(exc)) from None


def reply(request_id: RequestId, verb: str, result: Any) -> bytes:
    """A successful reply to one request (`result`: a reply Struct or a JSON-ready dict)."""
    return encode({"type": "reply", "id": request_id, "control": verb, "ok": True, "result": result})


def error(request_id: RequestId, verb: str | None, exc: GatewayError) -> bytes:
    """An error reply (the connection stays open)."""
    return encode({"type": "error", "id": request_id, "control": verb, "ok": False, "error": exc.to_wire()})


def event(declared: Event[D], data: D) -> bytes:
    """An event frame (not a reply: it has no id); `data` must be the event's declared Struct."""
    if not isinstance(data, declared.data):
        raise TypeError(f"{declared.name} carries {declared.data.__name__}, not {type(data).__name__}")
    return encode({"type": "event", "event": declared.name, "data": data})
