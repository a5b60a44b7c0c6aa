"""SQLite-backed local store: idempotent row application, checkpoints, outbox, queries.

Only `convex_writer` opens it writable; a batch (rows plus the tailer's checkpoint) is committed in
one transaction, so a crash anywhere leaves either all of it or none of it, and re-applying a batch
changes nothing (messages are keyed, threads are merged).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from oa_actors.store import search_index
from oa_actors.store.schema import MIGRATIONS, SCHEMA_VERSION
from oa_actors.store.search_text import IndexEntry

_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder().decode

THREAD_COLUMNS = (
    ("threadId", "thread_id"),
    ("source", "source"),
    ("rolloutPath", "rollout_path"),
    ("title", "title"),
    ("cwd", "cwd"),
    ("model", "model"),
    ("cliVersion", "cli_version"),
    ("git", "git"),
    ("parentThreadId", "parent_thread_id"),
    ("createdAt", "created_at"),
    ("updatedAt", "updated_at"),
    ("usage", "usage"),
)
JSON_THREAD_FIELDS = frozenset({"git", "usage"})
MESSAGE_FIELDS = ("threadId", "key", "seq", "ts", "role", "kind", "text", "data", "turnId")
# `seq` is an integer, or a fraction for a Claude Code row placed between two others (docs/rows.md).
# The column has INTEGER affinity: SQLite stores an integral value as an INTEGER and a fraction as a
# REAL, compares them numerically (ORDER BY, the index) and returns int or float: no migration.
Seq = int | float
IN_CHUNK = 500
INSERT_MESSAGE = (
    "INSERT OR IGNORE INTO messages (rowid, thread_id, key, seq, ts, role, kind, text, data, turn_id,"
    " stored_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)
MAX_ROWID = "SELECT COALESCE(MAX(rowid), 0) FROM messages"
ROWIDS_FROM = "SELECT rowid FROM messages WHERE rowid >= ?"
OUTBOX_MESSAGES = (
    "INSERT INTO outbox (tbl, key, op) SELECT 'messages', key, 'upsert' FROM messages "
    "WHERE rowid >= ? ORDER BY rowid"
)
# SQLite's default automatic WAL checkpoint (every 1000 pages, ~4 MB) runs inside the writer's
# COMMIT, copies pages into the database file and fsyncs twice: during a backfill that cost about a
# third of the time. Checkpointing every ~64 MB rewrites hot index pages far less often (1 GB
# backfill, in-process: 50-55 -> 71-83 MB/s); the WAL file is cut back to 64 MB once it restarts.
WAL_AUTOCHECKPOINT_BYTES = 64 * 1024 * 1024  # was 16384 pages of 4 KB; in pages of the store's size
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024
PAGE_SIZE = 16384
# The writer's page cache (SQLite's default is 2 MB): a backfill transaction of a few MB otherwise
# spills dirty pages to the WAL before COMMIT, and the key index's pages keep being evicted.
CACHE_KIB = 64 * 1024
# A writable store checkpoints in a background thread (its own connection, PASSIVE, so it never
# blocks the writer): the checkpoint's fsyncs and copying then overlap the writer's next
# transactions instead of stalling a COMMIT (during a backfill they were over half of its time).
# The writer's own automatic checkpoint stays on, at a higher mark, as a bound on the WAL's size:
# when it fires, the background thread has already copied most frames, so it only has the rest to do.
BACKGROUND_CHECKPOINT_BYTES = 32 * 1024 * 1024  # checkpoint once about this much was committed
BACKGROUND_CHECKPOINT_SECONDS = 1.0  # ... or this long after a smaller commit
BACKGROUND_WAL_AUTOCHECKPOINT_BYTES = 512 * 1024 * 1024
# With background checkpoints the WAL is not cut back at each restart (truncating a file of
# hundreds of MB stalled the writer's COMMIT): the checkpoint thread truncates it instead once
# writes are quiet, if it grew past this.
WAL_IDLE_BYTES = 64 * 1024 * 1024


class StoreError(RuntimeError):
    """The store file is unusable (newer schema, corrupt, or opened read-only for a write)."""


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class AppliedBatch:
    """What a batch changed: only these rows are published on the bus and queued for Convex."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    threads: list[dict[str, Any]] = field(default_factory=list)


def _thread_from_row(row: Sequence[Any]) -> dict[str, Any]:
    out = {}
    for (name, _), value in zip(THREAD_COLUMNS, row, strict=True):
        out[name] = _json_decode(value) if name in JSON_THREAD_FIELDS and value is not None else value
    return out


