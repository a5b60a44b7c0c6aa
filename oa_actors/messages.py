"""Business messages between actors (the runtime's own messages live in runtime/codec.py).

Rows travel as plain dicts in the shape of docs/rows.md, in batches of a few hundred rows. Verbs
(oa_actors/verbs) travel as one generic request/reply pair (`VerbRequest` / `VerbReply`) to the
actor that serves them.
"""

from __future__ import annotations

from typing import Any

from oa_actors.runtime.codec import Message
from oa_actors.verbs.events import BackfillProgress, RunState, RunStdout

# Topics (the WS gateway subscribes to all of them).
TOPIC_THREADS = "rows.threads"
TOPIC_MESSAGES = "rows.messages"
TOPIC_PROJECTS = "rows.projects"
TOPIC_SKILLS = "rows.skills"
TOPIC_RUNS = "runs.events"
TOPIC_PROGRESS = "backfill.progress"

WRITER = "convex_writer"
TAILER = "sessions_tailer"
FS = "fs_syncer"
RUNNER = "codex_runner"
BACKEND = "convex_backend"
GATEWAY = "ws_gateway"
INDEXER = "indexer"


class RowBatch(Message, tag="rows.batch"):
    """Rows read from one file, with the tail checkpoint to commit in the same transaction.

    During a backfill the tailer merges consecutive batches (of several files) into one: their
    rows in order, and their checkpoints in `checkpoints` (path, offset, snapshot), all committed
    in the same transaction (`all_checkpoints()` lists every checkpoint of a batch).
    Sent with `deliver` (at-least-once); applying it twice changes nothing. `fts` holds the
    messages' full-text index columns when the tailer computed them (aligned with `messages`).
    """

    path: str
    offset: int
    snapshot: bytes | None = None
    threads: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    checkpoint: bool = True
    checkpoints: list[tuple[str, int, bytes | None]] = []
    # The messages' full-text index columns (`search_text.index_entry`, aligned with `messages`),
    # computed by the tailer so the writer only inserts them; empty: the writer computes them.
    fts: list[Any] = []

    def all_checkpoints(self) -> list[tuple[str, int, bytes | None]]:
        """Every checkpoint to commit with these rows, in the order they were taken."""
        own = [(self.path, self.offset, self.snapshot)] if self.checkpoint else []
        return own + [tuple(c) for c in self.checkpoints]  # type: ignore[misc]


class RowsCommitted(Message, tag="rows.committed"):
    """Published after a commit: only rows that were new (messages) or changed (other tables).

    For removals (projects, skills) `removed` lists their keys.
    """

    table: str
    rows: list[dict[str, Any]] = []
    removed: list[str] = []


class GetCheckpoints(Message, tag="store.get_checkpoints"):
    """Ask the writer for every tail checkpoint (the tailer's state after a restart)."""


class Checkpoints(Message, tag="store.checkpoints"):
    """Reply: path -> (offset, snapshot bytes or None)."""

    items: dict[str, tuple[int, bytes | None]]


class DropCheckpoint(Message, tag="store.drop_checkpoint"):
    """A tailed file was deleted: forget its checkpoint (its rows stay in the store)."""

    path: str


class FsChanges(Message, tag="fs.changes"):
    """Projects/skills changed on disk (rows as in docs/fs.md; upserts carry the file path)."""

    project_upserts: list[tuple[dict[str, Any], str | None]] = []
    project_removals: list[str] = []
    skill_upserts: list[tuple[str, dict[str, Any], str | None]] = []
    skill_removals: list[str] = []


class GetFsRows(Message, tag="store.get_fs_rows"):
    """Ask the writer for the stored projects and skills (the syncer's previous snapshot)."""


class FsRows(Message, tag="store.fs_rows"):
    projects: list[dict[str, Any]] = []
    skills: list[dict[str, Any]] = []
    project_paths: dict[str, str] = {}


class RunUpdate(Message, tag="runs.update"):
    """A run's state (the runner's `Run.public()`), stored by the writer."""

    run: dict[str, Any]


class GetSessions(Message, tag="runs.get_sessions"):
    """Ask the writer for the thread -> agent session map learnt from earlier runs."""


class Sessions(Message, tag="runs.sessions"):
    items: dict[str, str] = {}


class VerbRequest(Message, tag="verb.request"):
    """A verb for the actor that serves it (its `owner` in oa_actors/verbs/catalog.py).

    `args` are the fields of the verb's arguments Struct; the serving actor validates them again.
    """

    verb: str
    args: dict[str, Any] = {}


class VerbReply(Message, tag="verb.reply"):
    """The answer to a VerbRequest: `result` (the reply Struct's fields) when ok, else `code` (an
    `ErrorCode` value) and `error`."""

    ok: bool
    result: dict[str, Any] = {}
    code: str = ""
    error: str = ""


class BackfillStatus(Message, BackfillProgress, tag="tailer.backfill_status"):
    """Progress of the running (or last) backfill; its fields are the `backfill.progress` event's."""


class RunOutput(Message, tag="runs.output"):
    """One stdout line of a run, broadcast to the WS clients as `run.stdout`."""

    data: RunStdout


class RunChanged(Message, tag="runs.changed"):
    """A run's new state, broadcast to the WS clients as `run.state`."""

    data: RunState
