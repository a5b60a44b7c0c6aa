"""`Context.deliver` bookkeeping, in-process: range acks and retransmission after a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from oa_actors.config import Config
from oa_actors.runtime import codec
from oa_actors.runtime.actor import Context
from oa_actors.runtime.codec import Echo, Kind, decode_header, encode_frame
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
