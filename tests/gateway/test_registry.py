"""The verb registry is the one source: the doc's tables, the actors' handlers, the gateway's answers,
the error classes and the runner's run shape all agree with it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import msgspec
import pytest

from oa_actors import messages as m
from oa_actors.actors.codex_runner import CodexRunner
from oa_actors.actors.convex_backend import ConvexBackend
from oa_actors.actors.convex_writer import ConvexWriter
from oa_actors.actors.fs_syncer import FsSyncer
from oa_actors.actors.indexer import Indexer
from oa_actors.actors.sessions_tailer import SessionsTailer
from oa_actors.actors.ws_gateway import WsGateway
from oa_actors.gateway import protocol
from oa_actors.gateway.errors import GatewayError, error_for
from oa_actors.gateway.local import local_verbs_answered
from oa_actors.runner.manager import Run
from oa_actors.verbs import doc
from oa_actors.verbs.catalog import VERBS
from oa_actors.verbs.dispatch import VerbFailure, VerbTable
from oa_actors.verbs.events import EVENTS, BackfillProgress, RunState
from oa_actors.verbs.registry import LOCAL, Args, ArgsError, ErrorCode, NonBlank, Reply, VerbRegistry

PROTOCOL_MD = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
TABLES: dict[str, VerbTable[Any]] = {
    m.RUNNER: CodexRunner.verbs,
    m.BACKEND: ConvexBackend.verbs,
    m.WRITER: ConvexWriter.verbs,
    m.FS: FsSyncer.verbs,
    m.TAILER: SessionsTailer.verbs,
    m.GATEWAY: WsGateway.verbs,
    m.INDEXER: Indexer.verbs,
}


def test_protocol_doc_tables_are_the_registry():
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    assert doc.render(text) == text, "docs/protocol.md is stale: run python -m oa_actors.verbs.doc"
    assert doc.main(["--check", str(PROTOCOL_MD)]) == 0
    for verb in VERBS:
        assert f"| `{verb.name}` |" in text
    for event in EVENTS:
        assert f"| `{event.name}` |" in text
    # A doc that drifted (a verb missing from a table) is found.
    drifted = text.replace("| `runs.list` |", "| `runs.listed` |")
    assert doc.render(drifted) != drifted
    with pytest.raises(ValueError, match="no generated block 'events'"):
        doc.render(text.replace("<!-- END GENERATED events -->", ""))


def test_every_verb_is_served_by_its_owner_only():
    for verb in VERBS:
        if verb.local:
            assert verb.name in local_verbs_answered(), verb.name
        else:
            assert verb.name in TABLES[verb.owner].served(), f"{verb.owner} has no handler for {verb.name}"
    served = {owner: table.served() for owner, table in TABLES.items()}
    assert all(VERBS.get(name).owner == owner for owner, names in served.items() for name in names)
    assert local_verbs_answered() == {v.name for v in VERBS if v.owner == LOCAL}


def test_clients_may_call_every_public_verb_and_no_internal_one():
    public = {v.name for v in VERBS if v.public}
    assert set(protocol.PUBLIC_VERBS) == public
    assert "runs.list" in public  # routed and implemented, so callable
    assert not public & {"project.get", "convex.backend", "sessions.backfill"}
    for verb in VERBS:
        if verb.public:  # `id` and `control` belong to the frame, not to a verb
            assert not {"id", "control"} & set(verb.args.__struct_fields__), verb.name


async def test_an_actor_answers_unknown_verb_for_a_verb_it_does_not_serve():
    reply = await TABLES[m.WRITER].dispatch(None, m.VerbRequest(verb="run.submit", args={}))
    assert (reply.ok, reply.code) == (False, "unknown_verb")
    assert "codex_runner" in reply.error
    reply = await TABLES[m.WRITER].dispatch(None, m.VerbRequest(verb="no.such", args={}))
    assert reply.code == ErrorCode.UNKNOWN_VERB


class Echo(Args):
    one_of = ("a", "b")
    a: NonBlank | None = None
    b: int | None = None


class Echoed(Reply):
    text: str


class Other(Reply):
    pass


async def test_verb_table_validates_dispatches_and_maps_failures():
    registry = VerbRegistry()
    echo = registry.declare("echo", Echo, Echoed, "tester", "echo a")
    wrong = registry.declare("wrong", Echo, Echoed, "tester", "answers the wrong type")
    table: VerbTable[list[Echo]] = VerbTable("tester", registry)

    @table.handles(echo)
    async def handle(calls: list[Echo], args: Echo) -> Echoed:
        calls.append(args)
        if args.a == "missing":
            raise VerbFailure(ErrorCode.NOT_FOUND, "no such a")
        return Echoed(text=args.a or str(args.b))

    @table.handles(wrong)
    async def handle_wrong(calls: list[Echo], args: Echo) -> Echoed:
        return Other()  # type: ignore[return-value]

    calls: list[Echo] = []
    reply = await table.dispatch(calls, m.VerbRequest(verb="echo", args={"a": "hi", "extra": 1}))
    assert (reply.ok, reply.result) == (True, {"text": "hi"}) and calls == [Echo(a="hi")]
    for args, field in [({"a": " "}, "a"), ({"b": "2"}, "b"), ({}, None), ({"a": "x", "b": 1}, None)]:
        reply = await table.dispatch(calls, m.VerbRequest(verb="echo", args=args))
        assert (reply.ok, reply.code) == (False, "bad_request"), args
        assert reply.error.startswith("echo: ") and (field is None or f"echo: {field}:" in reply.error)
    reply = await table.dispatch(calls, m.VerbRequest(verb="echo", args={"a": "missing"}))
    assert (reply.code, reply.error) == ("not_found", "no such a")
    reply = await table.dispatch(calls, m.VerbRequest(verb="wrong", args={"b": 1}))
    assert reply.code == "internal"
    with pytest.raises(ValueError, match="served by tester, not other"):
        VerbTable("other", registry).handles(echo)
    with pytest.raises(ValueError, match="two handlers"):
        table.handles(echo)
    with pytest.raises(ValueError, match="declared twice"):
        registry.declare("echo", Echo, Echoed, "tester", "again")


def test_parse_errors_name_the_field():
    verb = VERBS.get("messages.forThread")
    assert verb is not None
    with pytest.raises(ArgsError) as info:
        verb.parse({"threadId": "t", "afterSeq": -2})
    assert (
        info.value.field == "afterSeq"
        and str(info.value) == "messages.forThread: afterSeq: expected `float` >= -1.0"
    )
    with pytest.raises(ArgsError) as info:
        verb.parse({})
    assert info.value.field == "threadId" and str(info.value) == "messages.forThread: threadId is required"
    assert verb.dump(verb.parse({"threadId": "t", "limit": None, "control": "x"})) == {"threadId": "t"}


def test_every_error_code_has_one_gateway_error():
    for code in ErrorCode:
        exc = error_for(code, "why")
        assert isinstance(exc, GatewayError) and exc.code is code
        assert exc.to_wire() == {"code": code.value, "message": "why"}
        assert code.doc


def test_event_structs_match_their_sources():
    """run.state is the runner's `Run.public()`; backfill.progress is the tailer's bus message."""
    public = Run(runId="r", threadDocId="d", text="t").public()
    assert set(public) == set(RunState.__struct_fields__)
    assert msgspec.to_builtins(msgspec.convert(public, RunState)) == public
    assert {f.name for f in dataclasses.fields(Run)} - set(RunState.__struct_fields__) == {"pid"}
    status = m.BackfillStatus(running=True, files_done=1, files_total=2, bytes_done=3, bytes_total=4, rows=5)
    assert isinstance(status, BackfillProgress)
    assert m.BackfillStatus.__struct_fields__ == BackfillProgress.__struct_fields__
