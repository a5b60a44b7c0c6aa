"""`convex_writer`: owns the local store (the only writer) and drains its outbox into Convex.

- `RowBatch` (from the tailer, at-least-once; during a backfill several files merged into one):
  applied idempotently with all its checkpoints in one transaction, then acknowledged (the
  runtime acks `deliver`ed messages after this handler returns), then the new rows are published
  per table for the WS gateway.
- `FsChanges` (from the FS syncer) and `RunUpdate` (from the runner): the same, for their tables.
- The drain runs in the background whenever a Convex deployment is configured (local binary or
  OPENAGENTS_CONVEX_URL); without one the backlog simply waits in the outbox. While Convex refuses
  the key or the set-up the drain pauses and re-reads the target (a fixed key file is picked up).
- Verbs: `convex.status`, `convex.retry_quarantine` (quarantined rows back into the outbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, ClassVar

import msgspec

from oa_actors import messages as m
from oa_actors.actors._base import LifecycleActor
from oa_actors.convex import backend, quarantine
from oa_actors.convex.client import ConvexHttpClient
from oa_actors.convex.drain import OutboxDrain
from oa_actors.machine import machine
from oa_actors.runtime.actor import Context
from oa_actors.runtime.codec import Message
from oa_actors.store import Store, fs_tables, runs_table
from oa_actors.verbs import catalog as c
from oa_actors.verbs.dispatch import VerbTable
from oa_actors.verbs.registry import NoArgs

# The full-text index is merged once no rows arrived for this long (store.merge_index).
MERGE_IDLE_SECONDS = 1.0


class ConvexWriter(LifecycleActor):
    """Applies batches to the store, publishes committed rows, drains the outbox."""

    verbs: ClassVar[VerbTable[ConvexWriter]] = VerbTable(m.WRITER)

    store: Store
    drain: OutboxDrain | None = None
    client: ConvexHttpClient | None = None
    target: backend.Target | None = None

    async def setup(self, ctx: Context) -> None:
        # In a thread: a schema migration of a big store (building the search index) takes a while,
        # and the event loop must keep answering health pings meanwhile.
        self.store = await asyncio.to_thread(Store.open, ctx.config.store_path)
        self.applied = 0
        self.index_merges = 0
        self._last_rows = time.monotonic()
        self._merge_due = asyncio.Event()
        # A writer that starts (or restarts after a kill mid-backfill) merges what was left unmerged.
        self._merge_due.set()
        self._merge_task = ctx.spawn(self._merge_index_when_idle(), "search-index-merge")
        self._drain_task: asyncio.Task[None] | None = None
        self.target = backend.target(ctx.config)
        if self.target is not None:
            self.client = ConvexHttpClient(self.target.url, self.target.admin_key)
            self.drain = OutboxDrain(
                self.store, self.client, refresh=self._current_target, machine=machine(ctx.config)
            )
            self._drain_task = ctx.spawn(self.drain.run(), "convex-drain")
            ctx.log.info("draining the outbox to Convex at %s (%s)", self.target.url, self.target.mode)
        else:
            # The start banner says so once (runtime/banner.py).
            ctx.log.debug("no Convex deployment configured: rows stay in the local store's outbox")

    async def _current_target(self) -> tuple[str, str | None] | None:
        """The URL and key configured now (a paused drain calls this to notice a fixed key)."""
        fresh = await asyncio.to_thread(backend.target, self.ctx.config)
        if fresh is None:
            return None
        self.target = fresh
        return fresh.url, fresh.admin_key

    async def on_stop(self) -> None:
        self._merge_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._merge_task
        if self._drain_task is not None:
            self._drain_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drain_task
        if self.client is not None:
            await self.client.close()
        self.store.close()
        await super().on_stop()

    async def on_message(self, msg: Message, sender: str) -> Message | None:
        self.messages += 1
        if isinstance(msg, m.RowBatch):
            await self._rows(msg)
            return None
        if isinstance(msg, m.FsChanges):
            await self._fs(msg)
            return None
        if isinstance(msg, m.RunUpdate):
            runs_table.upsert_run(self.store, msg.run)
            self._wake()
            return None
        if isinstance(msg, m.GetCheckpoints):
            items = {p: v for p in self.store.checkpoints() if (v := self.store.checkpoint(p)) is not None}
            return m.Checkpoints(items=items)
        if isinstance(msg, m.DropCheckpoint):
            self.store.delete_checkpoint(msg.path)
            return None
        if isinstance(msg, m.GetFsRows):
            return m.FsRows(
                projects=fs_tables.projects(self.store),
                skills=fs_tables.skills(self.store),
                project_paths=fs_tables.project_paths(self.store),
            )
        if isinstance(msg, m.GetSessions):
            return m.Sessions(items=runs_table.sessions(self.store))
        if isinstance(msg, m.VerbRequest):
            return await self.verbs.dispatch(self, msg)
        return await super().on_message(msg, sender)

    async def _rows(self, batch: m.RowBatch) -> None:
        applied = self.store.apply_batch(
            batch.threads, batch.messages, checkpoints=batch.all_checkpoints(), fts=batch.fts
        )
        self.applied += len(applied.messages)
        if applied.messages:
            self._last_rows = time.monotonic()
            self._merge_due.set()
        if applied.threads:
            await self.ctx.publish(m.TOPIC_THREADS, m.RowsCommitted(table="threads", rows=applied.threads))
        if applied.messages:
            await self.ctx.publish(m.TOPIC_MESSAGES, m.RowsCommitted(table="messages", rows=applied.messages))
            self._wake()

    async def _merge_index_when_idle(self) -> None:
        """Merge the full-text index's segments once no rows arrived for `MERGE_IDLE_SECONDS`, one
        small step at a time (a few ms each) with the event loop free in between, so a batch that
        arrives waits for one step at most. Writes never merge (search_index.AUTOMERGE)."""
        while True:
            await self._merge_due.wait()
            quiet = time.monotonic() - self._last_rows
            if quiet < MERGE_IDLE_SECONDS:
                await asyncio.sleep(MERGE_IDLE_SECONDS - quiet)
                continue
            if self.store.merge_index():
                self.index_merges += 1
                await asyncio.sleep(0)
            else:
                self._merge_due.clear()

    async def _fs(self, c: m.FsChanges) -> None:
        fs_tables.apply_fs(
            self.store, c.project_upserts, c.project_removals, c.skill_upserts, c.skill_removals
        )
        if c.project_upserts or c.project_removals:
            await self.ctx.publish(
                m.TOPIC_PROJECTS,
                m.RowsCommitted(
                    table="projects", rows=[r for r, _ in c.project_upserts], removed=list(c.project_removals)
                ),
            )
        if c.skill_upserts or c.skill_removals:
            await self.ctx.publish(
                m.TOPIC_SKILLS,
                m.RowsCommitted(
                    table="skills", rows=[r for _, r, _ in c.skill_upserts], removed=list(c.skill_removals)
                ),
            )
        self._wake()

    def _wake(self) -> None:
        if self.drain is not None:
            self.drain.wake()

    @verbs.handles(c.CONVEX_RETRY_QUARANTINE)
    async def _retry_quarantine(self, args: NoArgs) -> c.QuarantineRequeued:
        requeued = quarantine.requeue(self.store)
        self.ctx.log.info("re-queued %d quarantined rows for Convex", requeued)
        self._wake()
        return c.QuarantineRequeued(requeued=requeued)

    @verbs.handles(c.CONVEX_STATUS)
    async def _convex_status(self, args: NoArgs) -> c.ConvexStatus:
        return msgspec.convert(self.convex_status(), c.ConvexStatus)

    def convex_status(self) -> dict[str, Any]:
        """What `convex.status` reports: where Convex is, whether the drain keeps up, errors."""
        outbox = {
            "pending": self.store.outbox_last_id() - self.store.outbox_cursor(),
            "quarantined": self.store.count("quarantine"),
        }
        if self.target is None or self.drain is None:
            return {
                "configured": False,
                "mode": "none",
                "outbox": outbox,
                "detail": "no Convex backend binary or OPENAGENTS_CONVEX_URL: rows wait in the local outbox",
            }
        s = self.drain.status
        return {
            "configured": True,
            "mode": self.target.mode,
            "url": self.target.url,
            "state": s.state,
            "connected": s.connected,
            "pausedSince": s.paused_since or None,
            "nextProbeIn": round(max(0.0, s.next_probe_at - time.time()), 1) if s.paused else None,
            "lag": self.drain.lag(),
            "outbox": outbox,
            "sentRows": s.sent_rows,
            "batches": s.batches,
            "ratePerSecond": round(s.rate_rows_per_s, 1),
            "retries": s.retries,
            "batchRows": self.drain.size.rows,
            "batchTimeouts": self.drain.size.shrinks,
            "quarantined": s.quarantined,
            "lastError": s.last_error,
            "lastErrorAt": s.last_error_at or None,
            "lastSuccessAgo": round(time.time() - s.last_success_at, 1) if s.last_success_at else None,
        }

    def details(self) -> dict[str, Any]:
        return {
            "store": str(self.ctx.config.store_path),
            "applied": self.applied,
            "indexMerges": self.index_merges,
            "convex": self.convex_status() if hasattr(self, "store") else None,
        }
