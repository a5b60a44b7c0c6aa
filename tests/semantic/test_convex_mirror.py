"""Message vectors from the store to Convex and back: the indexer's outbox entries drained into the
Convex emulator (running the real functions under convex-test), then searched by meaning with the
`embeddings:search` action, as another device would (its query embedded with the same model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from oa_actors.convex.client import ConvexHttpClient
from oa_actors.convex.drain import OutboxDrain, resync
from oa_actors.semantic.indexing import Indexing, connect
from oa_actors.store import Store
from tests.semantic.test_indexing import fill
from tests.support import convex_emulator
from tests.support.convex_emulator import ConvexEmulator
from tests.support.semantic_sessions import load_sessions, write_rollouts

pytestmark = pytest.mark.skipif(
    not convex_emulator.available(), reason="node_modules missing: run `make test` (npm ci)"
)


async def test_vectors_drain_once_and_search_through_convex(tmp_path: Path, embedder_int8: Any) -> None:
    sessions = load_sessions()[:12]
    path = tmp_path / "store.sqlite3"
    with Store.open(path) as store:
        fill(store, write_rollouts(tmp_path / "sessions", sessions))
        conn = connect(path)
        indexing = Indexing(conn, embedder_int8)
        while indexing.step() is not None:
            pass
        conn.close()
        vectors = store.conn.execute("SELECT count(*) FROM message_vectors").fetchone()[0]
        with ConvexEmulator() as emu:
            async with ConvexHttpClient(emu.url, emu.admin_key) as client:
                drain = OutboxDrain(store, client)
                while await drain.drain_once():
                    pass
                assert drain.lag()["rows"] == 0 and drain.status.quarantined == 0
                found = 0
                for s in sessions:
                    q = embedder_int8.embed([s.query])[0]
                    hits = await client.action("embeddings:search", {"vector": q.tolist(), "limit": 20})
                    threads = list(dict.fromkeys(h["threadId"] for h in hits))
                    found += s.thread_id in threads[:3]
                    assert all(h["snippet"] for h in hits)  # joined with the mirrored messages
                assert found >= 0.75 * len(sessions), found
                inside = await client.action(
                    "embeddings:search",
                    {"vector": embedder_int8.embed(["x"])[0].tolist(), "threadId": sessions[2].thread_id},
                )
                assert inside and {h["threadId"] for h in inside} == {sessions[2].thread_id}
                # A full resync sends every vector again: nothing new in Convex (one per key + chunk).
                await resync(store, client)
                every = await client.action(
                    "embeddings:search", {"vector": embedder_int8.embed(["x"])[0].tolist(), "limit": 256}
                )
                assert len(every) == min(256, vectors)
                assert len({(h["key"], h["chunk"]) for h in every}) == len(every)
