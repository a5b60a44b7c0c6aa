"""Native JSONL hot path (Rust, PyO3): tail agent session logs, parse, map and deduplicate.

Built by maturin from `rust_ext/` (crate `oa_native`, feature `python`). Only
`oa_actors.jsonl` imports this module; everything else uses `oa_actors.jsonl.JsonlTail`, which is
either this class or its pure-Python twin `oa_actors.jsonl._pytail.JsonlTail` (same API, rows,
error counts and snapshot layout). Row fields are described in docs/rows.md.
"""

from typing import Any, final

__all__ = ["DEFAULT_MAX_LINE", "JsonlTail", "TailBatch", "__version__"]

__version__: str
"""The crate's version (Cargo.toml), the same as the package's."""

DEFAULT_MAX_LINE: int
"""Default `max_line_bytes`: 32 MiB."""

@final
class TailBatch:
    """What one `JsonlTail.feed` call produced.

    Only rows whose idempotency key this tail has not produced before are included: keys are
    deduplicated in Rust before any Python object is built.
    """

    threads: list[dict[str, Any]]
    """Thread rows (upserts) whose fields changed during this call: zero or one dict with the
    keys `threadId, source, rolloutPath, title, cwd, model, cliVersion, git, parentThreadId,
    createdAt, updatedAt, usage` in that order."""

    messages: list[dict[str, Any]]
    """New message rows in the order their lines were read, each a dict with the keys `threadId,
    key, seq, ts, role, kind, text, data, turnId` in that order (`data` is a nested dict or None).
    `seq` is an int, or a float for a Claude Code row placed between two others (docs/rows.md,
    "Order"): sort by it."""

    offset: int
    """The committed byte offset: the end of the last complete line consumed (resume here)."""

    position: int
    """Every byte seen so far: `offset` plus the held partial line (or skipped oversized bytes).
    The next `feed` must start at this file position."""

    errors: dict[str, int]
    """This call's counts of skipped lines by kind: `invalid_json`, `invalid_utf8`, `oversized`,
    `unknown` (always all four keys)."""

    def __repr__(self) -> str: ...

@final
class JsonlTail:
    """Incremental parser state for one JSONL file: a Codex rollout, a `codex exec --json` stream,
    a Claude Code session file or a `claude -p --output-format stream-json` stream.

    Feed the bytes that follow `position` in chunks of any size; lines are split on `\\n` only
    (U+2028/U+2029 are legal inside JSON strings), a trailing `\\r` is dropped, blank lines are
    ignored. Each complete line is parsed as strict JSON (serde_json's rules: no NaN/Infinity,
    no lone surrogates, nesting deeper than 127 invalid, duplicate keys: last value wins), mapped
    to rows and deduplicated by key. Lines that are not UTF-8, not JSON objects, longer than
    `max_line_bytes` or of an unknown record type are skipped and counted; memory stays bounded by
    `max_line_bytes` plus one chunk.
    """

    def __new__(cls, path: str, *, max_line_bytes: int = ..., source: str = "codex") -> JsonlTail:
        """Create an empty state for `path` (used in rows and for the thread id fallback).

        `max_line_bytes` defaults to `DEFAULT_MAX_LINE`. `source` is the thread rows' `source`
        (`codex` or `claude`); a file whose records are Claude Code's is `claude` whatever was
        given. Raises ValueError if `max_line_bytes` is not positive.
        """

    @property
    def path(self) -> str:
        """The file path given at creation."""

    @property
    def max_line_bytes(self) -> int:
        """Lines longer than this many bytes are skipped and counted as `oversized`."""

    @property
    def offset(self) -> int:
        """The committed byte offset (end of the last complete line)."""

    @property
    def position(self) -> int:
        """`offset` plus the bytes of a held partial line or of an oversized line being skipped."""

    @property
    def errors(self) -> dict[str, int]:
        """Cumulative counts per error kind since creation (a new dict each time)."""

    @property
    def thread_id(self) -> str | None:
        """The thread id once known (session_meta, thread.started, or the file name's UUID)."""

    @property
    def format(self) -> str | None:
        """Once the first recognisable record was seen: `rollout` (a Codex session file), `exec`
        (`codex exec --json` stdout), `claude` (a Claude Code session file) or `claude-stream`
        (`claude -p --output-format stream-json` stdout); else None."""

    def check_identity(self, dev: int, ino: int, size: int, head: bytes) -> bool:
        """Compare the file's identity with the one this state was built from.

        `head` is the file's first bytes (at most 1024 are used). Returns True, and resets the
        state to offset 0, when the file was replaced (other dev/ino), truncated (size below
        `position`) or rewritten (its first bytes changed). Keys seen so far are kept, so
        re-reading from 0 yields no duplicate rows. The first call only records the identity;
        while no head bytes were recorded (the file was empty), growth is never a rewrite.
        """

    def feed(self, chunk: bytes, final: bool = ...) -> TailBatch:
        """Consume the bytes that follow `position` and return the rows of every complete line.

        A partial last line waits for the next call unless `final` is true (default false: the
        end of a finished file). The GIL is released while the chunk is split, parsed, mapped and
        deduplicated.
        """

    def snapshot(self) -> bytes:
        """The state at `offset` as compact JSON bytes (sorted keys, the same layout as the
        Python twin's), including a Claude session's bounded conversation-order state. A held
        partial line is not included: a restored tail re-reads it."""

    @staticmethod
    def restore(data: bytes) -> JsonlTail:
        """Rebuild a tail from `snapshot()` bytes of either implementation.

        The seen-key set is not part of a snapshot. Raises ValueError if `data` is not a
        snapshot or has an unsupported version.
        """
