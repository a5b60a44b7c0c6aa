"""How an actor serves its verbs (`VerbTable`) and how one asks another for a verb (`ask_verb`).

    class CodexRunner(LifecycleActor):
        verbs: ClassVar[VerbTable[CodexRunner]] = VerbTable(RUNNER)

        @verbs.handles(RUN_SUBMIT)
        async def _submit(self, args: RunSubmit) -> RunSubmitted: ...

        async def on_message(self, msg, sender):
            if isinstance(msg, VerbRequest):
                return await self.verbs.dispatch(self, msg)

The table validates the request's arguments with the verb's Struct, calls the handler, and turns its
reply Struct (or a raised `VerbFailure`) into a `VerbReply`. A verb the actor does not serve gets
`ErrorCode.UNKNOWN_VERB`; a handler is only accepted for a verb declared with this actor as owner.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import msgspec

from oa_actors.messages import VerbReply, VerbRequest
from oa_actors.verbs.catalog import VERBS
from oa_actors.verbs.registry import Args, ArgsError, ErrorCode, Reply, Verb, VerbRegistry

if TYPE_CHECKING:
    from oa_actors.runtime.actor import Context

log = logging.getLogger(__name__)

S = TypeVar("S")
A = TypeVar("A", bound=Args)
R = TypeVar("R", bound=Reply)


class VerbFailure(Exception):
    """Raised by a handler (or `ask_verb`): the request fails with `code` and this message."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def failure(code: ErrorCode, message: str) -> VerbReply:
    """An error reply on the bus."""
    return VerbReply(ok=False, code=code.value, error=message)


class VerbTable(Generic[S]):
    """The verbs one actor serves, each with its handler (a method of the actor class `S`)."""

    def __init__(self, owner: str, registry: VerbRegistry = VERBS) -> None:
        self.owner = owner
        self.registry = registry
        self._handlers: dict[str, Callable[[S, Any], Awaitable[Reply]]] = {}

    def handles(
        self, verb: Verb[A, R]
    ) -> Callable[[Callable[[S, A], Awaitable[R]]], Callable[[S, A], Awaitable[R]]]:
        """Register the decorated method as the handler of `verb` (declared with this owner)."""
        if verb.owner != self.owner:
            raise ValueError(f"{verb.name} is served by {verb.owner}, not {self.owner}")
        if verb.name in self._handlers:
            raise ValueError(f"{verb.name} has two handlers in {self.owner}")

        def register(fn: Callable[[S, A], Awaitable[R]]) -> Callable[[S, A], Awaitable[R]]:
            self._handlers[verb.name] = fn
            return fn

        return register

    def served(self) -> frozenset[str]:
        """The names of the verbs this table has a handler for."""
        return frozenset(self._handlers)

    async def dispatch(self, actor: S, request: VerbRequest) -> VerbReply:
        """Validate, call the handler, and build the reply (never raises for a client's mistake)."""
        verb = self.registry.get(request.verb)
        handler = self._handlers.get(request.verb)
        if verb is None or handler is None:
            where = f"served by {verb.owner}" if verb is not None else "not a verb"
            return failure(ErrorCode.UNKNOWN_VERB, f"{request.verb} is {where}, not by {self.owner}")
        try:
            args = verb.parse(request.args)
        except ArgsError as exc:
            return failure(ErrorCode.BAD_REQUEST, str(exc))
        try:
            result = await handler(actor, args)
        except VerbFailure as exc:
            return failure(exc.code, exc.message)
        if not isinstance(result, verb.reply):
            log.error("%s answered %s with %s, not %s", self.owner, verb.name, type(result), verb.reply)
            return failure(ErrorCode.INTERNAL, f"{verb.name} answered with the wrong type")
        return VerbReply(ok=True, result=msgspec.to_builtins(result))


async def ask_verb(ctx: Context, verb: Verb[A, R], args: A, timeout: float = 10.0) -> R:
    """Ask the verb's owner; its reply as the verb's reply Struct.

    Raises `VerbFailure` for an error reply (with its code) or a reply of the wrong shape, and the
    runtime's `AskTimeout` / `ActorUnavailable` when the owner does not answer.
    """
    request = VerbRequest(verb=verb.name, args=verb.dump(args))
    reply = await ctx.ask(verb.owner, request, timeout=timeout)
    if not isinstance(reply, VerbReply):
        raise VerbFailure(ErrorCode.UNAVAILABLE, f"{verb.owner} sent an unexpected reply to {verb.name}")
    if not reply.ok:
        raise VerbFailure(code_of(reply.code), reply.error or f"{verb.name} failed")
    try:
        return msgspec.convert(reply.result, verb.reply)
    except msgspec.ValidationError as exc:
        raise VerbFailure(ErrorCode.INTERNAL, f"{verb.owner} answered {verb.name} wrongly: {exc}") from None


_CODES = {code.value: code for code in ErrorCode}


def code_of(value: str) -> ErrorCode:
    """The `ErrorCode` of a code received on the bus (`internal` for one this version does not know)."""
    return _CODES.get(value, ErrorCode.INTERNAL)
