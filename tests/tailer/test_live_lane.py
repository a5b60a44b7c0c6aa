"""Live rows during a backfill: the send window, the live lane and their ordering rule.

- The service reads no backfill file while its gate is closed, but a live change is read (and
  sent as live) meanwhile; after a live read the backfill goes on in small batches.
- `WriterLane` sends a live batch urgent only when nothing it could overtake is about its files.
- End to end (real supervisor, writer and tailer processes, inotify, SQLite): live appends while a
  backfill of ~100 MB runs, one of them to a file that is itself being backfilled; the store ends
  exact (every row once, every checkpoint at its file's size) and live batches went ahead.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

from oa_actors import messages as m
from oa_actors.actors.sessions_tailer import WriterLane, batch_paths
from oa_actors.commands.parse import rows_of
from oa_actors.config import Config
from oa_actors.runtime.actor import Context
from oa_actors.runtime.codec import Ack, Kind, decode_header, encode_frame
from oa_actors.store import Store
from oa_actors.tailer.batches import GROUP_BYTES, LIVE_GROUP_BYTES
from oa_actors.tailer.service import TailerService
from oa_actors.tailer.sink import StoreSink
from tests.jsonl.corpus import CORPUS
from tests.runtime.helpers import FakeConn
from tests.support.gen import heavy_rollout_lines
from tests.support.supervisor import Supervisor

ROLLOUTS = sorted((CORPUS / "codex-0.169.0" / "sessions").rglob("*.jsonl"))


async def until(cond: Any, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.02)


class Gate:
    """A gate the test opens by hand."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.windows: list[int] = []

    def is_open(self, window: int) -> bool:
        self.windows.append(window)
        return self.open.is_set()

    async def wait(self, window: int) -> None:
        await self.open.wait()


