"""Pure-Python twin of the native tail: split bytes into lines, parse, map, deduplicate.

Same API, outputs and errors as `oa_actors._oa_native.JsonlTail`; `oa_actors.jsonl` picks one.
"""

from __future__ import annotations

import json
from hashlib import blake2b
from typing import Any

from oa_actors.jsonl import _pyclaude, _pycodex
from oa_actors.jsonl._pycommon import InvalidJson, loads_strict
from oa_actors.jsonl._pymapper import MapperState, UnknownRecord

DEFAULT_MAX_LINE = 32 * 1024 * 1024
HEAD_BYTES = 1024
ERROR_KINDS = ("invalid_json", "invalid_utf8", "oversized", "unknown")
SNAPSHOT_VERSION = 1


class TailBatch:
    """What one `feed` produced: new rows, the committed offset and this call's error counts."""

    __slots__ = ("errors", "messages", "offset", "position", "threads")

    def __init__(
        self,
        threads: list[dict[str, Any]],
        messages: list[dict[str, Any]],
        offset: int,
        position: int,
        errors: dict[str, int],
    ) -> None:
        self.threads = threads
        self.messages = messages
        self.offset = offset
        self.position = position
        self.errors = errors

    def __repr__(self) -> str:
        return (
            f"TailBatch(threads={len(self.threads)}, messages={len(self.messages)}, "
            f"offset={self.offset}, errors={self.errors})"
        )


def _head_hash(head: bytes) -> str:
    return blake2b(head, digest_size=16).hexdigest()


