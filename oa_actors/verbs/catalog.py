"""Every verb, declared once: its arguments and reply Structs, the actor that serves it, what it does.

The gateway validates requests with the arguments Struct (types, required fields, `msgspec.Meta`
constraints, `one_of`) and routes by `owner`; the owning actor serves it with a handler registered
on its `VerbTable` (dispatch.py); docs/protocol.md's verb tables are generated from this module.

Adding a verb is one declaration here (Structs + `VERBS.declare`) and one handler in its actor.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, Meta, UnsetType

from oa_actors.messages import BACKEND, FS, GATEWAY, INDEXER, RUNNER, TAILER, WRITER
from oa_actors.verbs.events import BackfillProgress, RunState, StatusSample
from oa_actors.verbs.registry import (
    LOCAL,
    Args,
    MessageRow,
    NoArgs,
    NonBlank,
    Object,
    ProjectRow,
    Reply,
    SkillRow,
    ThreadRow,
    Verb,
    VerbRegistry,
)

VERBS = VerbRegistry()

Subscribe = Annotated[bool | None, Meta(description="also receive the rows committed from now on")]

# -- live queries and status, answered by the gateway itself -----------------------------------------


class ThreadsList(Args):
    limit: Annotated[int, Meta(ge=1, description="default 50, at most 500")] | None = None
    beforeUpdatedAt: Annotated[int | None, Meta(description="the previous page's nextBeforeUpdatedAt")] = None
    subscribe: Subscribe = None


class ThreadsPage(Reply):
    threads: list[ThreadRow]
    hasMore: bool
    nextBeforeUpdatedAt: int | None
    subscribed: bool


class MessagesForThread(Args):
    threadId: NonBlank
    afterSeq: (
        Annotated[
            float,  # an integer, or a fraction for a row placed between two others (docs/rows.md)
            Meta(ge=-1, description="a seq (integer or fraction); default -1 (from the start)"),
        ]
        | None
    ) = None
    limit: Annotated[int, Meta(ge=1, description="default 200, at most 1000")] | None = None
    subscribe: Subscribe = None


class MessagesPage(Reply):
    threadId: str
    thread: ThreadRow | None
    messages: list[MessageRow]
    hasMore: bool
    nextAfterSeq: int | float
    subscribed: bool


class Unsubscribe(Args):
    query: Literal["threads.list", "messages.forThread"]
    threadId: Annotated[str | None, Meta(description="omitted: every thread")] = None


class Unsubscribed(Reply):
    query: str
    threadId: str | None
    removed: int


class Subscriptions(Reply):
    threads: int
    messageThreads: int


class StoreState(Reply):
    available: bool


class Limits(Reply):
    maxClients: int
    maxFrame: int
    maxRequest: int
    sendQueue: int
    maxInflight: int


class You(Reply):
    clientId: str
    threads: bool
    messageThreads: list[str]


class ServerStatus(Reply):
    """The server's state (also the `ws_gateway` actor's health)."""

    protocol: int
    clients: int
    startedAt: int
    uptimeMs: int
    subscriptions: Subscriptions
    counters: dict[str, int]
    store: StoreState
    limits: Limits


class BridgeStatus(ServerStatus):
    """The server's state and the asking client's subscriptions."""

    you: You


class Pong(Reply):
    pong: bool
    serverTime: Annotated[int, Meta(description="ms since the epoch")]


THREADS_LIST: Verb[ThreadsList, ThreadsPage] = VERBS.declare(
    "threads.list", ThreadsList, ThreadsPage, LOCAL, "threads newest first by updatedAt"
)
MESSAGES_FOR_THREAD: Verb[MessagesForThread, MessagesPage] = VERBS.declare(
    "messages.forThread",
    MessagesForThread,
    MessagesPage,
    LOCAL,
    "one thread's messages in seq order, after afterSeq",
)
UNSUBSCRIBE: Verb[Unsubscribe, Unsubscribed] = VERBS.declare(
    "unsubscribe", Unsubscribe, Unsubscribed, LOCAL, "stop a live query"
)
BRIDGE_STATUS: Verb[NoArgs, BridgeStatus] = VERBS.declare(
    "bridge.status", NoArgs, BridgeStatus, LOCAL, "clients, uptime, counters, limits"
)
PING: Verb[NoArgs, Pong] = VERBS.declare("ping", NoArgs, Pong, LOCAL, "application-level round trip")


class ThreadsCounts(Args):
    threadIds: Annotated[list[str], Meta(min_length=1, max_length=500, description="at most 500")]


class ThreadCounts(Reply):
    counts: Annotated[dict[str, int], Meta(description="threadId -> messages stored (0: none or unknown)")]


class StatusWatch(Args):
    subscribe: Annotated[bool, Meta(description="true: receive status.sample events; false: stop")]


class StatusHistory(Reply):
    intervalMs: int
    samples: Annotated[list[StatusSample], Meta(description="the recent samples, oldest first")]
    subscribed: bool


THREADS_COUNTS: Verb[ThreadsCounts, ThreadCounts] = VERBS.declare(
    "threads.counts", ThreadsCounts, ThreadCounts, LOCAL, "how many messages each thread has"
)
STATUS_WATCH: Verb[StatusWatch, StatusHistory] = VERBS.declare(
    "status.watch",
    StatusWatch,
    StatusHistory,
    LOCAL,
    "the recent status samples; with subscribe, status.sample events (sampled only while watched)",
)

# -- the supervisor's own status (answered by ws_gateway through the supervisor's control socket) ------


class ActorRow(Reply):
    """One actor, as `oa-supervisor status` shows it."""

    name: str
    state: Annotated[str, Meta(description="starting, running, backoff, failed, stopped, ...")]
    pid: int | None
    restarts: int
    uptime: Annotated[float, Meta(description="seconds")]
    inbox: int
    msgsIn: int
    msgsOut: int
    handled: int
    dropped: int
    pubDropped: int
    undeliverable: int
    restartType: str
    lastError: str
    retryAt: Annotated[float, Meta(description="epoch s of the next restart; 0: none")]
    health: Annotated[Object, Meta(title="the actor's own details")]


class SupervisorStatus(Reply):
    pid: int
    uptime: float
    home: str
    actors: list[ActorRow]
    badFrames: int


SUPERVISOR_STATUS: Verb[NoArgs, SupervisorStatus] = VERBS.declare(
    "supervisor.status",
    NoArgs,
    SupervisorStatus,
    GATEWAY,
    "every actor: state, restarts, uptime, inbox, last error, health (`oa-supervisor status`)",
)

# -- runs (codex_runner) -------------------------------------------------------------------------------


class RunSubmit(Args):
    threadDocId: NonBlank
    text: NonBlank
    projectId: str | None = None
    resumeId: str | None = None
    runId: Annotated[
        str | None, Meta(description="the Convex `runs` id from runs:enqueue: the same run, never twice")
    ] = None
    provider: Annotated[str | None, Meta(description="the agent CLI: codex (default) or claude")] = None


class RunSubmitted(Reply):
    runId: str
    threadDocId: str
    status: str
    provider: str


class Interrupt(Args):
    one_of = ("runId", "threadId")
    runId: str | None = None
    threadId: Annotated[str | None, Meta(description="the app's thread (its threadDocId)")] = None


class Interrupted(Reply):
    runId: str
    status: str


class RunsListed(Reply):
    runs: list[RunState]
    active: int
    queued: int
    byStatus: dict[str, int]
    maxParallel: int


RUN_SUBMIT: Verb[RunSubmit, RunSubmitted] = VERBS.declare(
    "run.submit", RunSubmit, RunSubmitted, RUNNER, "start an agent turn in a thread (output: run.* events)"
)
INTERRUPT: Verb[Interrupt, Interrupted] = VERBS.declare(
    "interrupt", Interrupt, Interrupted, RUNNER, "stop a run"
)
RUNS_LIST: Verb[NoArgs, RunsListed] = VERBS.declare(
    "runs.list", NoArgs, RunsListed, RUNNER, "every run of this supervisor and the runner's counts"
)

# -- search, answered by the gateway from the local store (docs/search.md) ----------------------------


class Search(Args):
    query: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=10_000,
            description='words (all must match), "quoted phrases", prefix*; any other character is text',
        ),
    ]
    source: Literal["codex", "claude", "app"] | None = None
    threadId: Annotated[str | None, Meta(description="a thread id or a unique prefix (6+ characters)")] = None
    project: Annotated[str | None, Meta(description="a project folder (cwd) or a prefix of it")] = None
    role: Literal["user", "assistant", "system", "tool"] | None = None
    kind: Annotated[str | None, Meta(description="a row kind (docs/rows.md), e.g. message, cmd")] = None
    since: Annotated[int | None, Meta(description="ms since epoch: only messages at or after it")] = None
    until: Annotated[int | None, Meta(description="ms since epoch: only messages before it")] = None
    limit: Annotated[int, Meta(ge=1, le=200, description="default 20")] | None = None
    cursor: Annotated[str | None, Meta(description="the previous page's nextCursor")] = None
    mode: Annotated[
        Literal["keyword", "semantic", "hybrid"] | None,
        Meta(
            description="keyword (default), semantic (by meaning: the embeddings of docs/semantic.md) or "
            "hybrid (both, fused by reciprocal rank); semantic and hybrid are answered by the indexer"
        ),
    ] = None


class SearchHit(Reply):
    threadId: str
    key: str
    seq: int | float
    ts: int | None
    role: str
    kind: str
    source: str | None
    title: Annotated[str | None, Meta(description="the thread's title")]
    cwd: str | None
    score: Annotated[
        float,
        Meta(description="higher is better: BM25 (keyword), cosine (semantic) or fused rank (hybrid)"),
    ]
    field: Annotated[str, Meta(description="where it matched: text or data")]
    snippet: Annotated[str, Meta(description="the matched text, the matches between [ and ]")]
    highlights: Annotated[list[list[int]], Meta(description="[start, end) of each match in the snippet")]


class SearchResults(Reply):
    hits: list[SearchHit]
    nextCursor: str | None


SEARCH: Verb[Search, SearchResults] = VERBS.declare(
    "search",
    Search,
    SearchResults,
    LOCAL,
    "search every stored message, best first (modes semantic and hybrid: answered by the indexer)",
)

# -- semantic search, answered by the indexer (docs/semantic.md) --------------------------------------

SEARCH_SEMANTIC: Verb[Search, SearchResults] = VERBS.declare(
    "search.semantic",
    Search,
    SearchResults,
    INDEXER,
    "`search` in mode semantic or hybrid (the gateway forwards those here; mode keyword is refused)",
)


class Similar(Args):
    threadId: Annotated[str, Meta(min_length=1, description="a thread id or a unique prefix (6+ characters)")]
    limit: Annotated[int, Meta(ge=1, le=100, description="default 10")] | None = None


class SimilarThread(Reply):
    threadId: str
    score: Annotated[float, Meta(description="cosine of the thread vectors (mean of their message vectors)")]
    title: str | None
    source: str | None
    cwd: str | None
    updatedAt: int | None


class SimilarThreads(Reply):
    threadId: Annotated[str, Meta(description="the thread asked about (a prefix resolved)")]
    threads: list[SimilarThread]


SIMILAR: Verb[Similar, SimilarThreads] = VERBS.declare(
    "similar", Similar, SimilarThreads, INDEXER, "threads like this one, most similar first (embeddings)"
)

# -- token usage and cost, answered by the gateway from the local store (docs/usage.md) -------------


class UsageSummaryArgs(Args):
    by: Annotated[
        Literal["day", "model", "source", "project", "thread"] | None,
        Meta(description="one group per day (local), model, source, project folder (cwd) or thread"),
    ] = None
    since: Annotated[int | None, Meta(description="ms since epoch: only usage at or after it")] = None


class UsageTotals(Reply):
    inputTokens: Annotated[int, Meta(description="input tokens, cached and cache-write included")]
    cachedInputTokens: int
    cacheWriteInputTokens: int
    outputTokens: Annotated[int, Meta(description="output tokens, reasoning included")]
    reasoningOutputTokens: int
    totalTokens: int
    costUsd: Annotated[
        float | None, Meta(description="estimated cost of the priced tokens; null: none priced")
    ]
    unpricedTokens: Annotated[int, Meta(description="tokens of models with no price (not in costUsd)")]
    unpricedModels: list[str]
    responses: Annotated[int, Meta(description="model responses counted")]
    threads: int


class UsageGroup(UsageTotals):
    key: Annotated[str, Meta(description="the day (YYYY-MM-DD), model, source, folder or thread id")]
    label: Annotated[str | None, Meta(description="a thread's title (by thread), else null")]


class UsageSummary(Reply):
    total: UsageTotals
    groups: Annotated[list[UsageGroup], Meta(description="empty without `by`")]
    by: str | None
    since: int | None


USAGE_SUMMARY: Verb[UsageSummaryArgs, UsageSummary] = VERBS.declare(
    "usage.summary",
    UsageSummaryArgs,
    UsageSummary,
    LOCAL,
    "tokens and estimated cost, in total and by day/model/source/project/thread (as `oa-supervisor usage`)",
)

# -- Convex (convex_writer, convex_backend) ----------------------------------------------------------


class BackendStatus(Reply):
    """The Convex deployment (`convex_backend`); only `state` and `lastError` when it cannot answer."""

    state: str
    lastError: str | None
    mode: str | UnsetType = UNSET
    url: str | UnsetType | None = UNSET
    healthy: bool | UnsetType = UNSET
    pid: int | UnsetType | None = UNSET
    restarts: int | UnsetType = UNSET
    detail: str | UnsetType | None = UNSET
    deploy: str | UnsetType = UNSET
    deployError: str | UnsetType | None = UNSET
    deployedHash: str | UnsetType | None = UNSET
    uptime: float | UnsetType | None = UNSET


class Outbox(Reply):
    pending: int
    quarantined: int


class Lag(Reply):
    rows: int
    seconds: float


class ConvexStatus(Reply):
    """The outbox and its drain (`convex_writer`); the drain's fields only when Convex is configured."""

    configured: bool
    mode: str
    outbox: Outbox
    detail: str | UnsetType = UNSET
    url: str | UnsetType = UNSET
    state: (
        Annotated[
            str,
            Meta(description="connected | unavailable | unauthorized | misconfigured (paused: outbox kept)"),
        ]
        | UnsetType
    ) = UNSET
    connected: bool | UnsetType = UNSET
    pausedSince: Annotated[float | None, Meta(description="epoch s the drain paused")] | UnsetType = UNSET
    nextProbeIn: (
        Annotated[float | None, Meta(description="s until a paused drain tries again")] | UnsetType
    ) = UNSET
    lag: Lag | UnsetType = UNSET
    sentRows: int | UnsetType = UNSET
    batches: int | UnsetType = UNSET
    ratePerSecond: float | UnsetType = UNSET
    retries: int | UnsetType = UNSET
    quarantined: int | UnsetType = UNSET
    lastError: str | UnsetType | None = UNSET
    lastErrorAt: float | UnsetType | None = UNSET
    lastSuccessAgo: float | UnsetType | None = UNSET
    backend: Annotated[BackendStatus, Meta(description="the `convex.backend` reply")] | UnsetType = UNSET


