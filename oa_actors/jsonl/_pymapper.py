"""Per-file mapping state shared by every format: the thread row, keys, sequence and turn counters.

A format mapper (Codex rollout, Codex exec stream, Claude Code session) calls `emit` for each
message row; this class assigns `seq`, the idempotency key and the thread fields.
"""

from __future__ import annotations

from typing import Any

from oa_actors.jsonl._pycommon import make_title, row_key, uuid_from_path
from oa_actors.jsonl._pyorder import ConversationOrder

THREAD_FIELDS = (
    "threadId",
    "source",
    "rolloutPath",
    "title",
    "cwd",
    "model",
    "cliVersion",
    "git",
    "parentThreadId",
    "createdAt",
    "updatedAt",
    "usage",
)


class UnknownRecord(Exception):
    """A well-formed JSON object whose record type this parser does not know (skipped, counted)."""


class MapperState:
    """Everything a mapper needs to continue a file where it stopped; JSON-serialisable."""

    def __init__(self, path: str, source: str = "codex") -> None:
        self.path = path
        self.fmt: str | None = None
        self.thread: dict[str, Any] = dict.fromkeys(THREAD_FIELDS)
        self.thread["source"] = source
        self.thread["rolloutPath"] = path
        self.thread_from_meta = False
        self.emitted_thread: dict[str, Any] | None = None
        self.turn_index = 0
        self.turn_id: str | None = None
        self.counts: dict[str, int] = {}
        self.pending: dict[str, dict[str, Any]] = {}
        self.seq = 0  # the next integer seq
        self.invocation = 0
        self.extra: dict[str, Any] = {}
        self.order: ConversationOrder | None = None  # Claude Code session files only

    # -- thread ---------------------------------------------------------------------------------
    def thread_id(self) -> str:
        tid = self.thread["threadId"]
        if tid is None:
            tid = uuid_from_path(self.path) or row_key("path\x1f" + self.path, 0)
            self.thread["threadId"] = tid
        return str(tid)

    def set_thread_id(self, tid: Any, *, authoritative: bool) -> None:
        """Set the thread id; an authoritative source (session_meta) wins over fallbacks once."""
        if not isinstance(tid, str) or not tid:
            return
        if authoritative and not self.thread_from_meta:
            self.thread["threadId"] = tid
            self.thread_from_meta = True
        elif self.thread["threadId"] is None:
            self.thread["threadId"] = tid

    def touch(self, ts: int | None) -> None:
        if ts is None:
            return
        if self.thread["createdAt"] is None:
            self.thread["createdAt"] = ts
        if self.thread["updatedAt"] is None or ts > self.thread["updatedAt"]:
            self.thread["updatedAt"] = ts

    def set_field(self, name: str, value: Any) -> None:
        if value is not None:
            self.thread[name] = value

    def thread_row_if_changed(self) -> dict[str, Any] | None:
        """The thread row when it differs from the last one emitted (None before any id exists)."""
        if self.thread["threadId"] is None:
            return None
        if self.emitted_thread == self.thread:
            return None
        row = dict(self.thread)
        self.emitted_thread = dict(row)
        return row

    # -- messages -------------------------------------------------------------------------------
    def new_turn(self) -> None:
        """A turn boundary: occurrence counters restart (they only separate repeats in one turn)."""
        self.turn_index += 1
        self.counts = {}

    def emit(
        self,
        out: list[dict[str, Any]],
        role: str,
        kind: str,
        text: str | None,
        data: dict[str, Any] | None,
        identity: str,
        ts: int | None,
    ) -> None:
        tid = self.thread_id()
        if role == "user" and kind == "message" and self.thread["title"] is None and text:
            self.thread["title"] = make_title(text)
        base = f"{tid}\x1f{role}\x1f{kind}\x1f{identity}\x1f{self.turn_index}"
        key0 = row_key(base, 0)
        k = self.counts.get(key0, 0)
        self.counts[key0] = k + 1
        key = key0 if k == 0 else row_key(base, k)
        out.append(
            {
                "threadId": tid,
                "key": key,
                "seq": self.seq,
                "ts": ts,
                "role": role,
                "kind": kind,
                "text": text,
                "data": data,
                "turnId": self.turn_id,
            }
        )
        self.seq += 1

    def emit_usage(
        self, out: list[dict[str, Any]], data: dict[str, Any], identity: str, ts: int | None
    ) -> None:
        """A `system/usage` row (docs/rows.md, "Token usage"). It takes no integer seq: it sits just
        after the rows read before it (`seq` = next - 0.5), so no other row's seq depends on it."""
        nxt = self.seq
        self.emit(out, "system", "usage", None, data, identity, ts)
        out[-1]["seq"] = nxt - 0.5
        self.seq = nxt

    # -- snapshot -------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        obj = {
            "fmt": self.fmt,
            "thread": self.thread,
            "threadFromMeta": self.thread_from_meta,
            "emittedThread": self.emitted_thread,
            "turnIndex": self.turn_index,
            "turnId": self.turn_id,
            "counts": self.counts,
            "pending": self.pending,
            "seq": self.seq,
            "invocation": self.invocation,
            "extra": self.extra,
        }
        if self.order is not None:
            obj["order"] = self.order.to_json()
        return obj

    @classmethod
    def from_json(cls, path: str, obj: dict[str, Any]) -> MapperState:
        st = cls(path)
        st.fmt = obj.get("fmt")
        st.thread = {name: obj["thread"].get(name) for name in THREAD_FIELDS}
        st.thread_from_meta = bool(obj.get("threadFromMeta"))
        st.emitted_thread = obj.get("emittedThread")
        st.turn_index = int(obj.get("turnIndex", 0))
        st.turn_id = obj.get("turnId")
        st.counts = dict(obj.get("counts") or {})
        st.pending = dict(obj.get("pending") or {})
        st.seq = int(obj.get("seq", 0))
        st.invocation = int(obj.get("invocation", 0))
        st.extra = dict(obj.get("extra") or {})
        if obj.get("order") is not None:
            st.order = ConversationOrder.from_json(obj["order"])
        return st
