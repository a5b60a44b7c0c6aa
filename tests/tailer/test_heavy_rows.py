"""Heavy rows (issue 11 point 1) on the engine: every RowBatch goes through the bus codec exactly as
`deliver` encodes it, so a batch that does not fit a frame fails here as it would on the bus."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from oa_actors import jsonl
from oa_actors.commands.parse import rows_of
from oa_actors.messages import RowBatch
from oa_actors.runtime import codec
from oa_actors.store import Store
from oa_actors.tailer.batches import GROUP_BYTES, MAX_BATCH_BYTES, cut
from oa_actors.tailer.service import TailerService
from oa_actors.tailer.sink import StoreSink
from tests.support.gen import big_line_session, write_heavy_sessions, write_sessions
from tests.tailer.test_service import expected_keys, stored_keys

MIB = 1024 * 1024


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "store.sqlite3")
    yield s
    s.close()


class BusSink:
    """Encodes each batch as a DATA frame (raises `FrameTooLarge` like `deliver`), decodes it as
    the writer would, and commits it; records every frame's size."""

    def __init__(self, store: Store) -> None:
        self.sink = StoreSink(store)
        self.frames: list[int] = []

    async def __call__(self, batch: RowBatch) -> None:
        frame = codec.encode_frame(codec.Kind.DATA, "convex_writer", "sessions_tailer", 1, batch)
        self.frames.append(len(frame))
        decoded = codec.decode_payload(codec.decode_header(frame).payload)
        assert isinstance(decoded, RowBatch)
        await self.sink(decoded)


async def backfill(roots: list[Path], send: Any, max_batch_bytes: int = 0) -> TailerService:
    svc = TailerService(roots, send, watch=False, rescan_seconds=0)
    if max_batch_bytes:
        svc.core.max_batch_bytes = max_batch_bytes
    await svc.start({})
    try:
        await svc.wait_idle(120)
    finally:
        await svc.stop()
    return svc


def thread_rows(store: Store, path: Path) -> list[dict[str, Any]]:
    return store.messages_for_thread(rows_of(path)[0][-1]["threadId"], limit=10_000)


async def test_heavy_rows_are_batched_by_their_encoded_size(tmp_path: Path, store: Store) -> None:
    """30 rollouts of 200 custom tool calls with 6 KB inputs: 6,060 rows (0 were stored before)."""

    heavy = write_heavy_sessions(tmp_path / "sessions", 30)
    plain = write_sessions(tmp_path / "sessions", 20)  # written after them: newer, read first
    want = expected_keys(heavy + plain)
    assert len(expected_keys(heavy)) == 6060
    sink = BusSink(store)
    svc = await backfill([tmp_path / "sessions"], sink)
    assert stored_keys(store) == want
    assert svc.progress.files_done == 50
    # Frames are cut by real size: merged batches stay near GROUP_BYTES, far below the frame limit.
    assert max(sink.frames) <= GROUP_BYTES + 64 * 1024, max(sink.frames)
    assert len(sink.frames) >= 6060 * 6000 // GROUP_BYTES


async def test_a_17_mib_line_is_stored_whole_and_the_rows_after_it_follow(
    tmp_path: Path, store: Store
) -> None:
    """A valid 17 MiB line (lines up to 32 MiB are accepted) makes a row bigger than the old 16 MiB
    frame: it travels alone in one batch, and the rows after it (same file, other files) follow."""
    big = tmp_path / "sessions" / "big" / f"rollout-2026-11-22T02-00-00-{uuid.uuid4()}.jsonl"
    big_line_session(big, str(uuid.uuid4()), 17 * MIB)
    plain = write_sessions(tmp_path / "sessions", 3)
    sink = BusSink(store)
    await backfill([tmp_path / "sessions"], sink)
    assert stored_keys(store) == expected_keys([big, *plain])
    rows = thread_rows(store, big)
    (tool,) = [r for r in rows if r["kind"] == "tool"]
    assert tool["data"]["arguments"] == "x" * (17 * MIB)
    assert rows[-1]["text"] == "after the big line"
    assert 17 * MIB < max(sink.frames) <= codec.MAX_FRAME