CONVEX_BACKEND: Verb[NoArgs, BackendStatus] = VERBS.declare(
    "convex.backend", NoArgs, BackendStatus, BACKEND, "the Convex deployment", public=False
)


class QuarantineRequeued(Reply):
    requeued: Annotated[int, Meta(description="quarantined rows put back into the outbox")]


CONVEX_RETRY_QUARANTINE: Verb[NoArgs, QuarantineRequeued] = VERBS.declare(
    "convex.retry_quarantine",
    NoArgs,
    QuarantineRequeued,
    WRITER,
    "send the rows Convex refused again (`oa-supervisor convex retry-quarantine`)",
    public=False,
)
CONVEX_STATUS: Verb[NoArgs, ConvexStatus] = VERBS.declare(
    "convex.status",
    NoArgs,
    ConvexStatus,
    WRITER,
    "the outbox, its drain, and the Convex deployment",
    parts=(("backend", CONVEX_BACKEND),),
)

# -- session files (sessions_tailer) --------------------------------------------------------------------


class BackfillStarted(Reply):
    started: bool
    backfill: BackfillProgress


class SessionsBackfill(Args):
    sessions: Annotated[str | None, Meta(description="a folder (default: the watched roots)")] = None


class WatchStatus(Reply):
    watching: bool
    roots: list[str]
    watched: list[str]
    files: int
    openFiles: int
    errors: Annotated[dict[str, int], Meta(description="lines skipped, by reason")]
    skipped: Annotated[
        dict[str, int], Meta(description="files not tailed, by reason (fifo, symlink_loop, ...)")
    ]
    watchFailures: Annotated[int, Meta(description="folders that could not be watched (rescans cover them)")]
    rowsTruncated: Annotated[int, Meta(description="rows cut to fit a bus frame")]
    snapshotsDropped: Annotated[int, Meta(description="checkpoints sent without their tail snapshot")]
    resets: int
    rows: int
    batches: int
    bytes: int
    backfill: BackfillProgress
    folderScans: Annotated[int, Meta(description="folder listings done for folder events")] = 0
    urgentBatches: Annotated[
        int, Meta(description="batches of live rows sent ahead of the writer's queue during a backfill")
    ] = 0