class JsonlTail:
    """Incremental parser state for one JSONL file (see oa_actors/_oa_native.pyi for the contract)."""

    def __init__(self, path: str, *, max_line_bytes: int = DEFAULT_MAX_LINE, source: str = "codex") -> None:
        if max_line_bytes <= 0:
            raise ValueError("max_line_bytes must be positive")
        self.path = path
        self.max_line_bytes = max_line_bytes
        self._source = source
        self._offset = 0
        self._buf = bytearray()
        self._skipping = 0  # bytes of an oversized line discarded so far (0: not skipping)
        self._identity: tuple[int, int] | None = None
        self._head_len = 0
        self._head_hash = ""
        self._errors = dict.fromkeys(ERROR_KINDS, 0)
        self._seen: set[str] = set()
        self._state = MapperState(path, source)

    # -- properties -----------------------------------------------------------------------------
    @property
    def offset(self) -> int:
        return self._offset

    @property
    def position(self) -> int:
        return self._offset + len(self._buf) + self._skipping

    @property
    def errors(self) -> dict[str, int]:
        return dict(self._errors)

    @property
    def thread_id(self) -> str | None:
        tid = self._state.thread["threadId"]
        return str(tid) if tid is not None else None

    @property
    def format(self) -> str | None:
        return self._state.fmt

    # -- identity -------------------------------------------------------------------------------
    def check_identity(self, dev: int, ino: int, size: int, head: bytes) -> bool:
        """Compare the file's identity with what this state was built from.

        Returns True (and resets the state to offset 0) when the file was replaced (other dev/ino),
        truncated (size below the offset) or rewritten (its first bytes changed). Keys seen so far
        are kept, so re-reading from 0 yields no duplicate rows.
        """
        head = bytes(head[:HEAD_BYTES])
        changed = False
        if self._identity is not None:
            # No head recorded yet (the file was empty when first seen): nothing to compare, so
            # growth from empty is never taken for a rewrite.
            changed = (
                self._identity != (dev, ino)
                or size < self.position
                or len(head) < self._head_len
                or (self._head_len > 0 and _head_hash(head[: self._head_len]) != self._head_hash)
            )
        if changed:
            self._reset()
        self._identity = (dev, ino)
        if changed or len(head) > self._head_len:
            self._head_len = len(head)
            self._head_hash = _head_hash(head)
        return changed

    def _reset(self) -> None:
        self._offset = 0
        self._buf = bytearray()
        self._skipping = 0
        self._state = MapperState(self.path, self._source)

    # -- feeding --------------------------------------------------------------------------------
    def feed(self, chunk: bytes, final: bool = False) -> TailBatch:
        """Consume the bytes that follow `position`; returns the rows of every complete line.

        A partial last line waits for the next call unless `final` (end of a finished file).
        """
        errors = dict.fromkeys(ERROR_KINDS, 0)
        rows: list[dict[str, Any]] = []
        start = 0
        n = len(chunk)
        while start < n:
            nl = chunk.find(b"\n", start)
            if nl < 0:
                self._hold(memoryview(chunk)[start:], errors)
                break
            pending = len(self._buf) + self._skipping
            if self._skipping:
                self._skipping = 0
            elif self._buf:
                self._buf += chunk[start:nl]
                line = bytes(self._buf)
                self._buf = bytearray()
                self._line(line, rows, errors)
            else:
                self._line(chunk[start:nl], rows, errors)
            self._offset += pending + (nl - start) + 1
            start = nl + 1
        if final:
            if self._buf:
                line = bytes(self._buf)
                self._buf = bytearray()
                self._line(line, rows, errors)
                self._offset += len(line)
            elif self._skipping:
                self._offset += self._skipping
                self._skipping = 0
        return self._batch(rows, errors)

    def _hold(self, rest: memoryview, errors: dict[str, int]) -> None:
        if self._skipping:
            self._skipping += len(rest)
            return
        if len(self._buf) + len(rest) > self.max_line_bytes:
            self._skipping = len(self._buf) + len(rest)
            self._buf = bytearray()
            errors["oversized"] += 1
            self._errors["oversized"] += 1
            return
        self._buf += rest

    def _line(self, line: bytes, rows: list[dict[str, Any]], errors: dict[str, int]) -> None:
        if len(line) > self.max_line_bytes:
            self._count(errors, "oversized")
            return
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line.strip(b" \t\r\n"):
            return
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            self._count(errors, "invalid_utf8")
            return
        try:
            obj = loads_strict(text)
        except InvalidJson:
            self._count(errors, "invalid_json")
            return
        if not isinstance(obj, dict):
            self._count(errors, "invalid_json")
            return
        st = self._state
        if st.fmt is None:
            st.fmt = _pycodex.detect(obj) or _pyclaude.detect(obj)  # Codex first, then Claude Code
            if st.fmt is None:
                self._count(errors, "unknown")
                return
            if st.fmt in _pyclaude.FORMATS:
                st.thread["source"] = "claude"
        out: list[dict[str, Any]] = []
        try:
            if st.fmt == "rollout":
                _pycodex.map_rollout(st, obj, out)
            elif st.fmt == "exec":
                _pycodex.map_exec(st, obj, out)
            elif st.fmt == "claude":
                _pyclaude.map_claude(st, obj, out)
            else:
                _pyclaude.map_claude_stream(st, obj, out)
        except UnknownRecord:
            self._count(errors, "unknown")
        for row in out:
            key = row["key"]
            if key not in self._seen:
                self._seen.add(key)
                rows.append(row)

    def _count(self, errors: dict[str, int], kind: str) -> None:
        errors[kind] += 1
        self._errors[kind] += 1

    def _batch(self, rows: list[dict[str, Any]], errors: dict[str, int]) -> TailBatch:
        thread = self._state.thread_row_if_changed()
        return TailBatch([thread] if thread else [], rows, self._offset, self.position, errors)

    # -- snapshot -------------------------------------------------------------------------------
    def snapshot(self) -> bytes:
        """State at `offset` as JSON bytes (no buffered partial line: a restore re-reads it)."""
        obj = {
            "v": SNAPSHOT_VERSION,
            "path": self.path,
            "maxLineBytes": self.max_line_bytes,
            "source": self._source,
            "offset": self._offset,
            "identity": None if self._identity is None else list(self._identity),
            "headLen": self._head_len,
            "headHash": self._head_hash,
            "errors": self._errors,
            "mapper": self._state.to_json(),
        }
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def restore(cls, data: bytes) -> JsonlTail:
        """Rebuild a tail from `snapshot()` bytes; raises ValueError if they are not a snapshot."""
        try:
            obj = json.loads(data)
            if obj.get("v") != SNAPSHOT_VERSION:
                raise ValueError(f"unsupported snapshot version {obj.get('v')!r}")
            tail = cls(obj["path"], max_line_bytes=obj["maxLineBytes"], source=obj["source"])
            tail._offset = int(obj["offset"])
            ident = obj["identity"]
            tail._identity = None if ident is None else (int(ident[0]), int(ident[1]))
            tail._head_len = int(obj["headLen"])
            tail._head_hash = str(obj["headHash"])
            tail._errors.update({k: int(v) for k, v in obj["errors"].items() if k in ERROR_KINDS})
            tail._state = MapperState.from_json(tail.path, obj["mapper"])
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a tail snapshot: {exc}") from None
        return tail
