"""The bridge protocol: verbs and their fields, frame parsing, and the reply/error/event shapes.

Pure functions, no I/O: the server (server.py) and the docs (docs/protocol.md) follow this module.

Client -> server, one JSON object per text frame; the verb's fields sit next to `control`:

    {"control": "messages.forThread", "id": 7, "threadId": "…", "afterSeq": 41, "subscribe": true}

Server -> client:

    {"type": "reply", "id": 7, "control": "messages.forThread", "ok": true, "result": {...}}
    {"type": "error", "id": 7, "control": "messages.forThread", "ok": false,
     "error": {"code": "bad_request", "message": "afterSeq must be a number"}}
    {"type": "event", "event": "rows.messages", "data": {...}}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from oa_actors.gateway.errors import BadJson, BadRequest, GatewayError, TooLarge, UnknownVerb

PROTOCOL_VERSION = 1
MAX_ID_LENGTH = 128

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

# Events the server sends (docs/protocol.md, "Events").
EVENT_HELLO = "bridge.hello"
EVENT_THREADS = "rows.threads"
EVENT_MESSAGES = "rows.messages"

RequestId = str | int | None


@dataclass(frozen=True)
class Field:
    """One field of a verb: its JSON type and constraints."""

    name: str
    type: str  # "string" | "integer" | "number" | "boolean" | "object"
    required: bool = False
    minimum: int | None = None
    choices: tuple[str, ...] = ()
    doc: str = ""


@dataclass(frozen=True)
class VerbSpec:
    """A verb: its fields, whether the server answers it itself (`local`) or the handler does."""

    name: str
    fields: tuple[Field, ...] = ()
    local: bool = False
    one_of: tuple[str, ...] = ()  # exactly one of these (optional) fields must be present
    doc: str = ""


def _s(name: str, required: bool = False, doc: str = "", choices: tuple[str, ...] = ()) -> Field:
    return Field(name, "string", required, choices=choices, doc=doc)


def _i(name: str, minimum: int | None = None, doc: str = "") -> Field:
    return Field(name, "integer", minimum=minimum, doc=doc)


def _n(name: str, minimum: int | None = None, doc: str = "") -> Field:
    return Field(name, "number", minimum=minimum, doc=doc)


SUBSCRIBE = Field("subscribe", "boolean", doc="also receive rows committed from now on")

VERB_LIST: tuple[VerbSpec, ...] = (
    # -- answered by the server from the local store --
    VerbSpec(
        "threads.list",
        (_i("limit", 1), _i("beforeUpdatedAt"), SUBSCRIBE),
        local=True,
        doc="threads newest first by updatedAt",
    ),
    VerbSpec(
        "messages.forThread",
        (
            _s("threadId", True),
            _n("afterSeq", -1, doc="a seq: an integer, or a fraction (docs/rows.md)"),
            _i("limit", 1),
            SUBSCRIBE,
        ),
        local=True,
        doc="one thread's messages in seq order, after afterSeq",
    ),
    VerbSpec(
        "unsubscribe",
        (_s("query", True, choices=("threads.list", "messages.forThread")), _s("threadId")),
        local=True,
        doc="stop a live query",
    ),
    VerbSpec("bridge.status", local=True, doc="clients, uptime, counters"),
    VerbSpec("ping", local=True, doc="application-level round trip"),
    # -- passed to the VerbHandler (the ws_gateway actor asks other actors) --
    VerbSpec(
        "run.submit",
        (
            _s("threadDocId", True),
            _s("text", True),
            _s("projectId"),
            _s("resumeId"),
            _s("runId", doc="a Convex `runs` id from runs:enqueue: the same run, never twice"),
            _s("provider", doc="agent CLI: codex (default) or claude"),
        ),
        doc="start an agent turn in a thread",
    ),
    VerbSpec("interrupt", (_s("runId"), _s("threadId")), one_of=("runId", "threadId"), doc="stop a run"),
    VerbSpec("convex.status", doc="the Convex backend and the outbox"),
    VerbSpec("convex.backfill", doc="re-import every session file now"),
    VerbSpec("sessions.watch_status", doc="the sessions watcher and the backfill progress"),
    VerbSpec("projects", doc="the projects under ~/.openagents/projects"),
    VerbSpec(
        "project.save",
        (Field("project", "object", True, doc="the project (id?, name, workingDir, ...)"),),
        doc="create or update a project file",
    ),
    VerbSpec("project.delete", (_s("projectId", True),), doc="delete a project file (its id)"),
    VerbSpec("skills", (_s("projectId"),), doc="skills (personal, registry, and the project's)"),
)
VERBS: dict[str, VerbSpec] = {v.name: v for v in VERB_LIST}
LOCAL_VERBS = frozenset(v.name for v in VERB_LIST if v.local)
SUBSCRIBABLE = ("threads.list", "messages.forThread")


@dataclass(frozen=True)
class Request:
    """A validated request: the verb, the client's id (echoed in the reply) and the verb's fields."""

    verb: str
    id: RequestId
    args: dict[str, Any]


def _fail(exc: GatewayError, request_id: RequestId = None, verb: str | None = None) -> GatewayError:
    exc.request_id = request_id  # type: ignore[attr-defined]
    exc.control = verb  # type: ignore[attr-defined]
    return exc


def error_context(exc: BaseException) -> tuple[RequestId, str | None]:
    """The request id and verb a parse error belongs to (None when the frame had none)."""
    return getattr(exc, "request_id", None), getattr(exc, "control", None)


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and math.isfinite(value)
        )
    if kind == "boolean":
        return isinstance(value, bool)
    return isinstance(value, dict)


def validate_args(spec: VerbSpec, frame: Mapping[str, Any]) -> dict[str, Any]:
    """The verb's fields from `frame`, type-checked. Unknown fields are ignored (not passed on)."""
    args: dict[str, Any] = {}
    for f in spec.fields:
        value = frame.get(f.name)
        if value is None:
            if f.required:
                raise BadRequest(f"{spec.name}: {f.name} is required", field=f.name)
            continue
        if not _type_ok(value, f.type):
            raise BadRequest(
                f"{spec.name}: {f.name} must be a{'n' if f.type[0] in 'aeiou' else ''} {f.type}", field=f.name
            )
        if f.type == "string" and f.required and not value.strip():
            raise BadRequest(f"{spec.name}: {f.name} must not be empty", field=f.name)
        if f.minimum is not None and value < f.minimum:
            raise BadRequest(f"{spec.name}: {f.name} must be at least {f.minimum}", field=f.name)
        if f.choices and value not in f.choices:
            raise BadRequest(f"{spec.name}: {f.name} must be one of {', '.join(f.choices)}", field=f.name)
        args[f.name] = value
    if spec.one_of and sum(name in args for name in spec.one_of) != 1:
        raise BadRequest(f"{spec.name}: give exactly one of {', '.join(spec.one_of)}")
    return args


