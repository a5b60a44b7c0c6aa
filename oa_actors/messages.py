"""Business messages between actors (the runtime's own messages live in runtime/codec.py).

Rows travel as plain dicts in the shape of docs/rows.md, in batches of a few hundred rows.
"""

from __future__ import annotations

from typing import Any

from oa_actors.runtime.codec import Message

# Topics the writer publishes committed rows on (the WS gateway subscribes).
TOPIC_THREADS = "rows.threads"
TOPIC_MESSAGES = "rows.messages"
TOPIC_PROGRESS = "backfill.progress"


class RowBatch(Message, tag="rows.batch"):
    """Rows read from one file, with the tail checkpoint to commit in the same transaction.

    Sent with `deliver` (at-least-once); applying it twice changes nothing.
    """

    path: str
    offset: int
    snapshot: bytes | None = None
    threads: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    checkpoint: bool = True


class RowsCommitted(Message, tag="rows.committed"):
    """Published after a commit: only rows that were new (messages) or changed (threads)."""

    table: str
    rows: list[dict[str, Any]]


class GetCheckpoints(Message, tag="store.get_checkpoints"):
    """Ask the writer for every tail checkpoint (the tailer's state after a restart)."""

    prefix: str = ""


class Checkpoints(Message, tag="store.checkpoints"):
    """Reply: path -> [offset, snapshot bytes or None]."""

    items: dict[str, tuple[int, bytes | None]]


class DropCheckpoint(Message, tag="store.drop_checkpoint"):
    """A tailed file was deleted: forget its checkpoint (its rows stay in the store)."""

    path: str


class Backfill(Message, tag="tailer.backfill"):
    """Run a backfill of the sessions folder now (the WS `convex.backfill` verb sends this)."""

    sessions: str | None = None


class BackfillStatus(Message, tag="tailer.backfill_status"):
    """Progress of the running (or last) backfill."""

    running: bool
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    rows: int
    started_at: float = 0.0
    finished_at: float = 0.0


class WatchStatus(Message, tag="tailer.watch_status"):
    """Ask (empty) / reply (filled) for the WS `sessions.watch_status` verb."""

    watching: bool = False
    roots: list[str] = []
    files: int = 0
    open_files: int = 0
    errors: dict[str, int] = {}
    backfill: BackfillStatus | None = None


class Ok(Message, tag="ok"):
    """A generic positive reply."""

    detail: str = ""
