"""`sessions_tailer`: owns file offsets and watches of `$CODEX_HOME/sessions` and `<claude_home>/projects`.

Rows go to the writer with `deliver` (at-least-once, retransmitted if the writer restarts); the
writer commits each batch with its checkpoint, so the tailer never holds state that the store
does not. After a restart the tailer resumes from the writer's committed checkpoints.
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


class SessionsTailer(LifecycleActor):
    """Mirrors every session file below the watched roots into the store."""

    verbs: ClassVar[VerbTable[SessionsTailer]] = VerbTable(m.TAILER)
    service: TailerService | None = None

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

        self.service = TailerService(
            self.roots(ctx),
            self._send,
            on_forget=self._forget,
            on_progress=self._progress,
            source_of=source_of,
            spawn=ctx.spawn,
        )
        await self.service.start(checkpoints)

    async def _checkpoints(self, ctx: Context) -> dict[str, tuple[int, bytes | None]]:
        reply = await ask_when_ready(ctx, m.WRITER, m.GetCheckpoints(), m.Checkpoints)
        assert isinstance(reply, m.Checkpoints)
        return dict(reply.items)

    async def _send(self, batch: m.RowBatch) -> None:
        try:
            await self.ctx.deliver(m.WRITER, batch)
        except ConnectionResetError:
            # The link to the writer closed while waiting for it to drain: the batch is already
            # in the unacknowledged buffer and is resent when the writer is back (ActorUp).
            self.ctx.log.debug("the writer went away; the batch waits for its retransmission")

    async def _forget(self, path: str) -> None:
        await self.ctx.deliver(m.WRITER, m.DropCheckpoint(path=path))

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
            "rowsTruncated": svc.core.stats.rows_truncated,
            "snapshotsDropped": svc.core.stats.snapshots_dropped,
            "resets": svc.core.stats.resets,
            "rows": svc.core.stats.rows,
            "batches": svc.core.stats.batches,
            "bytes": svc.core.stats.bytes,
            "backfill": msgspec.structs.asdict(svc.progress),
        }

    def details(self) -> dict[str, Any]:
        return self.watch_status()
