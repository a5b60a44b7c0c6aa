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
        # A restarted peer handled 8..10 (fresh) before the retransmitted 1..7: only 8..10 go.
        h = _ack(8, 10)
        ctx._on_ack("peer", h.id, h.payload)
        assert ctx.unacked == 7
        conn.sent.clear()
        ctx._on_peer_up("peer")  # it restarted again: the 7 still unacknowledged go out again, in order
        seqs = [decode_header(f).id for f in conn.sent]
        assert seqs == [1, 2, 3, 4, 5, 6, 7]
        h = _ack(1, 7)
        ctx._on_ack("peer", h.id, h.payload)
        assert ctx.unacked == 0

    asyncio.run(main())
