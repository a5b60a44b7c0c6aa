"""The writer's per-batch CPU in isolation: record the RowBatches a backfill sends, replay them.

    .venv/bin/python benches/writer_replay.py record SESSIONS_DIR OUT.bin
    .venv/bin/python benches/writer_replay.py replay OUT.bin [--rounds N]

`record` runs the tailer engine (TailerService, backfill, grouped batches as the actor sends them)
over a sessions directory and writes each RowBatch as the bus encodes it (msgpack, length-prefixed).
`replay` does what the `convex_writer` actor does for each of them on an empty store: decode the
payload, `Store.apply_batch`, encode the `RowsCommitted` it publishes, and prints the process CPU
seconds of each part (`time.process_time`, steadier than wall time on a shared machine). A tool
for comparing store changes back to back; the end-to-end figure is test_bench_tailer.py's.
"""

from __future__ import annotations

import argparse
import asyncio
import struct
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from oa_actors import messages as m
from oa_actors.runtime.codec import decode_payload
from oa_actors.store import Store
from oa_actors.tailer.service import TailerService

_LEN = struct.Struct(">I")


def record(sessions: Path, out: Path) -> None:
    enc = msgspec.msgpack.Encoder()
    n = rows = 0
    with out.open("wb") as f:

        async def send(batch: m.RowBatch) -> None:
            nonlocal n, rows
            data = enc.encode(batch)
            f.write(_LEN.pack(len(data)) + data)
            n += 1
            rows += len(batch.messages)

        async def forget(path: str) -> None:
            pass

        async def go() -> None:
            svc = TailerService([sessions], send, on_forget=forget, watch=False, rescan_seconds=0)
            await svc.start({}, backfill=True)
            await svc.wait_idle()
            await svc.stop()

        asyncio.run(go())
    print(f"recorded {n} batches, {rows} rows, {out.stat().st_size / 1e6:.1f} MB")


def frames(path: Path) -> list[bytes]:
    data = path.read_bytes()
    out, i = [], 0
    while i < len(data):
        (size,) = _LEN.unpack_from(data, i)
        out.append(data[i + 4 : i + 4 + size])
        i += 4 + size
    return out


def replay(path: Path, rounds: int) -> None:
    raws = frames(path)
    enc = msgspec.msgpack.Encoder()
    for r in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            store = Store.open(Path(tmp) / "store.sqlite3")
            dec = apply = pub = 0.0
            rows = 0
            w0 = time.perf_counter()
            for raw in raws:
                c0 = time.process_time()
                batch = decode_payload(raw)
                c1 = time.process_time()
                assert isinstance(batch, m.RowBatch)
                applied = store.apply_batch(
                    batch.threads, batch.messages, checkpoints=batch.all_checkpoints(), fts=batch.fts
                )
                c2 = time.process_time()
                if applied.messages:
                    enc.encode(m.RowsCommitted(table="messages", rows=applied.messages))
                c3 = time.process_time()
                dec, apply, pub = dec + c1 - c0, apply + c2 - c1, pub + c3 - c2
                rows += len(applied.messages)
            wall = time.perf_counter() - w0
            stored = store.count("messages")
            store.close()
        print(
            f"round {r + 1}: decode {dec:.2f} s, apply_batch {apply:.2f} s, publish {pub:.2f} s, "
            f"total CPU {dec + apply + pub:.2f} s, wall {wall:.2f} s; {rows} rows ({stored} stored)",
            flush=True,
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("sessions", type=Path)
    rec.add_argument("out", type=Path)
    rep = sub.add_parser("replay")
    rep.add_argument("batches", type=Path)
    rep.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    if args.cmd == "record":
        record(args.sessions, args.out)
    else:
        replay(args.batches, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
