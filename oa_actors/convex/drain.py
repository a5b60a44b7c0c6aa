"""Draining the store's outbox into Convex: in order, batched, retried, never dropped.

The cursor (last outbox id Convex has) is persisted after each acknowledged batch, so a restart
resends at most one batch; `sync:applyBatch` is idempotent, so a resend changes nothing.

Failures are handled by class (oa_actors/convex/client.py, docs/convex.md):
- transient (network, 5xx, 429): back off and retry the same batch (`unavailable`); after a
  timeout the batch is halved first (down to one row) and grows back after quick successes
  (batch_size.py), so a slow Convex still drains;
- the key or the set-up is refused (401/403, 404, missing function, a proxy's answer): the drain
  pauses (`unauthorized` / `misconfigured`), keeps the outbox and the cursor, quarantines nothing,
  and re-probes with capped backoff; a changed key or URL (from `refresh`) is tried at once;
- a row refused by Convex (argument validation, `DocumentTooLarge`): the batch is split until the
  offending rows are isolated; those are quarantined (kept, counted, reported, retryable), the rest
  goes through.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from oa_actors.convex import embeddings, quarantine
from oa_actors.convex.batch_size import BatchSize
from oa_actors.convex.client import (
    DOCUMENT_TOO_LARGE,
    ConvexFunctionError,
    ConvexHttpClient,
    ConvexRefused,
    ConvexTimeout,
    ConvexUnavailable,
)
from oa_actors.convex.limits import MAX_BATCH_BYTES, MAX_BATCH_ROWS, convex_safe, doc_size, fit_document
from oa_actors.machine import Machine
from oa_actors.runtime.backoff import equal_jitter_delay
from oa_actors.store import Store, fs_tables
from oa_actors.store.store import now_ms

log = logging.getLogger("oa.convex.drain")

BACKOFF_START = 0.5
BACKOFF_MAX = 30.0
PAUSED_STATES = frozenset({"unauthorized", "misconfigured"})
PAUSE_MAX_ATTEMPT = 8  # re-probes of a paused drain back off up to BACKOFF_MAX, then stay there
# A paused drain's probe: needs the key and the function, writes nothing.
PROBE: tuple[str, dict[str, Any]] = ("sync:applyBatch", {"threads": [], "messages": []})

# Returns the (url, admin key) to use now, or None: how a paused drain notices a fixed key.
CredentialsSource = Callable[[], Awaitable[tuple[str, str | None] | None]]


@dataclass
class DrainStatus:
    """What `convex.status` reports about the drain.

    `state`: `starting` (nothing sent yet), `connected`, `unavailable` (retrying with backoff),
    `unauthorized` or `misconfigured` (paused: nothing is sent until a probe succeeds)."""

    state: str = "starting"
    sent_rows: int = 0
    batches: int = 0
    quarantined: int = 0
    retries: int = 0
    last_error: str | None = None
    last_error_at: float = 0.0
    last_success_at: float = 0.0
    rate_rows_per_s: float = 0.0
    paused_since: float = 0.0
    next_probe_at: float = 0.0
    probes: int = 0
    _window: list[tuple[float, int]] = field(default_factory=list, repr=False)

    @property
    def connected(self) -> bool:
        return self.state == "connected"

    @property
    def paused(self) -> bool:
        return self.state in PAUSED_STATES

    def record(self, rows: int) -> None:
        now = time.monotonic()
        self.sent_rows += rows
        self.batches += 1
        self.last_success_at = time.time()
        self._window = [(t, n) for t, n in self._window if now - t < 10.0] + [(now, rows)]
        span = max(now - self._window[0][0], 1.0)
        self.rate_rows_per_s = sum(n for _, n in self._window) / span


@dataclass
class _Item:
    outbox_id: int
    table: str
    key: str
    doc: dict[str, Any] | None
    size: int


class OutboxDrain:
    """Sends every outbox entry after the cursor to Convex (threads and messages)."""

    def __init__(
        self,
        store: Store,
        client: ConvexHttpClient,
        *,
        max_rows: int = MAX_BATCH_ROWS,
        max_bytes: int = MAX_BATCH_BYTES,
        refresh: CredentialsSource | None = None,
        machine: Machine | None = None,
    ) -> None:
        """`machine`: stamped on thread and project rows (several desktops on one deployment)."""
        self.store = store
        self.stamp: dict[str, str] = machine.stamp() if machine else {}
        self.client = client
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.refresh = refresh
        self.size = BatchSize(max_rows, max_bytes, client.timeout)
        self.status = DrainStatus()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """New rows were committed: drain soon."""
        self._wake.set()

    def lag(self) -> dict[str, Any]:
        """Rows not yet in Convex, and the age of the oldest one in seconds."""
        cursor = self.store.outbox_cursor()
        rows = self.store.outbox_last_id() - cursor
        age = 0.0
        nxt = self.store.outbox_after(cursor, 1)
        if nxt and nxt[0][1] == "messages":
            row = self.store.conn.execute(
                "SELECT stored_at FROM messages WHERE key = ?", (nxt[0][2],)
            ).fetchone()
            if row:
                age = max(0.0, (now_ms() - int(row[0])) / 1000)
        return {"rows": rows, "seconds": round(age, 3)}

    async def run(self) -> None:
        """Drain forever: after commits (wake) or every second; back off while Convex is down;
        pause (re-probing with capped backoff) while the key or the set-up is refused."""
        attempt = 0
        while True:
            try:
                if self.status.paused:
                    self.status.probes += 1
                    await self.client.mutation(*PROBE)
                    log.info("Convex accepts the writer again (%s); draining the outbox", self.client.url)
                sent = await self.drain_once()
                self.status.state, self.status.paused_since = "connected", 0.0
                attempt = 0
                if sent:
                    continue
            except ConvexRefused as exc:
                self._pause(exc)
                delay = equal_jitter_delay(min(attempt, PAUSE_MAX_ATTEMPT), BACKOFF_START, BACKOFF_MAX)
                attempt += 1
                if await self._wait_paused(delay):
                    attempt = 0
                continue
            except ConvexTimeout as exc:
                self.status.state = "unavailable"
                self._error(str(exc))
                self.status.retries += 1
                if self.size.rows > 1:
                    continue  # a smaller batch is tried at once: the timeout itself was the wait
                await asyncio.sleep(equal_jitter_delay(attempt, BACKOFF_START, BACKOFF_MAX))
                attempt += 1
                continue
            except ConvexUnavailable as exc:
                self.status.state = "unavailable"
                self._error(str(exc))
                self.status.retries += 1
                delay = equal_jitter_delay(attempt, BACKOFF_START, BACKOFF_MAX)
                attempt += 1
                log.info("Convex unavailable (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._wake.wait()

    def _error(self, msg: str) -> None:
        self.status.last_error = msg
        self.status.last_error_at = time.time()

    def _pause(self, exc: ConvexRefused) -> None:
        if self.status.state != exc.state:
            self.status.paused_since = time.time()
            log.error(
                "Convex refuses the writer (%s): draining paused, the outbox keeps every row: %s",
                exc.state,
                exc,
            )
        self.status.state = exc.state
        self._error(str(exc))

    async def _wait_paused(self, delay: float) -> bool:
        """Sleep until the next probe; True when the credentials changed meanwhile (probe now)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay
        self.status.next_probe_at = time.time() + delay
        while (left := deadline - loop.time()) > 0:
            await asyncio.sleep(min(left, 1.0))
            if self.refresh is None:
                continue
            fresh = await self.refresh()
            if fresh is None:
                continue
            url, key = fresh[0].rstrip("/"), fresh[1]
            if (url, key) != (self.client.url, self.client.admin_key):
                log.info("the Convex URL or admin key changed; probing %s now", url)
                self.client.reconfigure(url, key)
                return True
        return False

    async def drain_once(self) -> int:
        """Send one read of the outbox (up to `max_rows` entries); returns the rows sent."""
        cursor = self.store.outbox_cursor()
        entries = self.store.outbox_after(cursor, self.max_rows)
        if not entries:
            return 0
        fs_entries = [e for e in entries if e[1] in ("projects", "skills")]
        sent = await self._send_fs(fs_entries) if fs_entries else 0
        # Vectors before the rows: a failure here has moved no cursor yet (a resend is harmless).
        vec_entries = [e for e in entries if e[1] == embeddings.TABLE]
        sent += await self._send_embeddings(vec_entries) if vec_entries else 0
        items = self._resolve([e for e in entries if e[1] not in ("projects", "skills", embeddings.TABLE)])
        for batch in self._batches(items):
            sent += await self._send(batch)
            self.store.set_outbox_cursor(batch[-1].outbox_id)
        self.store.set_outbox_cursor(entries[-1][0])
        self.store.prune_outbox(entries[-1][0])
        return sent

    async def _send_fs(self, entries: list[tuple[int, str, str, str]]) -> int:
        """Projects and skills: current rows are upserted; removals name what is gone."""
        # Only the last operation per key matters (an upsert then a delete is a delete).
        last: dict[tuple[str, str], tuple[int, str]] = {}
        for oid, table, key, op in entries:
            last[(table, key)] = (oid, op)
        # Each item: (argument name, value, the outbox entries it stands for).
        p_items: list[tuple[str, Any, list[tuple[int, str]]]] = []
        s_items: list[tuple[str, Any, list[tuple[int, str]]]] = []
        scopes: dict[tuple[str, str | None], list[tuple[int, str]]] = {}
        for (table, key), (oid, op) in last.items():
            if table == "projects":
                doc = fs_tables.project(self.store, key) if op == "upsert" else None
                doc = convex_safe({**doc, **self.stamp}) if doc is not None else None
                p_items.append(
                    ("upserts", doc, [(oid, key)]) if doc is not None else ("removeIds", key, [(oid, key)])
                )
            else:
                doc = fs_tables.skill(self.store, key) if op == "upsert" else None
                doc = convex_safe(doc) if doc is not None else None
                if doc is not None:
                    s_items.append(("upserts", doc, [(oid, key)]))
                else:
                    source, pid, _ = fs_tables.parse_skill_uid(key)
                    scopes.setdefault((source, pid), []).append((oid, key))
        for (src, pid), keys in scopes.items():
            keep = [s["skillId"] for s in fs_tables.skills(self.store, src, pid)]
            s_items.append(("scopes", {"source": src, "projectId": pid, "keepSkillIds": keep}, keys))
        n = 0
        if p_items:
            n += await self._call_fs("sync:applyProjects", "projects", p_items)
        if s_items:
            n += await self._call_fs("sync:applySkills", "skills", s_items)
        return n

    async def _call_fs(
        self, path: str, table: str, items: list[tuple[str, Any, list[tuple[int, str]]]]
    ) -> int:
        args: dict[str, Any] = {"upserts": [], "removeIds" if table == "projects" else "scopes": []}
        for name, value, _keys in items:
            args[name].append(value)
        if table == "projects" and self.stamp:
            args["machineId"] = self.stamp["machineId"]  # removals name this machine's projects
        try:
            await self.client.mutation(path, args)
        except ConvexFunctionError as exc:
            # An invalid project or skill never blocks the rest: isolate the rows Convex refuses
            # (split the batch), keep those locally and report them; the others go through.
            if len(items) > 1:
                mid = len(items) // 2
                return await self._call_fs(path, table, items[:mid]) + await self._call_fs(
                    path, table, items[mid:]
                )
            for oid, key in items[0][2]:
                self._quarantine(_Item(oid, table, key, None, 0), exc)
            return 0
        self.status.record(len(items))
        return len(items)

    async def _send_embeddings(self, entries: list[tuple[int, str, str, str]]) -> int:
        """Message vectors (oa_actors/convex/embeddings.py), in batches; refused ones quarantined."""
        docs = embeddings.documents(self.store, [key for _, _, key, _ in entries])
        items = [_Item(oid, table, key, docs.get(key), 0) for oid, table, key, _ in entries]
        items = [it for it in items if it.doc is not None]  # a vector gone from the store: nothing to send
        sent = 0
        for start in range(0, len(items), embeddings.MAX_EMBEDDINGS):
            sent += await self._call_embeddings(items[start : start + embeddings.MAX_EMBEDDINGS])
        return sent

    async def _call_embeddings(self, batch: list[_Item]) -> int:
        try:
            await self.client.mutation(embeddings.MUTATION, {"embeddings": [it.doc for it in batch]})
        except ConvexFunctionError as exc:
            if len(batch) == 1:
                self._quarantine(batch[0], exc)
                return 0
            mid = len(batch) // 2  # isolate the refused vectors; the others go through
            return await self._call_embeddings(batch[:mid]) + await self._call_embeddings(batch[mid:])
        self.status.record(len(batch))
        return len(batch)

    def _resolve(self, entries: list[tuple[int, str, str, str]]) -> list[_Item]:
        keys = [k for _, t, k, _ in entries if t == "messages"]
        messages = self.store.messages_by_keys(keys)
        items = []
        for oid, table, key, _op in entries:
            doc: dict[str, Any] | None
            if table == "messages":
                doc = messages.get(key)
            elif table == "threads":
                doc = self.store.thread(key)
                doc = {**doc, **self.stamp} if doc is not None else None
            else:
                doc = None  # tables of later features: nothing to send yet
            if doc is not None:
                doc = fit_document(doc)
            items.append(_Item(oid, table, key, doc, doc_size(doc) if doc else 0))
        return items

    def _batches(self, items: list[_Item]) -> list[list[_Item]]:
        out: list[list[_Item]] = []
        cur: list[_Item] = []
        size = 0
        for it in items:
            if cur and (len(cur) >= self.size.rows or size + it.size > self.size.bytes):
                out.append(cur)
                cur, size = [], 0
            cur.append(it)
            size += it.size
        if cur:
            out.append(cur)
        return out

    async def _send(self, batch: list[_Item]) -> int:
        threads = [it.doc for it in batch if it.table == "threads" and it.doc is not None]
        messages = [it.doc for it in batch if it.table == "messages" and it.doc is not None]
        if not threads and not messages:
            return 0
        started = time.monotonic()
        try:
            await self.client.mutation("sync:applyBatch", {"threads": threads, "messages": messages})
        except ConvexTimeout:
            # Resending the same batch would time out the same way: the retry sends smaller ones.
            self.size.shrink()
            log.warning(
                "Convex did not answer a batch of %d row(s) in time; retrying with at most %d row(s)",
                len(batch),
                self.size.rows,
            )
            raise
        except ConvexFunctionError as exc:
            if len(batch) == 1:
                self._quarantine(batch[0], exc)
                return 0
            named = self._named_row(batch, exc)
            if named is not None:
                # The error's data names the row (DocumentTooLarge: table and key): set it aside
                # and send the rest at once, without bisecting.
                self._quarantine(batch[named], exc)
                return await self._send(batch[:named] + batch[named + 1 :])
            # Isolate the rows Convex refuses; the others still go through, in order.
            mid = len(batch) // 2
            return await self._send(batch[:mid]) + await self._send(batch[mid:])
        self.size.success(time.monotonic() - started)
        self.status.record(len(threads) + len(messages))
        return len(threads) + len(messages)

    @staticmethod
    def _named_row(batch: list[_Item], exc: ConvexFunctionError) -> int | None:
        """The index of the row a typed error names (`DocumentTooLarge` carries table and key)."""
        if exc.code != DOCUMENT_TOO_LARGE or not isinstance(exc.data, dict):
            return None
        table, key = exc.data.get("table"), exc.data.get("key")
        return next((i for i, it in enumerate(batch) if it.table == table and it.key == key), None)

    def _quarantine(self, item: _Item, exc: ConvexFunctionError) -> None:
        error = f"{exc.code}: {exc}" if exc.code else str(exc)
        self._error(error)
        if quarantine.add(self.store, item.outbox_id, item.table, item.key, error):
            self.status.quarantined += 1
            log.error(
                "Convex refused %s %s; quarantined (kept in the local store, "
                "`oa-supervisor convex retry-quarantine` resends it): %s",
                item.table,
                item.key,
                error,
            )


async def resync(
    store: Store, client: ConvexHttpClient, max_rows: int = MAX_BATCH_ROWS, machine: Machine | None = None
) -> int:
    """Replay the whole store (every thread, every message, every message vector) into a Convex
    deployment."""
    drain = OutboxDrain(store, client, max_rows=max_rows, machine=machine)
    sent = 0
    threads = [fit_document({**t, **drain.stamp}) for t in store.all_threads()]
    for i in range(0, len(threads), max_rows):
        chunk = threads[i : i + max_rows]
        await client.mutation("sync:applyBatch", {"threads": chunk, "messages": []})
        sent += len(chunk)
    batch: list[_Item] = []
    for n, m in enumerate(store.iter_messages()):
        doc = fit_document(m)
        batch.append(_Item(n, "messages", m["key"], doc, doc_size(doc)))
        if len(batch) >= max_rows:
            for b in drain._batches(batch):
                sent += await drain._send(b)
            batch = []
    for b in drain._batches(batch):
        sent += await drain._send(b)
    for ids in embeddings.all_ids(store):  # then every message vector (none without the indexer)
        sent += await drain._send_embeddings([(0, embeddings.TABLE, str(i), "upsert") for i in ids])
    return sent