async def test_one_row_made_of_two_long_lines_fits_a_frame(tmp_path: Path, store: Store) -> None:
    """An MCP row pairs its arguments (one line) with its result (another): two lines of ~20 MiB
    make one ~40 MiB row. The frame limit is sized for two lines at the line limit."""

    assert MAX_BATCH_BYTES >= 2 * jsonl.DEFAULT_MAX_LINE + MIB  # the documented relation
    big = tmp_path / "sessions" / f"rollout-2026-11-22T02-00-00-{uuid.uuid4()}.jsonl"
    big_line_session(big, str(uuid.uuid4()), 20 * MIB, mcp_result_bytes=20 * MIB)
    sink = BusSink(store)
    await backfill([tmp_path / "sessions"], sink)
    rows = thread_rows(store, big)
    (mcp,) = [r for r in rows if r["kind"] == "mcp"]
    assert len(mcp["data"]["arguments"]["blob"]) == 20 * MIB
    assert len(mcp["data"]["result"]["echo"]) == 20 * MIB
    assert rows[-1]["text"] == "after the big line"


async def test_a_row_too_big_for_any_frame_is_cut_and_never_blocks(tmp_path: Path, store: Store) -> None:
    """Beyond the frame (here a 1 MiB one, to keep the test small) a row is stored with its data
    replaced by a marker and its text cut, counted once; a tail snapshot that does not fit is left
    out of its checkpoint (the offset still moves). The rows after it are stored whole."""
    big = tmp_path / "sessions" / f"rollout-2026-11-22T02-00-00-{uuid.uuid4()}.jsonl"
    big_line_session(big, str(uuid.uuid4()), 3 * MIB)
    # A session still running: its last line is the big call, whose output is not written yet.
    running = big.with_name(f"rollout-2026-11-22T02-00-00-{uuid.uuid4()}.jsonl")
    lines = big.read_bytes().splitlines(keepends=True)
    running.write_bytes(lines[0] + next(ln for ln in lines if b'"input"' in ln))
    plain = write_sessions(tmp_path / "sessions", 2)
    sink = BusSink(store)
    svc = await backfill([tmp_path / "sessions"], sink, max_batch_bytes=MIB)
    assert stored_keys(store) == expected_keys([big, *plain])
    rows = thread_rows(store, big)
    (tool,) = [r for r in rows if r["kind"] == "tool"]
    assert tool["data"]["truncated"] is True and tool["data"]["name"] == "js_repl"
    assert tool["data"]["encodedBytes"] > 3 * MIB
    assert rows[-1]["text"] == "after the big line"
    assert svc.core.stats.rows_truncated == 1
    assert max(sink.frames) <= MIB + 4096
    # The running session's pending call holds 3 MiB in its tail snapshot: no frame carries it,
    # so its checkpoint goes without one (read again from 0 after a restart, deduplicated by key);
    # every checkpoint offset still reaches the end of its file.
    assert svc.core.stats.snapshots_dropped == 1
    assert store.checkpoint(str(running)) == (running.stat().st_size, None)
    assert {p: store.checkpoint(p)[0] for p in store.checkpoints()} == {
        str(p): p.stat().st_size for p in [big, running, *plain]
    }


def test_parts_are_cut_by_rows_and_bytes() -> None:

    assert cut([]) == [(0, 0, 0)]
    assert cut([10] * 5, max_rows=2, max_bytes=100) == [(0, 2, 20), (2, 4, 20), (4, 5, 10)]
    assert cut([40, 40, 40], max_rows=10, max_bytes=100) == [(0, 2, 80), (2, 3, 40)]
    # A row bigger than the budget is a part of its own and never delays the rows around it.
    assert cut([10, 500, 10], max_rows=10, max_bytes=100) == [(0, 1, 10), (1, 2, 500), (2, 3, 10)]