def frame_size(data: str | bytes) -> int:
    """Size in bytes of a received frame."""
    if isinstance(data, bytes):
        return len(data)
    return len(data) if data.isascii() else len(data.encode("utf-8", "surrogatepass"))


def parse_frame(data: str | bytes, max_request: int, verbs: Mapping[str, VerbSpec] = VERBS) -> Request:
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
    verb = frame.get("control")
    if not isinstance(verb, str) or not verb:
        raise _fail(BadRequest("control (the verb, a string) is required"), request_id)
    spec = verbs.get(verb)
    if spec is None:
        raise _fail(UnknownVerb(f"unknown verb {verb[:64]!r}"), request_id, verb[:64])
    try:
        args = validate_args(spec, frame)
    except GatewayError as exc:
        raise _fail(exc, request_id, verb) from None
    return Request(verb, request_id, args)


# -- what the server sends ---------------------------------------------------------------------------
def encode(obj: Any) -> bytes:
    """JSON bytes (UTF-8) of anything the protocol sends; raises TypeError for unencodable values."""
    try:
        return _encode(obj)
    except (msgspec.EncodeError, OverflowError) as exc:
        raise TypeError(str(exc)) from None


def reply(request_id: RequestId, verb: str, result: Any) -> bytes:
    """A successful reply to one request."""
    return encode({"type": "reply", "id": request_id, "control": verb, "ok": True, "result": result})


def error(request_id: RequestId, verb: str | None, exc: GatewayError) -> bytes:
    """An error reply (the connection stays open)."""
    return encode({"type": "error", "id": request_id, "control": verb, "ok": False, "error": exc.to_wire()})


def event(name: str, data: Any) -> bytes:
    """An event frame (not a reply: it has no id)."""
    return encode({"type": "event", "event": name, "data": data})


def normalize_event(ev: Mapping[str, Any]) -> tuple[str, Any]:
    """`{"event": name, "data": ...}` (optionally with `"type": "event"`) -> (name, data)."""
    name = ev.get("event")
    if not isinstance(name, str) or not name:
        raise ValueError("an event needs a non-empty string `event`")
    if ev.get("type", "event") != "event":
        raise ValueError("broadcast events must have type 'event'")
    return name, ev.get("data")
