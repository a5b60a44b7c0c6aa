"""`Context.deliver` bookkeeping, in-process: range acks and retransmission after a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from oa_actors.config import Config
from oa_actors.runtime import codec
from oa_actors.runtime.actor import Context
from oa_actors.runtime.codec import Echo, Kind, decode_header, encode_frame
from tests.runtime.fixture_actors import Cmd
from tests.runtime.helpers import FakeConn


def _ack(lo: int, hi: int) -> codec.Header:
    return decode_header(encode_frame(Kind.ACK, "me", "peer", hi, codec.Ack(lo=lo)))


def test_range_acks_release_only_what_was_handled_and_restart_retransmits() -> None:
    async def main() -> None:
        conn = FakeConn()
        config = Config(home=Path("/nonexistent"), codex_home=Path("/nonexistent"))
        ctx = Context("me", config, conn)  # type: ignore[arg-type]
        for i in range(10):
            await ctx.deliver("peer", Echo(n=i))
        assert ctx.unacked == 10 and len(conn.sent) == 10
        s = [decode_header(f).id for f in conn.sent]
        assert s == list(range(s[0], s[0] + 10))  # consecutive seqs
        # A restarted peer handled 8..10 (fresh) before the retransmitted 1..7: only 8..10 go.
        h = _ack(s[7], s[9])
        ctx._on_ack("peer", h.id, h.payload)
        assert ctx.unacked == 7
        conn.sent.clear()
        ctx._on_peer_up("peer")  # it restarted again: the 7 still unacknowledged go out again, in order
        seqs = [decode_header(f).id for f in conn.sent]
        assert seqs == s[:7]
        h = _ack(s[0], s[6])
        ctx._on_ack("peer", h.id, h.payload)
        assert ctx.unacked == 0

    asyncio.run(main())


def test_an_ack_owed_to_a_dead_incarnation_releases_nothing_of_the_next() -> None:
    """The writer still handles (and acks) frames a killed tailer sent; the ack goes to the name,
    i.e. to the new tailer. With seqs counted from 1 in every incarnation it released the new
    tailer's own frames of the same numbers before the writer had them: a writer crash then lost
    them (never retransmitted). Each incarnation now numbers from the clock: disjoint seqs."""

    async def main() -> None:
        config = Config(home=Path("/nonexistent"), codex_home=Path("/nonexistent"))
        old_conn, new_conn = FakeConn(), FakeConn()
        old = Context("me", config, old_conn)  # type: ignore[arg-type]
        for i in range(5):
            await old.deliver("peer", Echo(n=i))
        old_seqs = [decode_header(f).id for f in old_conn.sent]
        new = Context("me", config, new_conn)  # type: ignore[arg-type]  # the restarted sender
        for i in range(5):
            await new.deliver("peer", Echo(n=100 + i))
        new_seqs = [decode_header(f).id for f in new_conn.sent]
        assert not set(old_seqs) & set(new_seqs)
        h = _ack(old_seqs[0], old_seqs[-1])  # the peer acks what the dead incarnation sent
        new._on_ack("peer", h.id, h.payload)
        assert new.unacked == 5  # nothing of the new incarnation is released
        new_conn.sent.clear()
        new._on_peer_up("peer")
        assert [decode_header(f).id for f in new_conn.sent] == new_seqs

    asyncio.run(main())


def test_unacked_bytes_and_acked_follow_range_acks() -> None:
    async def main() -> None:
        conn = FakeConn()
        config = Config(home=Path("/nonexistent"), codex_home=Path("/nonexistent"))
        ctx = Context("me", config, conn)  # type: ignore[arg-type]
        seqs = [await ctx.deliver("peer", Echo(n=i, text="x" * 100)) for i in range(4)]
        sizes = [len(f) for f in conn.sent]
        assert ctx.unacked_bytes("peer") == sum(sizes) and not any(ctx.acked("peer", s) for s in seqs)
        waiter = asyncio.ensure_future(ctx.wait_unacked_below("peer", sizes[3] + 1))
        await asyncio.sleep(0)
        assert not waiter.done()  # 4 frames out, the window is one frame
        h = _ack(seqs[0], seqs[2])
        ctx._on_ack("peer", h.id, h.payload)
        await asyncio.wait_for(waiter, 5)
        assert ctx.unacked_bytes("peer") == sizes[3]
        assert [ctx.acked("peer", s) for s in seqs] == [True, True, True, False]
        urgent = await ctx.deliver("peer", Echo(n=9), urgent=True)
        assert decode_header(conn.sent[-1]).kind == Kind.URGENT and not ctx.acked("peer", urgent)

    asyncio.run(main())


def test_an_urgent_message_is_handled_before_the_queue_and_acknowledged(start_sup: Any) -> None:
    """The receiver is busy while 20 DATA items and then one URGENT item arrive: the URGENT one
    is handled first, the others in their order, and every one is acknowledged once."""
    sup = start_sup("prober,gamma")
    reply = sup.ask("prober", Cmd(op="urgent", arg="gamma"), timeout=30)
    assert isinstance(reply, Cmd) and reply.n == 0, reply  # nothing left unacknowledged
    seqs = [int(x) for x in (sup.home / "gamma.seqs").read_text().split()]
    assert seqs == [999, *range(20)]
