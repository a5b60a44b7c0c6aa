"""Every event the bridge sends (`{"type": "event", "event": name, "data": ...}`), declared once.

The gateway builds each frame from one of these declarations and its `data` Struct
(`protocol.event(RUN_STDOUT, RunStdout(...))`), and docs/protocol.md's event table is generated
from them. Adding an event type is one Struct and one `EVENTS.declare(...)`.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from oa_actors.verbs.registry import Event, EventData, EventRegistry, MessageRow, Object, ThreadRow

EVENTS = EventRegistry()


class HelloLimits(EventData):
    maxRequest: int
    maxFrame: int


class Hello(EventData):
    protocol: int
    clientId: str
    verbs: list[str]
    limits: HelloLimits
    machine: str = ""  # this installation's machine name (docs/convex.md, several desktops)


class ThreadsChanged(EventData):
    rows: list[ThreadRow]


class MessagesAdded(EventData):
    threadId: str
    rows: list[MessageRow]


class RowsChanged(EventData):
    rows: list[Annotated[Object, msgspec.Meta(title="row")]]


class RowsRemoved(EventData):
    keys: Annotated[list[str], msgspec.Meta(description="the removed rows' ids (project id, skill uid)")]


class RunStdout(EventData):
    runId: str
    threadDocId: str
    provider: str
    line: Annotated[Any, msgspec.Meta(description="the parsed JSON line, or the text of a non-JSON one")]


class RunState(EventData):
    """A run: the fields of runner/manager.py `Run.public()` (a test keeps the two equal)."""

    runId: str
    threadDocId: str
    text: str
    provider: str
    projectId: str | None
    cwd: str | None
    resumeId: str | None
    sessionId: str | None
    status: Annotated[str, msgspec.Meta(description="pending (queued), running, done, failed or interrupted")]
    exitCode: int | None
    error: str | None
    createdAt: int
    updatedAt: int
    lines: int
    warning: Annotated[
        str | None, msgspec.Meta(description="why the run is not in the thread's own folder ($HOME instead)")
    ] = None


class BackfillProgress(EventData):
    """Progress of the running (or last) backfill (also the tailer's bus message, messages.py)."""

    running: bool
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    rows: int
    started_at: float = 0.0
    finished_at: float = 0.0
    files_up_to_date: int = 0  # files found with nothing new to read (not counted in files_total)


class StatusSample(EventData):
    """One sample of the whole system's state (the web app's status page and its charts)."""

    t: Annotated[int, msgspec.Meta(description="ms since the epoch")]
    supervisor: Annotated[Object | None, msgspec.Meta(title="supervisor.status reply")]
    tailer: Annotated[Object | None, msgspec.Meta(title="sessions.watch_status reply")]
    convex: Annotated[Object | None, msgspec.Meta(title="convex.status reply")]
    bridge: Annotated[Object, msgspec.Meta(title="bridge.status reply without you")]
    errors: Annotated[dict[str, str], msgspec.Meta(description="the parts that could not answer, why")]


HELLO: Event[Hello] = EVENTS.declare(
    "bridge.hello", Hello, "the new client", "sent once on connect: the protocol version and the verbs"
)
THREADS_CHANGED: Event[ThreadsChanged] = EVENTS.declare(
    "rows.threads", ThreadsChanged, "`threads.list` subscribers", "threads that changed (upserts)"
)
MESSAGES_ADDED: Event[MessagesAdded] = EVENTS.declare(
    "rows.messages",
    MessagesAdded,
    "subscribers of the thread",
    "new messages of that thread, in commit order",
)
PROJECTS_CHANGED: Event[RowsChanged] = EVENTS.declare(
    "rows.projects", RowsChanged, "every client", "projects created or changed (docs/fs.md)"
)
SKILLS_CHANGED: Event[RowsChanged] = EVENTS.declare(
    "rows.skills", RowsChanged, "every client", "skills created or changed (docs/fs.md)"
)
PROJECTS_REMOVED: Event[RowsRemoved] = EVENTS.declare(
    "rows.projects.removed", RowsRemoved, "every client", "projects whose file was deleted"
)
SKILLS_REMOVED: Event[RowsRemoved] = EVENTS.declare(
    "rows.skills.removed", RowsRemoved, "every client", "skills whose file was deleted"
)
RUN_STDOUT: Event[RunStdout] = EVENTS.declare(
    "run.stdout", RunStdout, "every client", "one stdout line of a run's agent CLI, as it arrives"
)
RUN_STATE: Event[RunState] = EVENTS.declare(
    "run.state",
    RunState,
    "every client",
    "a run changed state (queued, started, its session id learnt, ended)",
)
BACKFILL_PROGRESS: Event[BackfillProgress] = EVENTS.declare(
    "backfill.progress", BackfillProgress, "every client", "progress of a backfill of the session files"
)
STATUS_SAMPLE: Event[StatusSample] = EVENTS.declare(
    "status.sample",
    StatusSample,
    "`status.watch` subscribers",
    "the system's state, every `intervalMs` while someone watches",
)


def rows_event(table: str) -> Event[RowsChanged]:
    """The `rows.<table>` event of a table broadcast to every client; KeyError if none is declared."""
    event = EVENTS.get(f"rows.{table}")
    if event is None or event.data is not RowsChanged:
        raise KeyError(f"no event rows.{table} is declared for table {table!r}")
    return event


def removed_event(table: str) -> Event[RowsRemoved]:
    """The `rows.<table>.removed` event; KeyError if none is declared."""
    event = EVENTS.get(f"rows.{table}.removed")
    if event is None:
        raise KeyError(f"no event rows.{table}.removed is declared for table {table!r}")
    return event