async def test_a_closed_gate_holds_the_backfill_but_not_live_changes(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    old = sessions / "2026" / "11" / "01"
    old.mkdir(parents=True)
    for src in ROLLOUTS:
        (old / src.name).write_bytes(src.read_bytes())
    day = sessions / "2026" / "12" / "06"
    day.mkdir(parents=True)
    store = Store.open(tmp_path / "store.sqlite3")
    sink = StoreSink(store)
    sent: list[tuple[bool, m.RowBatch]] = []
    gate = Gate()

    async def send(batch: m.RowBatch) -> None:
        sent.append((svc.reading_live, batch))
        await sink(batch)

    svc = TailerService([sessions], send, rescan_seconds=0, gate=gate)
    await svc.start({})
    try:
        await until(lambda: gate.windows)  # the loop asked the gate and waits
        assert not sent and svc.core.group_bytes == GROUP_BYTES
        src = ROLLOUTS[0].read_bytes().splitlines(keepends=True)
        live = day / ROLLOUTS[0].name.replace("rollout-", "rollout-live-")
        live.write_bytes(b"".join(src[:5]))
        await until(lambda: sent)
        assert all(was_live for was_live, _ in sent)
        assert {p for _, b in sent for p in batch_paths(b)} == {str(live)}
        gate.open.set()
        await svc.wait_idle(30)
        # After a live read, backfill batches are the small ones (and the window follows them).
        assert svc.core.group_bytes == LIVE_GROUP_BYTES and gate.windows[-1] == 2 * LIVE_GROUP_BYTES
        assert not any(was_live for was_live, _ in sent[1:])
        want = {
            r["key"] for p in sessions.rglob("*.jsonl") for r in rows_of(p)[0] if r["table"] == "messages"
        }
        assert {k for (k,) in store.conn.execute("SELECT key FROM messages")} == want
    finally:
        await svc.stop()
        store.close()


def _ack(ctx: Context, lo: int, hi: int) -> None:
    h = decode_header(encode_frame(Kind.ACK, "me", m.WRITER, hi, Ack(lo=lo)))
    ctx._on_ack(m.WRITER, h.id, h.payload)


def test_writer_lane_sends_live_batches_ahead_only_when_nothing_about_their_files_waits() -> None:
    async def main() -> None:
        conn = FakeConn()
        ctx = Context("me", Config(home=Path("/nonexistent"), codex_home=Path("/nonexistent")), conn)  # type: ignore[arg-type]
        lane = WriterLane(ctx)

        def kinds() -> list[int]:
            return [decode_header(f).kind for f in conn.sent]

        def batch(path: str) -> m.RowBatch:
            return m.RowBatch(path=path, offset=1)

        await lane.send(batch("/a"), ["/a"], live=True)  # nothing in flight: ahead
        await lane.send(batch("/a"), ["/a"], live=True)  # only urgent ones wait for /a: still ahead
        await lane.send(batch("/b"), ["/b"], live=False)  # backfill
        await lane.send(batch("/b"), ["/b"], live=True)  # would overtake /b's backfill batch: in turn
        await lane.send(batch("/c"), ["/a", "/c"], live=True)  # /a's urgent ones keep their order
        assert kinds() == [Kind.URGENT, Kind.URGENT, Kind.DATA, Kind.DATA, Kind.URGENT]
        seqs = [decode_header(f).id for f in conn.sent]
        _ack(ctx, seqs[2], seqs[3])  # /b's batches are committed
        await lane.send(batch("/b"), ["/b"], live=True)
        await lane.send(m.DropCheckpoint(path="/d"), ["/d"], live=False)
        await lane.send(batch("/d"), ["/d"], live=True)  # must not overtake the drop
        assert kinds()[-3:] == [Kind.URGENT, Kind.DATA, Kind.DATA] and lane.urgent == 4

    asyncio.run(main())


def _write_heavy(day: Path, n: int) -> list[Path]:
    day.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        tid = str(uuid.UUID(int=(0x11FE << 112) | i))
        p = day / f"rollout-2026-11-23T02-00-00-{tid}.jsonl"
        p.write_text("\n".join(heavy_rollout_lines(tid, seed=i)) + "\n")
        out.append(p)
    return out


def _line(i: int) -> bytes:
    obj = {
        "timestamp": f"2026-12-06T01:00:{i % 60:02d}.000Z",
        "type": "event_msg",
        "payload": {"type": "user_message", "message": f"live {i} {uuid.uuid4().hex}", "images": []},
    }
    return (json.dumps(obj) + "\n").encode()


def test_live_appends_during_a_backfill_end_exact(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path, args=["--actors", "convex_writer,sessions_tailer"])
    sessions = sup.codex_home / "sessions"
    files = _write_heavy(sessions / "2026" / "11" / "23", 80)  # ~100 MB of heavy rows
    tid = str(uuid.uuid4())
    live = sessions / "2026" / "12" / "06" / f"rollout-2026-12-06T01-00-00-{tid}.jsonl"
    live.parent.mkdir(parents=True)
    meta = {
        "timestamp": "2026-12-06T01:00:00.000Z",
        "type": "session_meta",
        "payload": {
            "id": tid,
            "timestamp": "2026-12-06T01:00:00.000Z",
            "cwd": "/w",
            "cli_version": "0.120.0",
        },
    }
    live.write_text(json.dumps(meta) + "\n")
    backfilled = files[-1]  # also appended to while the backfill runs (it is in the backlog)
    sup.start(timeout=120)
    try:
        db = Store.open(sup.home / "store.sqlite3", readonly=True)
        for i in range(60):
            for p in (live, backfilled) if i % 10 == 0 else (live,):
                with open(p, "ab") as f:
                    f.write(_line(i))
            asyncio.run(until_rows(db, tid, i + 1))  # each append is committed before the next
        paths = [*files, live]
        sizes = {str(p): p.stat().st_size for p in paths}
        asyncio.run(until_checkpoints(db, sizes))
        want = {r["key"] for p in paths for r in rows_of(p)[0] if r["table"] == "messages"}
        keys = [k for (k,) in db.conn.execute("SELECT key FROM messages")]
        assert len(keys) == len(set(keys)) and set(keys) == want
        assert {p: db.checkpoint(p)[0] for p in sizes} == sizes  # type: ignore[index]
        db.close()
        health = sup.actor("sessions_tailer")["health"]
        assert health["urgentBatches"] >= 1, health
        assert all(a["restarts"] == 0 for a in (sup.status() or {})["actors"])
    finally:
        sup.stop()


async def until_rows(db: Store, tid: str, n: int) -> None:
    q = "SELECT COUNT(*) FROM messages WHERE thread_id = ?"
    await until(lambda: db.conn.execute(q, (tid,)).fetchone()[0] >= n, timeout=60)


async def until_checkpoints(db: Store, sizes: dict[str, int]) -> None:
    def done() -> bool:
        got = {p: db.checkpoint(p) for p in sizes}
        return all(v is not None and v[0] == sizes[p] for p, v in got.items())

    await until(done, timeout=120)
