"""The one codec of the message bus: typed msgspec Structs, msgpack on the wire, no pickle.

A frame on a stream is a 4-byte big-endian length followed by a msgpack array
`[kind, dst, src, id, payload]` (see `Header`). `payload` is a tagged `Message` struct. The router only
decodes the header (the payload stays a `msgspec.Raw` slice), so forwarding never re-encodes a message.

Adding a message type for a later issue is one class definition::

    class RowBatch(Message, tag="rows.batch"):
        rows: list[dict[str, Any]]

Every subclass of `Message` is registered automatically when its module is imported; the union the
decoder accepts is rebuilt from the registry when it changes. A payload with an unknown tag or a wrong
shape raises `DecodeError`, which receivers log and drop (they never crash on a bad frame).
"""

from __future__ import annotations

import struct
from typing import Any, ClassVar, Union

import msgspec

#: Largest frame a receiver accepts (bytes after the length prefix); larger frames are skipped.
#: Sized for the largest row batch the tailer sends: one row made of two JSONL lines of up to
#: 32 MiB each (the line limit; a tool call and its result), plus 16 MiB of headroom. Ordinary
#: batches are cut far below it (4 MiB, oa_actors/tailer/batches.py); docs/runtime.md.
MAX_FRAME = 80 * 1024 * 1024

_LEN = struct.Struct(">I")


class Kind:
    """Frame kinds (the first header field). Plain ints keep the header small."""

    TELL = 0  # one-way, data path: backpressure, never dropped by the bus
    ASK = 1  # request; the receiver's reply comes back as REPLY with the same id
    REPLY = 2
    ERROR = 3  # an ask could not be answered (payload: AskError)
    PUB = 4  # dst is a topic; fan-out may drop for a slow subscriber
    SUB = 5  # dst is a topic; src subscribes
    UNSUB = 6
    SYS = 7  # between an actor and its supervisor (payload: a sys.* message)
    DATA = 8  # reliable tell: acknowledged, retransmitted after a restart (at-least-once)
    ACK = 9  # cumulative acknowledgement of DATA frames up to id
    # DATA that the receiver handles before the DATA and TELL frames already in its inbox (a live
    # row batch overtaking a backfill's queue); acknowledged and retransmitted like DATA. The
    # sender makes sure nothing it overtakes must be applied first (docs/runtime.md).
    URGENT = 10

    NAMES: ClassVar[dict[int, str]] = {}


Kind.NAMES = {v: k for k, v in vars(Kind).items() if isinstance(v, int)}

SUPERVISOR = "supervisor"


class DecodeError(ValueError):
    """A frame or payload that cannot be decoded (malformed, unknown tag, wrong shape)."""


class FrameTooLarge(ValueError):
    """An outgoing message whose encoding exceeds `MAX_FRAME`."""