def _message_from_row(row: Sequence[Any]) -> dict[str, Any]:
    thread_id, key, seq, ts, role, kind, text, data, turn_id = row
    return {
        "threadId": thread_id,
        "key": key,
        "seq": seq,
        "ts": ts,
        "role": role,
        "kind": kind,
        "text": text,
        "data": _json_decode(data) if data is not None else None,
        "turnId": turn_id,
    }


class Store:
    """One connection to the store. Not thread-safe: each actor owns its own instance."""

    def __init__(self, conn: sqlite3.Connection, path: Path, readonly: bool) -> None:
        self.conn = conn
        self.path = path
        self.readonly = readonly
        self._checkpointer: _Checkpointer | None = None

    @classmethod
    def open(cls, path: str | Path, *, readonly: bool = False, background_checkpoint: bool = True) -> Store:
        """Open (and, writable, create and migrate) the store at `path`.

        A writable store checkpoints its WAL in a background thread unless `background_checkpoint`
        is false (then SQLite's automatic checkpoint runs inside COMMIT, every ~64 MB).
        """
        path = Path(path)
        if readonly:
            conn = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA query_only = ON")
        else:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Private whatever the umask: SQLite gives the -wal and -shm files the mode of the
            # database file, so creating it 0600 covers all three.
            os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            # A new store uses 16 KB pages (rows are a few KB: fewer overflow pages and WAL frames,
            # ~35% less insert time in a backfill); it only applies before the first table is
            # created, so an existing store keeps its page size.
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable across process crashes
            page = int(conn.execute("PRAGMA page_size").fetchone()[0]) or 4096
            conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_BYTES // page}")
            conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
            conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        conn.execute("PRAGMA busy_timeout = 5000")
        store = cls(conn, path, readonly)
        if not readonly:
            store._migrate()
            if background_checkpoint:
                conn.execute(f"PRAGMA wal_autocheckpoint = {BACKGROUND_WAL_AUTOCHECKPOINT_BYTES // page}")
                conn.execute(f"PRAGMA journal_size_limit = {BACKGROUND_WAL_AUTOCHECKPOINT_BYTES * 2}")
                store._checkpointer = _Checkpointer(path)
        return store

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ----------------------------------------------------------------------------------
    def version(self) -> int:
        try:
            row = self.conn.execute("SELECT version FROM schema_version").fetchone()
        except sqlite3.OperationalError:
            return 0
        return int(row[0]) if row else 0

    def _migrate(self) -> None:
        self.conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = self.version()
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {current}, newer than this oa-supervisor ({SCHEMA_VERSION})"
            )
        for number in range(current + 1, SCHEMA_VERSION + 1):
            step = MIGRATIONS[number - 1]
            if callable(step):
                step(self)  # commits its own transactions; resumable, so run before the version moves
            with self.transaction():
                if not callable(step):
                    for statement in step:
                        self.conn.execute(statement)
                self.conn.execute("DELETE FROM schema_version")
                self.conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))

    def transaction(self) -> _Transaction:
        if self.readonly:
            raise StoreError("the store is open read-only")
        return _Transaction(self.conn)

    # -- writing ---------------------------------------------------------------------------------
    def apply_batch(
        self,
        threads: Iterable[dict[str, Any]] = (),
        messages: Iterable[dict[str, Any]] = (),
        checkpoint: tuple[str, int, bytes | None] | None = None,
        checkpoints: Iterable[tuple[str, int, bytes | None]] = (),
        fts: Sequence[IndexEntry] = (),
    ) -> AppliedBatch:
        """Apply rows idempotently and move tail checkpoints (`checkpoint`, then `checkpoints` in
        order), all in one transaction. `fts`, when given, holds the messages' index columns as
        the tailer computed them (`search_text.index_entry`, aligned with `messages`)."""
        applied = AppliedBatch()
        stamp = now_ms()
        given = list(messages)
        entries = list(fts) if len(fts) == len(given) and given else None
        with self.transaction():
            thread_ids = []
            for t in threads:
                self._upsert_thread(t, stamp)
                thread_ids.append(t["threadId"])
            fresh: list[dict[str, Any]] = []
            nbytes = 0
            if given:
                # Rowids are given, not left to SQLite: the index rows and the outbox entries then
                # need no look-up by key (this is the only writer, inside BEGIN IMMEDIATE). The key
                # index is probed once, by the insert itself: OR IGNORE skips a key the store holds
                # (or an earlier copy in this batch already took, so the first copy wins), leaving
                # a gap in the rowids; the rows that went in are found by their rowids.
                first = int(self.conn.execute(MAX_ROWID).fetchone()[0]) + 1
                rows = [
                    (
                        first + n,
                        m["threadId"],
                        m["key"],
                        m["seq"],
                        m.get("ts"),
                        m["role"],
                        m["kind"],
                        m.get("text"),
                        None if m.get("data") is None else _json_encode(m["data"]),
                        m.get("turnId"),
                        stamp,
                    )
                    for n, m in enumerate(given)
                ]
                before = self.conn.total_changes
                self.conn.executemany(INSERT_MESSAGE, rows)
                inserted = self.conn.total_changes - before
                if inserted == len(given):
                    picked: Sequence[int] = range(len(given))
                    fresh = given
                else:
                    rowids = self.conn.execute(ROWIDS_FROM, (first,)) if inserted else ()
                    have = {r[0] - first for r in rowids}
                    picked = [n for n in range(len(given)) if n in have]
                    fresh = [given[n] for n in picked]
                    self._check_skipped([given[n]["key"] for n in range(len(given)) if n not in have])
            if fresh:
                nbytes = sum(200 + len(rows[n][7] or "") + len(rows[n][8] or b"") for n in picked)
                kept = None if entries is None else [entries[n] for n in picked]
                self._index_messages(fresh, [first + n for n in picked], kept)
                # one statement for the whole batch, in rowid (= batch) order
                self.conn.execute(OUTBOX_MESSAGES, (first,))
                for tid in {m["threadId"] for m in fresh} - set(thread_ids):
                    self._ensure_thread(tid, stamp)
            if thread_ids:
                self.conn.executemany(
                    "INSERT INTO outbox (tbl, key, op) VALUES ('threads', ?, 'upsert')",
                    [(t,) for t in dict.fromkeys(thread_ids)],
                )
                applied.threads = [
                    t for t in (self.thread(tid) for tid in dict.fromkeys(thread_ids)) if t is not None
                ]
            if checkpoint is not None:
                self.set_checkpoint(*checkpoint)
            for c in checkpoints:
                self.set_checkpoint(*c)
        applied.messages = fresh
        if self._checkpointer is not None:
            self._checkpointer.note(nbytes)
        return applied

    def _check_skipped(self, keys: list[Any]) -> None:
        """OR IGNORE also skips a row that breaks a constraint (a NULL in a NOT NULL column): every
        row it skipped must be a key the store holds, or the batch fails (rolled back) as a plain
        INSERT would have failed, instead of losing the row silently."""
        found: set[Any] = set()
        for i in range(0, len(keys), IN_CHUNK):
            part = keys[i : i + IN_CHUNK]
            q = f"SELECT key FROM messages WHERE key IN ({','.join('?' * len(part))})"
            found.update(r[0] for r in self.conn.execute(q, part))
        rejected = [k for k in keys if k not in found]
        if rejected:
            n, key = len(rejected), rejected[0]
            raise sqlite3.IntegrityError(
                f"{n} message row(s) rejected by the store's constraints, e.g. key {key!r}"
            )

    def _index_messages(
        self, fresh: list[dict[str, Any]], rowids: list[int], entries: list[IndexEntry] | None
    ) -> None:
        """Full-text index of the rows just inserted (at `rowids`), in the same transaction: a
        row is searchable exactly when it is visible (search_index.py)."""
        search_index.index_messages(self.conn, search_index.index_rows(fresh, rowids, entries))

    def merge_index(self, pages: int = search_index.MERGE_PAGES) -> bool:
        """One idle step of merging the full-text index's segments (its own transaction); False
        once there is nothing left to merge."""
        with self.transaction():
            return search_index.merge_step(self.conn, pages)

    def _upsert_thread(self, t: dict[str, Any], stamp: int) -> None:
        values = [
            _json_encode(t.get(n)) if n in JSON_THREAD_FIELDS and t.get(n) is not None else t.get(n)
            for n, _ in THREAD_COLUMNS
        ]
        values[1] = values[1] or "codex"
        cols = [c for _, c in THREAD_COLUMNS]
        merge = ", ".join(
            f"{c} = MAX(COALESCE(excluded.{c}, {c}), COALESCE({c}, excluded.{c}))"
            if c == "updated_at"
            else f"{c} = MIN(COALESCE(excluded.{c}, {c}), COALESCE({c}, excluded.{c}))"
            if c == "created_at"
            else f"{c} = COALESCE(excluded.{c}, {c})"
            for c in cols[1:]
        )
        self.conn.execute(
            f"INSERT INTO threads ({', '.join(cols)}, stored_at) VALUES ({','.join('?' * len(cols))}, ?) "
            f"ON CONFLICT(thread_id) DO UPDATE SET {merge}, stored_at = excluded.stored_at",
            [*values, stamp],
        )

    def _ensure_thread(self, thread_id: str, stamp: int) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO threads (thread_id, source, stored_at) VALUES (?, 'codex', ?)",
            (thread_id, stamp),
        )

    # -- checkpoints ------------------------------------------------------------------------------
    def set_checkpoint(self, path: str, offset: int, snapshot: bytes | None) -> None:
        self.conn.execute(
            "INSERT INTO tail_checkpoints (path, offset, snapshot, updated_at) VALUES (?,?,?,?) "
            "ON CONFLICT(path) DO UPDATE SET offset = excluded.offset, snapshot = excluded.snapshot,"
            " updated_at = excluded.updated_at",
            (path, offset, snapshot, now_ms()),
        )

    def checkpoint(self, path: str) -> tuple[int, bytes | None] | None:
        row = self.conn.execute(
            "SELECT offset, snapshot FROM tail_checkpoints WHERE path = ?", (path,)
        ).fetchone()
        return (int(row[0]), row[1]) if row else None

    def checkpoints(self) -> dict[str, int]:
        return {p: int(o) for p, o in self.conn.execute("SELECT path, offset FROM tail_checkpoints")}

    def delete_checkpoint(self, path: str) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM tail_checkpoints WHERE path = ?", (path,))

    # -- reading ----------------------------------------------------------------------------------
    def thread(self, thread_id: str) -> dict[str, Any] | None:
        cols = ", ".join(c for _, c in THREAD_COLUMNS)
        row = self.conn.execute(f"SELECT {cols} FROM threads WHERE thread_id = ?", (thread_id,)).fetchone()
        return _thread_from_row(row) if row else None

    def threads(self, limit: int = 50, before_updated: int | None = None) -> list[dict[str, Any]]:
        """Newest first by `updatedAt`; `before_updated` pages further back."""
        cols = ", ".join(c for _, c in THREAD_COLUMNS)
        q = f"SELECT {cols} FROM threads"
        args: list[Any] = []
        if before_updated is not None:
            q += " WHERE COALESCE(updated_at, 0) < ?"
            args.append(before_updated)
        q += " ORDER BY COALESCE(updated_at, 0) DESC, thread_id LIMIT ?"
        args.append(limit)
        return [_thread_from_row(r) for r in self.conn.execute(q, args)]

    def messages_for_thread(
        self, thread_id: str, after_seq: Seq = -1, limit: int = 200
    ) -> list[dict[str, Any]]:
        """A page of one thread's messages in `seq` order, after `after_seq`."""
        q = (
            "SELECT thread_id, key, seq, ts, role, kind, text, data, turn_id FROM messages"
            " WHERE thread_id = ? AND seq > ? ORDER BY seq, key LIMIT ?"
        )
        return [_message_from_row(r) for r in self.conn.execute(q, (thread_id, after_seq, limit))]

    def message_counts(self) -> dict[str, int]:
        return {
            t: int(n)
            for t, n in self.conn.execute("SELECT thread_id, COUNT(*) FROM messages GROUP BY thread_id")
        }

    def count(self, table: str) -> int:
        if table not in ("threads", "messages", "projects", "skills", "runs", "outbox", "quarantine"):
            raise ValueError(f"unknown table {table}")
        return int(self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def export(self, thread_id: str | None = None, since_ms: int | None = None) -> Iterator[dict[str, Any]]:
        """Rows as `oa-supervisor parse` prints them: each thread's messages in order, then the thread;
        without a thread filter also every project and skill (tables `projects`, `skills`)."""
        cols = ", ".join(c for _, c in THREAD_COLUMNS)
        q = f"SELECT {cols} FROM threads"
        cond: list[str] = []
        args: list[Any] = []
        if thread_id is not None:
            cond.append("thread_id = ?")
            args.append(thread_id)
        if since_ms is not None:
            cond.append("COALESCE(updated_at, 0) >= ?")
            args.append(since_ms)
        if cond:
            q += " WHERE " + " AND ".join(cond)
        q += " ORDER BY COALESCE(created_at, 0), thread_id"
        for row in self.conn.execute(q, args).fetchall():
            thread = _thread_from_row(row)
            mq = (
                "SELECT thread_id, key, seq, ts, role, kind, text, data, turn_id FROM messages"
                " WHERE thread_id = ?"
            )
            margs: list[Any] = [thread["threadId"]]
            if since_ms is not None:
                mq += " AND COALESCE(ts, 0) >= ?"
                margs.append(since_ms)
            for m in self.conn.execute(mq + " ORDER BY seq, key", margs):
                yield {"table": "messages", **_message_from_row(m)}
            yield {"table": "threads", **thread}
        if thread_id is None:
            for table, q in (
                ("projects", "SELECT doc FROM projects ORDER BY id"),
                ("skills", "SELECT doc FROM skills ORDER BY uid"),
            ):
                for (doc,) in self.conn.execute(q).fetchall():
                    yield {"table": table, **_json_decode(doc)}

    # -- outbox -----------------------------------------------------------------------------------
    def outbox_after(self, last_id: int, limit: int = 1000) -> list[tuple[int, str, str, str]]:
        q = "SELECT id, tbl, key, op FROM outbox WHERE id > ? ORDER BY id LIMIT ?"
        return [(int(i), t, k, o) for i, t, k, o in self.conn.execute(q, (last_id, limit))]

    def outbox_cursor(self, name: str = "convex") -> int:
        row = self.conn.execute("SELECT last_id FROM outbox_cursor WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def set_outbox_cursor(self, last_id: int, name: str = "convex") -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT INTO outbox_cursor (name, last_id, updated_at) VALUES (?,?,?) "
                "ON CONFLICT(name) DO UPDATE SET last_id = excluded.last_id,"
                " updated_at = excluded.updated_at",
                (name, last_id, now_ms()),
            )

    def prune_outbox(self, upto_id: int) -> None:
        """Forget outbox entries Convex already has (the cursor is past them)."""
        with self.transaction():
            self.conn.execute("DELETE FROM outbox WHERE id <= ?", (upto_id,))

    def messages_by_keys(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(keys), IN_CHUNK):
            part = keys[i : i + IN_CHUNK]
            q = (
                "SELECT thread_id, key, seq, ts, role, kind, text, data, turn_id FROM messages"
                f" WHERE key IN ({','.join('?' * len(part))})"
            )
            for r in self.conn.execute(q, part):
                out[r[1]] = _message_from_row(r)
        return out

    def all_threads(self) -> list[dict[str, Any]]:
        cols = ", ".join(c for _, c in THREAD_COLUMNS)
        return [
            _thread_from_row(r) for r in self.conn.execute(f"SELECT {cols} FROM threads ORDER BY thread_id")
        ]

    def iter_messages(self) -> Iterator[dict[str, Any]]:
        """Every message, thread by thread in seq order (for a full resync)."""
        q = (
            "SELECT thread_id, key, seq, ts, role, kind, text, data, turn_id FROM messages"
            " ORDER BY thread_id, seq, key"
        )
        for r in self.conn.execute(q).fetchall():
            yield _message_from_row(r)

    def outbox_last_id(self) -> int:
        """The newest outbox id ever assigned (pruning does not lower it)."""
        row = self.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
        return int(row[0]) if row else 0


class _Checkpointer:
    """A daemon thread with its own connection that runs PASSIVE WAL checkpoints when told that
    enough was committed (`note`). sqlite3 releases the GIL, so the fsyncs overlap the writer."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pending = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self.checkpoints = 0
        self._thread = threading.Thread(target=self._run, name="store-checkpoint", daemon=True)
        self._thread.start()

    def note(self, nbytes: int) -> None:
        """`nbytes` (about) were just committed."""
        with self._lock:
            self._pending += nbytes
            big = self._pending >= BACKGROUND_CHECKPOINT_BYTES
        if big:
            self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()

    def _wal_big(self) -> bool:
        try:
            return os.path.getsize(f"{self.path}-wal") > WAL_IDLE_BYTES
        except OSError:
            return False

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while not self._stopping:
                self._wake.wait(BACKGROUND_CHECKPOINT_SECONDS)
                self._wake.clear()
                if self._stopping:
                    break
                with self._lock:
                    pending, self._pending = self._pending, 0
                quiet = pending < BACKGROUND_CHECKPOINT_BYTES // 32
                if not pending and not (quiet and self._wal_big()):
                    continue
                if conn is None:
                    conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                    conn.execute("PRAGMA busy_timeout = 0")
                try:
                    # When writes are quiet, give back the disk of a WAL a backfill made big (a
                    # no-op if the writer is in a transaction: busy, tried again next time).
                    mode = "TRUNCATE" if quiet and self._wal_big() else "PASSIVE"
                    conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
                    self.checkpoints += 1
                except (
                    sqlite3.Error
                ) as exc:  # busy, or the file went away: the writer's own checkpoint still runs
                    logging.getLogger("oa.store").debug("background checkpoint skipped: %s", exc)
        finally:
            if conn is not None:
                conn.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