CONVEX_BACKFILL: Verb[NoArgs, BackfillStarted] = VERBS.declare(
    "convex.backfill",
    NoArgs,
    BackfillStarted,
    TAILER,
    "re-import every session file now (progress: backfill.progress events)",
)
SESSIONS_BACKFILL: Verb[SessionsBackfill, BackfillStarted] = VERBS.declare(
    "sessions.backfill",
    SessionsBackfill,
    BackfillStarted,
    TAILER,
    "import the session files of a folder now (`oa-supervisor backfill`)",
    public=False,
)
WATCH_STATUS: Verb[NoArgs, WatchStatus] = VERBS.declare(
    "sessions.watch_status", NoArgs, WatchStatus, TAILER, "the sessions watcher and the backfill progress"
)

# -- projects and skills (fs_syncer) ---------------------------------------------------------------


class ProjectsListed(Reply):
    projects: list[ProjectRow]
    errors: Annotated[
        list[Annotated[Object, Meta(title="{path, field, reason, uid}")]], Meta(description="files skipped")
    ]


class ProjectSave(Args):
    project: Annotated[
        Object,
        Meta(description="the project: name, workingDir, optional id (default: from the name), body, ..."),
    ]


class ProjectSaved(Reply):
    saved: bool
    path: str
    project: ProjectRow | None


