"""Router rules, in-process with fake connections: fan-out drops, backpressure, undeliverable asks."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from oa_actors.config import Config
from oa_actors.runtime import codec
from oa_actors.runtime.codec import Echo, Kind, decode_header, decode_payload, encode_frame
from oa_actors.runtime.process import ActorProcess
from oa_actors.runtime.registry import ActorSpec
from oa_actors.runtime.router import Router
from tests.runtime.helpers import FakeConn


def _setup(*names: str) -> tuple[Router, dict[str, ActorProcess]]:
    config = Config(home=Path("/nonexistent"), codex_home=Path("/nonexistent"))
    mp = multiprocessing.get_context("spawn")
    actors = {n: ActorProcess(ActorSpec(n, "x:Y"), mp, config, "INFO") for n in names}
    for a in actors.values():
        a.conn = FakeConn()  # type: ignore[assignment]
    return Router(actors, lambda a, m: None), actors


def _frame(kind: int, dst: str, src: str, msg: codec.Message, rid: int = 0) -> memoryview:
    return memoryview(encode_frame(kind, dst, src, rid, msg))


def test_publish_drops_for_a_congested_subscriber_and_counts() -> None:
    router, a = _setup("pub", "fast", "slow")
    for name in ("fast", "slow"):
        router.route(a[name], _frame(Kind.SUB, "news", name, codec.Empty()))
    a["slow"].conn.write_paused = True  # type: ignore[union-attr,misc]
    for i in range(3):
        router.route(a["pub"], _frame(Kind.PUB, "news", "pub", Echo(n=i)))
    assert len(a["fast"].conn.sent) == 3  # type: ignore[union-attr]
    assert a["slow"].conn.sent == [] and a["slow"].pub_dropped == 3  # type: ignore[union-attr]
    assert a["pub"].conn.reading  # type: ignore[union-attr]  # a publisher is never paused


def test_tell_to_a_congested_actor_pauses_the_sender_until_it_drains() -> None:
    router, a = _setup("src", "dst")
    a["dst"].conn.write_paused = True  # type: ignore[union-attr,misc]
    router.route(a["src"], _frame(Kind.TELL, "dst", "src", Echo(n=1)))
    assert len(a["dst"].conn.sent) == 1  # type: ignore[union-attr]  # delivered, not dropped
    assert not a["src"].conn.reading  # type: ignore[union-attr]
    a["dst"].conn.write_paused = False  # type: ignore[union-attr,misc]
    router._unblock(a["dst"])
    assert a["src"].conn.reading  # type: ignore[union-attr]


def test_ask_to_a_stopped_or_unknown_actor_is_answered_with_an_error() -> None:
    router, a = _setup("src", "down")
    a["down"].conn = None
    router.route(a["src"], _frame(Kind.ASK, "down", "src", Echo(), rid=7))
    router.route(a["src"], _frame(Kind.ASK, "ghost", "src", Echo(), rid=8))
    replies = [decode_header(f) for f in a["src"].conn.sent]  # type: ignore[union-attr]
    assert [(h.kind, h.id) for h in replies] == [(Kind.ERROR, 7), (Kind.ERROR, 8)]
    errors = [decode_payload(h.payload) for h in replies]
    assert "not running" in errors[0].error and "unknown actor" in errors[1].error  # type: ignore[attr-defined]
    assert a["down"].undeliverable == 1


def test_malformed_frames_are_counted_not_raised() -> None:
    router, a = _setup("src")
    router.route(a["src"], memoryview(b"\x00\x00\x00\x02\xc1\xc1"))
    router.route(a["src"], _frame(99, "src", "src", Echo()))
    assert router.bad_frames == 2
