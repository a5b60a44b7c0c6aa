"""The registry's building blocks: error codes, the base Structs, and the `Verb` / `Event` declarations.

No I/O and no dependency on the gateway or the actor runtime: the catalog (catalog.py, events.py)
declares with these, and the gateway, the actors and the docs read the declarations.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Generic, TypeVar

import msgspec

#: The owner of the verbs the gateway answers itself (from the local store or its own state).
LOCAL = "gateway"


class ErrorCode(enum.StrEnum):
    """Every `error.code` a client or an asking actor can receive (docs/protocol.md, "Errors")."""

    doc: str

    def __new__(cls, value: str, doc: str) -> ErrorCode:
        member = str.__new__(cls, value)
        member._value_ = value
        member.doc = doc
        return member

    BAD_JSON = "bad_json", "not valid JSON, or not a JSON object"
    TOO_LARGE = "too_large", "the frame is larger than `max_request` (`details.limit`)"
    BAD_REQUEST = (
        "bad_request",
        (
            "a missing or blank required field, a wrong type, a bad value (`details.field` when it is one"
            " field), a binary frame, a bad `id`"
        ),
    )
    UNKNOWN_VERB = (
        "unknown_verb",
        ("`control` is not a verb of this server (between actors: a verb the asked actor does not serve)"),
    )
    NOT_FOUND = "not_found", "the run, thread or project does not exist"
    FORBIDDEN = "forbidden", "the client's device may not use this verb (`devices.*`: admin devices only)"
    UNAVAILABLE = "unavailable", "the answering actor, the store or Convex cannot answer now"
    BUSY = "busy", "too many requests of this client in flight (`max_inflight`), or too many subscriptions"
    TIMEOUT = "timeout", "the answer did not come within `handler_timeout` (30 s)"
    INTERNAL = "internal", "a bug; the details are in the supervisor's log, not in the message"


class Args(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Base of every verb's arguments: the fields that sit next to `control` and `id` in a request.

    Unknown fields are ignored. Optional fields default to None and are left out when passed on, so a
    missing field and `null` are the same. `one_of` names fields of which exactly one must be given.
    """

    one_of: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        if self.one_of and sum(getattr(self, name) is not None for name in self.one_of) != 1:
            raise ValueError(f"give exactly one of {', '.join(self.one_of)}")


class NoArgs(Args):
    """The arguments of a verb that takes none."""


class Reply(msgspec.Struct, kw_only=True):
    """Base of every verb's result. A field typed `X | UnsetType` is left out of the JSON when unset."""


class EventData(msgspec.Struct, kw_only=True):
    """Base of every event's `data`."""


#: A string with at least one non-space character.
NonBlank = Annotated[str, msgspec.Meta(pattern=r"\S")]
#: A JSON object (kept as a dict: its keys are another module's contract, e.g. rows in docs/rows.md).
Object = dict[str, Any]

# Rows (docs/rows.md, docs/fs.md), named for the docs by their `title`.
ThreadRow = Annotated[Object, msgspec.Meta(title="thread row")]
MessageRow = Annotated[Object, msgspec.Meta(title="message row")]
ProjectRow = Annotated[Object, msgspec.Meta(title="project row")]
SkillRow = Annotated[Object, msgspec.Meta(title="skill row")]

A = TypeVar("A", bound=Args)
R = TypeVar("R", bound=Reply)
D = TypeVar("D", bound=EventData)


class ArgsError(ValueError):
    """A verb's arguments do not match its Struct; `field` names the field when it is one."""

    def __init__(self, message: str, field: str | None) -> None:
        super().__init__(message)
        self.field = field


_AT = re.compile(r"^(?P<msg>.*) - at `\$\.(?P<field>\w+)`$")
_MISSING = re.compile(r"missing required field `(?P<field>\w+)`")


@dataclass(frozen=True, eq=False)
class Verb(Generic[A, R]):
    """One verb: its arguments and reply Structs, the actor that serves it, and what it does.

    `public` verbs are accepted from WebSocket clients; the others travel only on the bus (the CLI,
    one actor asking another). `parts` are other verbs the gateway asks at the same time and nests
    in the reply under their key (`{"state": "unknown", "lastError": ...}` when one cannot answer).
    """

    name: str
    args: type[A]
    reply: type[R]
    owner: str
    doc: str
    public: bool = True
    parts: tuple[tuple[str, Verb[Any, Any]], ...] = ()

    @property
    def local(self) -> bool:
        """Answered by the gateway itself."""
        return self.owner == LOCAL

    def parse(self, fields: Mapping[str, Any]) -> A:
        """The typed arguments from a request's fields (others are ignored); raises `ArgsError`."""
        try:
            return msgspec.convert(fields, self.args, strict=True)
        except msgspec.ValidationError as exc:
            text = str(exc).replace("matching regex '\\\\S'", "that is not blank")
            field = None
            if (m := _AT.match(text)) is not None:
                field, text = m["field"], f"{m['field']}: {m['msg'][:1].lower()}{m['msg'][1:]}"
            elif (m := _MISSING.search(text)) is not None:
                field, text = m["field"], f"{m['field']} is required"
            raise ArgsError(f"{self.name}: {text}", field) from None

    def dump(self, args: A) -> dict[str, Any]:
        """The arguments as a JSON-ready dict, without the fields left out."""
        out: dict[str, Any] = msgspec.to_builtins(args)
        return out


@dataclass(frozen=True, eq=False)
class Event(Generic[D]):
    """One event type: its name, its `data` Struct, who receives it, and what it means."""

    name: str
    data: type[D]
    to: str
    doc: str


class VerbRegistry:
    """Every declared verb, by name (a name and an arguments Struct are declared once)."""

    def __init__(self) -> None:
        self._verbs: dict[str, Verb[Any, Any]] = {}

    def declare(
        self,
        name: str,
        args: type[A],
        reply: type[R],
        owner: str,
        doc: str,
        *,
        public: bool = True,
        parts: tuple[tuple[str, Verb[Any, Any]], ...] = (),
    ) -> Verb[A, R]:
        """Declare a verb; raises ValueError for a second declaration of the name."""
        if name in self._verbs:
            raise ValueError(f"verb {name!r} is declared twice")
        if any(part.args is not NoArgs for _, part in parts):
            raise ValueError(f"the parts of {name} must take no arguments")
        verb = Verb(name, args, reply, owner, doc, public, parts)
        self._verbs[name] = verb
        return verb

    def get(self, name: str) -> Verb[Any, Any] | None:
        return self._verbs.get(name)

    def __iter__(self) -> Iterator[Verb[Any, Any]]:
        return iter(self._verbs.values())

    def public(self) -> dict[str, Verb[Any, Any]]:
        """The verbs WebSocket clients may send, by name."""
        return {v.name: v for v in self._verbs.values() if v.public}

    def owned_by(self, owner: str) -> list[Verb[Any, Any]]:
        return [v for v in self._verbs.values() if v.owner == owner]


class EventRegistry:
    """Every declared event type, by name."""

    def __init__(self) -> None:
        self._events: dict[str, Event[Any]] = {}

    def declare(self, name: str, data: type[D], to: str, doc: str) -> Event[D]:
        if name in self._events:
            raise ValueError(f"event {name!r} is declared twice")
        event = Event(name, data, to, doc)
        self._events[name] = event
        return event

    def get(self, name: str) -> Event[Any] | None:
        return self._events.get(name)

    def __iter__(self) -> Iterator[Event[Any]]:
        return iter(self._events.values())