class ProjectDelete(Args):
    projectId: Annotated[NonBlank, Meta(description="the project's id (`id` is the request id)")]


class ProjectDeleted(Reply):
    deleted: bool


class Skills(Args):
    projectId: Annotated[str | None, Meta(description="only that project's skills")] = None


class SkillsListed(Reply):
    skills: list[SkillRow]


class ProjectGet(Args):
    id: str


class ProjectFound(Reply):
    project: ProjectRow | None


PROJECTS: Verb[NoArgs, ProjectsListed] = VERBS.declare(
    "projects", NoArgs, ProjectsListed, FS, "the projects under ~/.openagents/projects"
)
PROJECT_SAVE: Verb[ProjectSave, ProjectSaved] = VERBS.declare(
    "project.save", ProjectSave, ProjectSaved, FS, "create or update a project file"
)
PROJECT_DELETE: Verb[ProjectDelete, ProjectDeleted] = VERBS.declare(
    "project.delete", ProjectDelete, ProjectDeleted, FS, "delete a project file"
)
SKILLS: Verb[Skills, SkillsListed] = VERBS.declare(
    "skills", Skills, SkillsListed, FS, "the skills (personal, registry and projects')"
)
PROJECT_GET: Verb[ProjectGet, ProjectFound] = VERBS.declare(
    "project.get", ProjectGet, ProjectFound, FS, "one project (the runner: its working dir)", public=False
)

# -- paired devices (the gateway; admin devices only: docs/protocol.md, "Pairing and devices") -------


class DevicesList(NoArgs):
    pass


class DeviceInfo(Reply):
    name: str
    admin: bool
    state: Literal["active", "expired", "revoked"]
    createdAt: Annotated[int, Meta(description="ms since the epoch")]
    lastSeenAt: int | None
    expiresAt: int | None
    revokedAt: int | None


class DeviceList(Reply):
    devices: list[DeviceInfo]
    you: Annotated[str | None, Meta(description="the asking device's name")]


class DevicesRevoke(Args):
    name: NonBlank


class DeviceRevoked(Reply):
    name: str
    closed: Annotated[int, Meta(description="its connections closed now (1008)")]


DEVICES_LIST: Verb[DevicesList, DeviceList] = VERBS.declare(
    "devices.list", DevicesList, DeviceList, LOCAL, "the paired devices, never their tokens (admin devices)"
)
DEVICES_REVOKE: Verb[DevicesRevoke, DeviceRevoked] = VERBS.declare(
    "devices.revoke",
    DevicesRevoke,
    DeviceRevoked,
    LOCAL,
    "lock a device out now: its connections and web sessions close, its token gets 401 (admin devices)",
)
