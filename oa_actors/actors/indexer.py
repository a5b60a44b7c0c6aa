"""`indexer`: embeds new message text in the background for semantic search (docs/semantic.md).

A loop (supervised, `ctx.spawn`) runs `Indexing.step` (oa_actors/semantic/indexing.py) in a worker
thread until the backlog is empty, then sleeps until the writer publishes new messages (or 5 s).
The process runs at low priority (`os.nice`) with one compute thread, so the live mirror (writer,
tailer) keeps the machine; its commits are a few milliseconds, so the writer's seldom wait.

It also answers the semantic verbs (`search` in mode semantic/hybrid, delegated by the gateway, and
`similar`) with the model it already holds. Off (`state: off`) with `OPENAGENTS_EMBEDDINGS=0`;
`unavailable` (with the reason) when the `semantic` extra is not installed: the product then serves
keyword search only. `status` shows the state, backlog, rate and counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import Any, ClassVar

from oa_actors import messages as m
from oa_actors.actors._base import LifecycleActor, ask_when_ready
from oa_actors.runtime.actor import Context
from oa_actors.runtime.codec import Message
from oa_actors.semantic import model_status
from oa_actors.semantic.schema import GRAPH_FILE
from oa_actors.verbs import catalog as c
from oa_actors.verbs.dispatch import VerbFailure, VerbTable
from oa_actors.verbs.registry import ErrorCode

NICE = 10
IDLE_POLL_SECONDS = 5.0
BACKLOG_EVERY_SECONDS = 5.0
SAVE_SECONDS = 60.0


class Indexer(LifecycleActor):
    """Owns the embedder; keeps the store's vectors in step with its messages."""

    verbs: ClassVar[VerbTable[Indexer]] = VerbTable(m.INDEXER)

    state = "starting"
    reason: str | None = None

    async def setup(self, ctx: Context) -> None:
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._searches: asyncio.Task[None] | None = None
        self.indexing: Any = None
        self.searcher: Any = None
        self.backlog: int | None = None
        self.vectors = 0
        if not ctx.config.embeddings:
            self.state, self.reason = "off", "OPENAGENTS_EMBEDDINGS is false"
            ctx.log.info("embeddings are off: search is keyword only")
            return
        status = model_status()
        if not status.available:
            self.state, self.reason = "unavailable", status.reason
            ctx.log.warning("semantic search unavailable (%s): search is keyword only", status.reason)
            return
        await ctx.subscribe(m.TOPIC_MESSAGES)
        # Loading the model takes seconds: in the loop's task, so the actor is up meanwhile.
        self._ready = asyncio.Event()
        self._task = ctx.spawn(self._run(), "indexer-loop")
        self._searches = ctx.spawn(self._serve_searches(), "indexer-searcher")

    def _open(self) -> None:
        from oa_actors.semantic import EmbeddingsUnavailable
        from oa_actors.semantic.embedder import Embedder
        from oa_actors.semantic.indexing import Indexing, connect

        try:
            embedder = Embedder.open(threads=1, cache_dir=self.ctx.config.home / "models")
        except EmbeddingsUnavailable as exc:
            self.state, self.reason = "unavailable", exc.reason
            self.ctx.log.warning("semantic search unavailable (%s): search is keyword only", exc.reason)
            return
        conn = connect(self.ctx.config.store_path)
        self.indexing = Indexing(conn, embedder)
        self.backlog = self.indexing.backlog()
        self.state = "indexing"

    async def _serve_searches(self) -> None:
        """Builds the searcher (a large store's HNSW graph: loaded, or rebuilt in minutes, while
        embedding goes on), then saves the graph every minute when it grew (a restart loads it)."""
        from oa_actors.semantic.query import SemanticSearcher

        await self._ready.wait()  # the model is loaded (never set when it cannot be)
        cfg = self.ctx.config
        embedder = self.indexing.embedder
        self.searcher = await asyncio.to_thread(
            SemanticSearcher.open, cfg.store_path, embedder, cfg.home / GRAPH_FILE
        )
        while True:
            await asyncio.sleep(SAVE_SECONDS)
            if await asyncio.to_thread(self.searcher.save_graph):
                self.ctx.log.info("saved the vector graph (%d vectors)", len(self.searcher.index))

    async def _run(self) -> None:
        # The writer opens (and migrates) the store: wait for it before opening our connection.
        await ask_when_ready(self.ctx, m.WRITER, m.GetCheckpoints(), m.Checkpoints)
        self.state = "loading"
        await asyncio.to_thread(self._open)
        # Low priority from here on (the whole process): embedding yields the CPU to the live mirror.
        # Not while loading: the model's load holds the GIL in C calls, and at a low priority on a
        # busy machine they would outlast the supervisor's health timeout.
        with contextlib.suppress(OSError):
            os.nice(NICE)
        if self.indexing is None:  # the model could not be loaded: nothing to do, ever
            await asyncio.Event().wait()
        self._ready.set()
        last_backlog = 0.0
        while True:
            # A failed batch committed nothing: the actor crashes (the error shows in `status`) and
            # its restart redoes the batch from the checkpoint.
            result = await asyncio.to_thread(self.indexing.step)
            now = time.monotonic()
            if result is not None:
                self.vectors += result.added
                if now - last_backlog > BACKLOG_EVERY_SECONDS:
                    self.backlog = await asyncio.to_thread(self.indexing.backlog)
                    last_backlog = now
                continue
            self.backlog = 0
            self.state = "idle"
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(IDLE_POLL_SECONDS):
                    await self._wake.wait()
            self.state = "indexing"

    async def on_stop(self) -> None:
        for task in (self._task, self._searches):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.indexing is not None:
            self.indexing.conn.close()
        if self.searcher is not None:
            self.searcher.close()
        await super().on_stop()

    async def on_message(self, msg: Message, sender: str) -> Message | None:
        if isinstance(msg, m.RowsCommitted):
            self.messages += 1
            self._wake.set()
            return None
        if isinstance(msg, m.VerbRequest):
            self.messages += 1
            return await self.verbs.dispatch(self, msg)
        return await super().on_message(msg, sender)

    def _searcher(self) -> Any:
        if self.searcher is None:
            raise VerbFailure(
                ErrorCode.UNAVAILABLE, f"semantic search is {self.state}: {self.reason or 'not ready yet'}"
            )
        return self.searcher

    @verbs.handles(c.SEARCH_SEMANTIC)
    async def _search(self, args: c.Search) -> c.SearchResults:
        from oa_actors.semantic.query import SemanticError

        searcher = self._searcher()
        try:
            page = await asyncio.to_thread(searcher.search_args, args)
        except SemanticError as exc:
            raise VerbFailure(ErrorCode.BAD_REQUEST, exc.message) from None
        return c.SearchResults(**page)

    @verbs.handles(c.SIMILAR)
    async def _similar(self, args: c.Similar) -> c.SimilarThreads:
        from oa_actors.semantic.query import SemanticError

        searcher = self._searcher()
        try:
            found = await asyncio.to_thread(searcher.similar, args.threadId, args.limit or 10)
        except SemanticError as exc:
            raise VerbFailure(ErrorCode.BAD_REQUEST, exc.message) from None
        return c.SimilarThreads(
            threadId=found.thread_id, threads=[c.SimilarThread(**t) for t in found.threads]
        )

    def details(self) -> dict[str, Any]:
        msgs, chunks = self.indexing.rate.per_second() if self.indexing is not None else (0.0, 0.0)
        out: dict[str, Any] = {
            "state": self.state,
            "backlog": self.backlog,
            "messagesPerSecond": round(msgs, 2),
            "chunksPerSecond": round(chunks, 2),
            "vectorsAdded": self.vectors,
        }
        if self.reason:
            out["reason"] = self.reason
        if self.indexing is not None:
            out["embeddedMessages"] = self.indexing.embedded_rows
        backlog = "?" if self.backlog is None else str(self.backlog)
        out["summary"] = f"{self.state}: backlog {backlog} messages, {msgs:.1f} messages/s" + (
            f" ({self.reason})" if self.reason else ""
        )
        return out
