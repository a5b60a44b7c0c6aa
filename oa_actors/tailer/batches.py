"""Cutting rows into RowBatches by their real encoded size, so no batch ever exceeds a bus frame.

Every row is measured once by encoding it with msgspec's msgpack encoder into a reused buffer
(the bus encodes the same dicts the same way, and msgpack is context free, so the size of a batch
is the sum of its parts plus a small header). That costs about 3 ms per 20 MB of session files,
a few percent of the tailer's own time, and none of the writer's.

Limits (docs/rows.md, "Batches and limits"):
- a file's read is cut into parts of at most `BATCH_ROWS` rows and `BATCH_BYTES` bytes;
- during a backfill consecutive parts are merged up to `GROUP_ROWS` rows and `GROUP_BYTES` bytes;
- a single row bigger than those travels alone; the bus frame (`MAX_FRAME`) is sized for the
  largest row two lines of the line limit can make (a tool call and its result, 2 x 32 MiB);
- a row that would still not fit in `MAX_BATCH_BYTES` (only possible for tool arguments dense
  with numbers, whose msgpack form is larger than their JSON) is stored with its `data` replaced
  by a marker and its `text` cut, and counted (`rowsTruncated`), so it never blocks the rows after it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from oa_actors.runtime.codec import MAX_FRAME

BATCH_ROWS = 500
BATCH_BYTES = 1024 * 1024
# A backfill transaction of 16 MB instead of 4 MB: fewer commits, each rewriting fewer random
# pages of the key index per row, and one full-text segment per transaction (search_index.HASHSIZE).
# Replayed writes of a 1 GB backfill: 12.6 -> 9.9 s of the writer's CPU (docs/benchmarks.md).
GROUP_ROWS = 20000
GROUP_BYTES = 16 * 1024 * 1024
#: While a session is being written (a live read in the last `LIVE_SECONDS`), backfill batches are
#: this small: the writer commits one in a few ms, and that is all a live batch, sent ahead of the
#: writer's queue, waits for (docs/runtime.md, "Live rows during a backfill"). Smaller
#: transactions cost the backfill some throughput, so only while it matters.
LIVE_GROUP_ROWS = 125
LIVE_GROUP_BYTES = 128 * 1024
LIVE_SECONDS = 10.0
#: The tailer reads the next backfill file only while less than this many batches (of the current
#: size) are sent to the writer and not yet committed: the writer always has the next one, and
#: its queue never holds more than that.
BACKFILL_WINDOW_BATCHES = 2
#: Room in a frame for everything around the rows: frame header, path, offsets, field names.
FRAME_HEADROOM = 1024 * 1024
#: The largest RowBatch the tailer ever sends (one row alone, or one checkpoint alone).
MAX_BATCH_BYTES = MAX_FRAME - FRAME_HEADROOM
#: Encoded size of a RowBatch's own fields besides rows, threads and snapshots (names, ints),
#: not counting its path(s); generous so the sum of parts is an upper bound of the real size.
BATCH_OVERHEAD = 256
#: A measuring buffer that grew past this after a big row is dropped, not kept for the next one.
KEEP_BUFFER = 4 * 1024 * 1024
TRUNCATION_MARK = (
    "\n…[truncated: this row is larger than the bus can carry; the full text is in the session file]"
)
#: `data` values at most this long survive in a truncated row (tool name, server, ...).
KEEP_SCALAR = 1024


class Sizer:
    """Exact msgpack size of rows, encoded into one reused buffer."""

    def __init__(self) -> None:
        self._enc = msgspec.msgpack.Encoder()
        self._buf = bytearray()

    def size(self, obj: Any) -> int:
        self._enc.encode_into(obj, self._buf)
        n = len(self._buf)
        if n > KEEP_BUFFER:
            self._buf = bytearray()
        return n


def cut(
    sizes: list[int], max_rows: int = BATCH_ROWS, max_bytes: int = BATCH_BYTES
) -> list[tuple[int, int, int]]:
    """Consecutive parts `(start, end, bytes)` of at most `max_rows` rows and `max_bytes` bytes;
    a row bigger than `max_bytes` is a part of its own. Always at least one (maybe empty) part."""
    parts: list[tuple[int, int, int]] = []
    start, total = 0, 0
    for i, n in enumerate(sizes):
        if i > start and (i - start >= max_rows or total + n > max_bytes):
            parts.append((start, i, total))
            start, total = i, 0
        total += n
    parts.append((start, len(sizes), total))
    return parts


def batch_overhead(path: str) -> int:
    """Bytes a RowBatch (or one checkpoint in a merged batch) adds around its rows for `path`."""
    return BATCH_OVERHEAD + 2 * len(path.encode("utf-8", "surrogateescape"))


def fit_row(row: dict[str, Any], limit: int, sizer: Sizer) -> dict[str, Any]:
    """A copy of `row` whose encoding fits in `limit` bytes: `data` is replaced by a marker that
    keeps its short scalar fields, then `text` is cut with `TRUNCATION_MARK` if still needed."""
    out = dict(row)
    data = row.get("data")
    if data is not None:
        kept = (
            {
                k: v
                for k, v in data.items()
                if isinstance(v, int | float | bool) or (isinstance(v, str) and len(v) <= KEEP_SCALAR)
            }
            if isinstance(data, dict)
            else {}
        )
        out["data"] = {**kept, "truncated": True, "encodedBytes": sizer.size(data)}
    text = out.get("text")
    if isinstance(text, str):
        budget = limit - sizer.size({**out, "text": ""}) - len(TRUNCATION_MARK.encode()) - 16
        if sizer.size(text) > budget:
            out["text"] = text.encode()[: max(budget, 0)].decode("utf-8", errors="ignore") + TRUNCATION_MARK
    return out
