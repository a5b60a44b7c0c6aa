"""`sessions_tailer`: owns file offsets and watches of `$CODEX_HOME/sessions` and `<claude_home>/projects`.

Rows go to the writer with `deliver` (at-least-once, retransmitted if the writer restarts); the
writer commits each batch with its checkpoint, so the tailer never holds state that the store
does not. After a restart the tailer resumes from the writer's committed checkpoints.
Backfill batches go through a send window (`WriterLane`) and rows from a live read skip the
writer's queue when that is safe, so a session being written is committed within milliseconds
even while a backfill keeps the writer busy (docs/runtime.md, "Live rows during a backfill").
Verbs: `convex.backfill` / `sessions.backfill` (start a backfill now), `sessions.watch_status`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import msgspec

from oa_actors import jsonl
from oa_actors import messages as m
from oa_actors.actors._base import LifecycleActor, ask_when_ready
from oa_actors.runtime.actor import Context
from oa_actors.runtime.codec import Message
from oa_actors.tailer.service import TailerService
from oa_actors.verbs import catalog as c
from oa_actors.verbs.dispatch import VerbTable
from oa_actors.verbs.events import BackfillProgress
from oa_actors.verbs.registry import NoArgs

_PROBE = (
    b'{"type":"queue-operation","operation":"dequeue","timestamp":"2026-01-01T00:00:00.000Z",'
    b'"sessionId":"probe"}\n'
)


def implementation_reads_claude() -> bool:
    """Whether the active JSONL implementation detects Claude Code session files.

    (The native port may not yet.)"""
    tail = jsonl.JsonlTail("/probe/claude.jsonl")
    tail.feed(_PROBE, final=True)
    detected: str | None = tail.format
    return detected == "claude"


class WriterLane:
    """The tailer's data path to the writer.

    - A send window for the backfill (`BackfillGate`): the next backfill file is read only while
      less than the window sent to the writer is unacknowledged, so the writer's queue stays
      short (and the tailer's memory bounded) however far the reading runs ahead.
    - A live batch is sent `urgent` (handled before the writer's queue) unless an earlier message
      about one of its files is still unacknowledged and was not urgent itself (urgent messages
      keep their order among themselves): per file, order is what keeps checkpoints and thread
      rows from moving backwards, so such a batch waits its turn instead.
    """

    PRUNE_AT = 4096

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        # path -> (seq, urgent) of the last message about it; seq None until `deliver` returns
        self._last: dict[str, tuple[int | None, bool]] = {}
        self.urgent = 0  # live batches sent ahead of the queue (status: urgentBatches)

    def is_open(self, window: int) -> bool:
        return self.ctx.unacked_bytes(m.WRITER) < window

    async def wait(self, window: int) -> None:
        await self.ctx.wait_unacked_below(m.WRITER, window)

    def _settled(self, path: str) -> bool:
        """Whether nothing sent about `path` is still waiting, or only urgent messages are."""
        seq, urgent = self._last.get(path, (0, True))
        return seq is not None and (urgent or self.ctx.acked(m.WRITER, seq))

    def _acked(self, path: str) -> bool:
        seq, _ = self._last[path]
        return seq is not None and self.ctx.acked(m.WRITER, seq)

    async def send(self, msg: Message, paths: list[str], live: bool) -> None:
        urgent = live and all(self._settled(p) for p in paths)
        for p in paths:
            self._last[p] = (None, urgent)  # unknown until deliver returns its number
        seq = await self.ctx.deliver(m.WRITER, msg, urgent=urgent)
        self.urgent += urgent
        for p in paths:
            self._last[p] = (seq, urgent)
        if len(self._last) > self.PRUNE_AT:
            self._last = {p: v for p, v in self._last.items() if not self._acked(p)}


def batch_paths(batch: m.RowBatch) -> list[str]:
    """Every file a batch carries rows or a checkpoint of (a merged batch's files all have their
    checkpoint in it, except the last one's first parts, whose path is the batch's own)."""
    return [batch.path, *(c[0] for c in batch.checkpoints)]


class SessionsTailer(LifecycleActor):
    """Mirrors every session file below the watched roots into the store."""

    verbs: ClassVar[VerbTable[SessionsTailer]] = VerbTable(m.TAILER)
    service: TailerService | None = None
    lane: WriterLane | None = None

    def roots(self, ctx: Context) -> list[Path]:
        """`$CODEX_HOME/sessions`, plus `<claude_home>/projects` unless OPENAGENTS_WATCH_CLAUDE=0.

        A root that does not exist yet is still returned: the service watches for it to appear.
        """
        roots = [ctx.config.sessions_dir]
        claude = self.claude_root(ctx)
        if claude is not None:
            roots.append(claude)
        return roots

    def claude_root(self, ctx: Context) -> Path | None:
        projects = ctx.config.claude_projects_dir
        if projects is None:
            return None
        if not implementation_reads_claude():
            # Reading Claude files with an implementation that cannot map them would checkpoint them at
            # their end with no rows, and they would never be mirrored once it can: do not watch.
            ctx.log.warning(
                "the %s JSONL implementation cannot read Claude Code files yet: not watching %s "
                "(OA_JSONL_BACKEND=python reads them)",
                jsonl.IMPLEMENTATION,
                projects,
            )
            return None
        return projects

    async def setup(self, ctx: Context) -> None:
        checkpoints = await self._checkpoints(ctx)
        if await ctx.link(m.WRITER):
            ctx.log.debug("direct link to the writer for row batches")
        claude = self.claude_root(ctx)
        prefix = None if claude is None else str(claude).rstrip("/") + "/"

        def source_of(path: str) -> str:
            return "claude" if prefix is not None and path.startswith(prefix) else "codex"

        self.lane = WriterLane(ctx)
        self.service = TailerService(
            self.roots(ctx),
            self._send,
            on_forget=self._forget,
            on_progress=self._progress,
            source_of=source_of,
            spawn=ctx.spawn,
            gate=self.lane,
        )
        await self.service.start(checkpoints)

    async def _checkpoints(self, ctx: Context) -> dict[str, tuple[int, bytes | None]]:
        reply = await ask_when_ready(ctx, m.WRITER, m.GetCheckpoints(), m.Checkpoints)
        assert isinstance(reply, m.Checkpoints)
        return dict(reply.items)

    async def _send(self, batch: m.RowBatch) -> None:
        assert self.lane is not None and self.service is not None
        try:
            await self.lane.send(batch, batch_paths(batch), live=self.service.reading_live)
        except ConnectionResetError:
            # The link to the writer closed while waiting for it to drain: the batch is already
            # in the unacknowledged buffer and is resent when the writer is back (ActorUp).
            self.ctx.log.debug("the writer went away; the batch waits for its retransmission")

    async def _forget(self, path: str) -> None:
        assert self.lane is not None
        await self.lane.send(m.DropCheckpoint(path=path), [path], live=False)

    async def _progress(self, p: m.BackfillStatus) -> None:
        await self.ctx.publish(m.TOPIC_PROGRESS, p)

    async def on_stop(self) -> None:
        if self.service is not None:
            await self.service.stop()
        await super().on_stop()

    @verbs.handles(c.CONVEX_BACKFILL)
    async def _convex_backfill(self, args: NoArgs) -> c.BackfillStarted:
        return await self._sessions_backfill(c.SessionsBackfill())

    @verbs.handles(c.SESSIONS_BACKFILL)
    async def _sessions_backfill(self, args: c.SessionsBackfill) -> c.BackfillStarted:
        assert self.service is not None
        p = self.service.start_backfill([Path(args.sessions)] if args.sessions else None)
        return c.BackfillStarted(started=True, backfill=BackfillProgress(**msgspec.structs.asdict(p)))

    @verbs.handles(c.WATCH_STATUS)
    async def _watch_status(self, args: NoArgs) -> c.WatchStatus:
        return msgspec.convert(self.watch_status(), c.WatchStatus)

    async def on_message(self, msg: Message, sender: str) -> Message | None:
        if isinstance(msg, m.VerbRequest) and self.service is not None:
            self.messages += 1
            return await self.verbs.dispatch(self, msg)
        return await super().on_message(msg, sender)

    def watch_status(self) -> dict[str, Any]:
        svc = self.service
        if svc is None:
            return {"watching": False}
        return {
            "watching": bool(svc.watched),
            "roots": [str(r) for r in svc.roots],
            "watched": svc.watched,
            "files": len(svc.core.known()),
            "openFiles": svc.core.open_files,
            "errors": dict(svc.core.stats.errors),
            "skipped": dict(svc.core.skipped.counts),
            "watchFailures": svc.watch_failures,
            "folderScans": svc.folder_scans,
            "rowsTruncated": svc.core.stats.rows_truncated,
            "snapshotsDropped": svc.core.stats.snapshots_dropped,
            "resets": svc.core.stats.resets,
            "rows": svc.core.stats.rows,
            "batches": svc.core.stats.batches,
            "bytes": svc.core.stats.bytes,
            "backfill": msgspec.structs.asdict(svc.progress),
            "urgentBatches": self.lane.urgent if self.lane is not None else 0,
        }

    def details(self) -> dict[str, Any]:
        return self.watch_status()