class Message(msgspec.Struct, tag=True, kw_only=True, omit_defaults=True):
    """Base class of every message on the bus. Subclasses set `tag="area.name"` (default: class name)."""

    _classes: ClassVar[list[type[Message]]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The tag is not final yet at this point; the registry reads it lazily (see `registry`).
        Message._classes.append(cls)
        _Decoders.dirty = True


class Header(msgspec.Struct, array_like=True):
    """The decoded frame header; `payload` is left undecoded for the router."""

    kind: int
    dst: str
    src: str
    id: int
    payload: msgspec.Raw


class _OutHeader(msgspec.Struct, array_like=True):
    kind: int
    dst: str
    src: str
    id: int
    payload: Any


class _Decoders:
    dirty = True
    registry: ClassVar[dict[str, type[Message]]] = {}
    message: msgspec.msgpack.Decoder[Any] | None = None


def registry() -> dict[str, type[Message]]:
    """Tag -> class for every imported `Message` subclass; raises on a duplicate tag."""
    if _Decoders.dirty:
        reg: dict[str, type[Message]] = {}
        for cls in Message._classes:
            tag = cls.__struct_config__.tag
            assert isinstance(tag, str)
            if tag in reg and reg[tag] is not cls:
                raise TypeError(f"message tag {tag!r} used by {reg[tag].__qualname__} and {cls.__qualname__}")
            reg[tag] = cls
        _Decoders.registry = reg
        union: Any = Union[tuple(reg.values())]  # noqa: UP007 - built at run time
        _Decoders.message = msgspec.msgpack.Decoder(union)
        _Decoders.dirty = False
    return _Decoders.registry


_header_decoder = msgspec.msgpack.Decoder(Header)
_encoder = msgspec.msgpack.Encoder()


def encode_frame(kind: int, dst: str, src: str, id: int, msg: Message | msgspec.Raw) -> bytes:
    """One length-prefixed frame; raises `FrameTooLarge` above `MAX_FRAME`."""
    buf = bytearray(4)
    _encoder.encode_into(_OutHeader(kind, dst, src, id, msg), buf, 4)
    size = len(buf) - 4
    if size > MAX_FRAME:
        raise FrameTooLarge(f"frame of {size} bytes exceeds the {MAX_FRAME} byte limit")
    _LEN.pack_into(buf, 0, size)
    return bytes(buf)


def encode_frame_into(
    buf: bytearray, kind: int, dst: str, src: str, id: int, msg: Message | msgspec.Raw
) -> None:
    """Append one frame to `buf` (no intermediate copies; the sender's write buffer)."""
    start = len(buf)
    _encoder.encode_into(_OutHeader(kind, dst, src, id, msg), buf, start + 4)
    size = len(buf) - start - 4
    if size > MAX_FRAME:
        del buf[start:]
        raise FrameTooLarge(f"frame of {size} bytes exceeds the {MAX_FRAME} byte limit")
    _LEN.pack_into(buf, start, size)


def decode_header(frame: bytes | memoryview) -> Header:
    """Decode the header of a whole frame (length prefix included)."""
    try:
        return _header_decoder.decode(memoryview(frame)[4:])
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise DecodeError(f"malformed frame header: {exc}") from None


def decode_payload(raw: msgspec.Raw | bytes | memoryview) -> Message:
    """Decode a payload into its registered `Message` class."""
    if _Decoders.dirty:
        registry()
    try:
        msg = _Decoders.message.decode(raw)  # type: ignore[union-attr]
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise DecodeError(f"undecodable payload: {exc}") from None
    assert isinstance(msg, Message)
    return msg


def payload_tag(raw: msgspec.Raw | bytes) -> str:
    """The tag of a payload, for log lines about payloads that failed to decode."""
    try:
        obj = msgspec.msgpack.decode(raw)
    except msgspec.DecodeError:
        return "<malformed>"
    return str(obj.get("type")) if isinstance(obj, dict) else "<not a struct>"


def frame_length(prefix: bytes | memoryview) -> int:
    """The body length announced by a 4-byte prefix."""
    return int(_LEN.unpack_from(prefix)[0])


# --- system messages (supervisor <-> actor). Later issues add their own types in their modules. ---


class Hello(Message, tag="sys.hello"):
    """First frame of a new actor incarnation."""

    name: str
    pid: int


class Ready(Message, tag="sys.ready"):
    """`on_start` finished; the actor now takes messages."""


class Ping(Message, tag="sys.ping"):
    """Health check; the actor answers from its I/O path (a blocked event loop fails it)."""

    id: int


class Pong(Message, tag="sys.pong"):
    """Answer to `Ping`, carrying the actor's own counters and `health()`."""

    id: int
    inbox: int = 0
    received: int = 0
    handled: int = 0
    sent: int = 0
    dropped: int = 0
    unacked: int = 0
    health: dict[str, Any] = {}


class Stop(Message, tag="sys.stop"):
    """Orderly stop: run `on_stop` and exit 0."""

    reason: str = ""


class Crashed(Message, tag="sys.crashed"):
    """Sent by a dying actor so the supervisor can name the error."""

    error: str


class LogLine(Message, tag="sys.log"):
    """A log record shipped to the supervisor, which owns the one log stream."""

    level: int
    logger: str
    msg: str
    created: float
    exc: str = ""


class ActorUp(Message, tag="sys.actor_up"):
    """Broadcast when an actor (re)starts; senders retransmit unacknowledged DATA to it."""

    name: str
    incarnation: int


class AskError(Message, tag="sys.ask_error"):
    """Payload of an ERROR frame: why an ask could not be answered."""

    error: str


class ActorStatus(Message, tag="sys.actor_status"):
    """One row of `oa-supervisor status`."""

    name: str
    state: str
    pid: int | None = None
    restarts: int = 0
    uptime: float = 0.0
    inbox: int = 0
    msgs_in: int = 0
    msgs_out: int = 0
    handled: int = 0
    dropped: int = 0  # frames the actor itself dropped (malformed, unknown type, oversized)
    pub_dropped: int = 0
    undeliverable: int = 0
    restart_type: str = "permanent"
    last_error: str = ""
    retry_at: float = 0.0  # wall-clock time of the next restart (state `backoff` or `failed`); 0: none
    health: dict[str, Any] = {}


class StatusRequest(Message, tag="sys.status_request"):
    """Sent by `oa-supervisor status` over the control socket."""


class StopRequest(Message, tag="sys.stop_request"):
    """Sent by `oa-supervisor stop`: shut down as on SIGTERM (the reply is a `StatusReply`)."""


class StatusReply(Message, tag="sys.status_reply"):
    """The supervisor's answer to `StatusRequest`."""

    pid: int
    uptime: float
    home: str
    actors: list[ActorStatus]
    bad_frames: int = 0


class Sync(Message, tag="sys.sync"):
    """Answered by the receiving runtime once every earlier message on the same path was handled."""


class Ack(Message, tag="sys.ack"):
    """Payload of an ACK frame: DATA seqs `lo`..`id` (the frame id) from one sender were handled.

    A range, not a cumulative ack: after a restart the new incarnation may handle fresh messages
    before the retransmitted older ones, and a cumulative ack would release those too early."""

    lo: int


class Empty(Message, tag="sys.empty"):
    """A message without fields (payload of SUB / UNSUB frames)."""


class Echo(Message, tag="sys.echo"):
    """A small generic message (tests, benchmarks, liveness checks)."""

    n: int = 0
    data: bytes = b""
    text: str = ""
