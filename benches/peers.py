"""The contenders of the hot-path benchmarks: the product's `JsonlTail` and pure-Python peers.

A peer is what a user who does not have this project would write to get rows out of Codex rollouts:
decode each line, map the records that make rows (user prompts, assistant messages, developer
context, reasoning summaries, shell and custom tool calls with their outputs), key each row with
blake2b and drop keys already seen. Every Codex peer does the same mapping and dedupe, so their row
lists are identical (checked by test_bench_jsonl.py); only the decoding differs:

- `run_dict_peer(loads, files)`: any `loads` that returns dicts (orjson, stdlib json, msgspec untyped).
- `run_msgspec_peer(files)`: the best Python peer. A typed envelope Struct per line whose payload
  stays `msgspec.Raw`; only the payload types that make rows are decoded again, into small typed
  Structs (a tagged union for response items), unknown fields skipped.

The peers' mapping is simpler than the product's (fewer record kinds, no timestamp parsing, whole
files split at once), so the native/peer ratios are conservative.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from hashlib import blake2b
from typing import Any

import msgspec

Files = list[tuple[str, bytes]]
CHUNK = 1 << 20


def run_tail(cls: Any, files: Files) -> int:
    """`JsonlTail.feed` over 1 MiB chunks of each file; returns the number of message rows."""
    rows = 0
    for path, data in files:
        t = cls(path)
        for i in range(0, len(data), CHUNK):
            rows += len(t.feed(data[i : i + CHUNK]).messages)
        rows += len(t.feed(b"", final=True).messages)
    return rows


def row_key(*parts: Any) -> str:
    """The peers' row key: blake2b-128 of the parts joined with the unit separator."""
    return blake2b("\x1f".join(map(str, parts)).encode(), digest_size=16).hexdigest()


def loads_peers() -> dict[str, Callable[[bytes], Any]]:
    """`loads` functions for the dict-based peers (orjson only where installed)."""
    found: dict[str, Callable[[bytes], Any]] = {"json": json.loads, "msgspec_dict": msgspec.json.decode}
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dev dependency
        return found
    found["orjson"] = orjson.loads
    return found


class PeerFile:
    """Per-file state of the Codex peer mapping."""

    def __init__(self, tid: str, seen: set[str]) -> None:
        self.tid, self.seen = tid, seen
        self.turn, self.seq = 0, 0
        self.turn_id: str | None = None
        self.pending: dict[Any, Any] = {}
        self.out: list[dict[str, Any]] = []

    def emit(self, role: str, kind: str, text: Any, data: Any, ident: Any, ts: Any) -> None:
        key = row_key(self.tid, role, kind, ident, self.turn, 0)
        if key not in self.seen:
            self.seen.add(key)
            self.out.append(
                {
                    "threadId": self.tid,
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

    def user(self, text: Any, ts: Any) -> None:
        self.turn += 1
        self.emit("user", "message", text, None, text, ts)

    def shell(self, call_id: Any, cmd: str, output: Any, ts: Any) -> None:
        data = {"command": cmd, "exitCode": None, "output": output[:2000], "durationMs": None}
        self.emit("tool", "cmd", cmd, data, call_id, ts)

    def custom(self, call_id: Any, name: Any, tool_input: Any, output: Any, ts: Any) -> None:
        data = {"name": name, "input": tool_input[:2000], "output": output[:2000]}
        self.emit("tool", "tool", name, data, call_id, ts)


def _texts(content: Any, kind: str) -> str:
    if not isinstance(content, list):
        return ""
    return "\n".join(
        c["text"]
        for c in content
        if isinstance(c, dict) and c.get("type") == kind and isinstance(c.get("text"), str)
    )


def _file_peer(path: str, seen: set[str]) -> PeerFile:
    return PeerFile(path[-42:-6], seen)  # the thread id in `rollout-<time>-<uuid>.jsonl`


def dict_peer_rows(loads: Callable[[bytes], Any], files: Files) -> Iterable[list[dict[str, Any]]]:
    """The rows of each file, decoding every line to dicts with `loads`."""
    seen: set[str] = set()
    for path, data in files:
        st = _file_peer(path, seen)
        for line in data.split(b"\n"):
            if not line:
                continue
            try:
                o = loads(line)
            except ValueError:  # every loads here raises a ValueError subclass
                continue
            if not isinstance(o, dict):
                continue
            t, p, ts = o.get("type"), o.get("payload"), o.get("timestamp")
            if not isinstance(p, dict):
                continue
            pt: Any = p.get("type")
            if t == "response_item":
                if pt == "function_call_output":
                    call = st.pending.pop(p.get("call_id"), None)
                    if call is not None and call.get("type") == "function_call":
                        try:
                            args = loads(call.get("arguments") or "{}")
                        except ValueError:
                            args = {}
                        args = args if isinstance(args, dict) else {}
                        cmd = args.get("cmd") or " ".join(args.get("command") or [])
                        st.shell(p.get("call_id"), cmd, p.get("output") or "", ts)
                elif pt == "function_call" or pt == "custom_tool_call":
                    st.pending[p.get("call_id")] = p
                elif pt == "custom_tool_call_output":
                    call = st.pending.pop(p.get("call_id"), None)
                    if call is not None and call.get("type") == "custom_tool_call":
                        out = p.get("output") or ""
                        st.custom(p.get("call_id"), call.get("name"), call.get("input") or "", out, ts)
                elif pt == "message":
                    role = p.get("role")
                    if role == "assistant":
                        text = _texts(p.get("content"), "output_text")
                        st.emit("assistant", "message", text, None, text, ts)
                    elif role == "developer" or role == "system":
                        text = _texts(p.get("content"), "input_text")
                        st.emit("system", "context", text, None, text, ts)
                elif pt == "reasoning":
                    text = _texts(p.get("summary"), "summary_text")
                    st.emit("assistant", "reason", text, None, text, ts)
            elif t == "event_msg":
                if pt == "user_message":
                    st.user(p.get("message"), ts)
                elif pt == "item_completed" and (p.get("item") or {}).get("type") == "UserMessage":
                    st.user(_texts(p["item"].get("content"), "text"), ts)
                elif pt == "task_started":
                    st.turn_id = p.get("turn_id") or st.turn_id
            elif t == "turn_context":
                st.turn_id = p.get("turn_id") or st.turn_id
            elif t == "session_meta":
                st.tid = p.get("id") or st.tid
        yield st.out


def run_dict_peer(loads: Callable[[bytes], Any], files: Files) -> int:
    """Rows of the dict-based peer with this `loads` (orjson, json, msgspec untyped)."""
    return sum(len(rows) for rows in dict_peer_rows(loads, files))


# -- the msgspec peer: typed envelope, raw payload, typed Structs for the payloads that make rows ---
class Envelope(msgspec.Struct, gc=False):
    type: str
    payload: msgspec.Raw = msgspec.Raw()
    timestamp: str | None = None
    ordinal: int | None = None


class Text(msgspec.Struct, gc=False):
    type: str = ""
    text: str = ""


class Message(msgspec.Struct, tag="message", gc=False):
    role: str = ""
    content: list[Text] = []


class Reasoning(msgspec.Struct, tag="reasoning", gc=False):
    summary: list[Text] = []


class FunctionCall(msgspec.Struct, tag="function_call", gc=False):
    call_id: str | None = None
    arguments: str = "{}"


class FunctionCallOutput(msgspec.Struct, tag="function_call_output", gc=False):
    call_id: str | None = None
    output: str = ""


class CustomToolCall(msgspec.Struct, tag="custom_tool_call", gc=False):
    call_id: str | None = None
    name: str | None = None
    input: str = ""


class CustomToolCallOutput(msgspec.Struct, tag="custom_tool_call_output", gc=False):
    call_id: str | None = None
    output: str = ""


class UserItem(msgspec.Struct, gc=False):
    type: str = ""
    content: list[Text] = []


class Event(msgspec.Struct, gc=False):
    type: str = ""
    message: str | None = None
    turn_id: str | None = None
    item: UserItem | None = None


class SessionMeta(msgspec.Struct, gc=False):
    id: str | None = None


class TurnContext(msgspec.Struct, gc=False):
    turn_id: str | None = None


class ShellArgs(msgspec.Struct, gc=False):
    cmd: str | None = None
    command: list[str] | None = None


Item = Message | Reasoning | FunctionCall | FunctionCallOutput | CustomToolCall | CustomToolCallOutput
_ENVELOPE = msgspec.json.Decoder(Envelope)
_ITEM = msgspec.json.Decoder(Item)
_EVENT = msgspec.json.Decoder(Event)
_SESSION_META = msgspec.json.Decoder(SessionMeta)
_TURN_CONTEXT = msgspec.json.Decoder(TurnContext)
_ARGS = msgspec.json.Decoder(ShellArgs)


def _join(content: list[Text], kind: str) -> str:
    return "\n".join([c.text for c in content if c.type == kind])


def _envelopes(data: bytes) -> Iterable[Envelope]:
    """The envelope of every line: all lines at once, or line by line (skipping bad ones) if one fails."""
    try:
        return _ENVELOPE.decode_lines(data)
    except msgspec.DecodeError:
        pass
    out = []
    for line in data.split(b"\n"):
        try:
            out.append(_ENVELOPE.decode(line))
        except msgspec.DecodeError:  # a bad line (or the empty last one)
            continue
    return out


def msgspec_peer_rows(files: Files) -> Iterable[list[dict[str, Any]]]:
    """The rows of each file, with the typed msgspec decoding (same mapping as `dict_peer_rows`)."""
    seen: set[str] = set()
    item, event = _ITEM.decode, _EVENT.decode
    for path, data in files:
        st = _file_peer(path, seen)
        for o in _envelopes(data):
            try:
                t, ts = o.type, o.timestamp
                if t == "response_item":
                    p = item(o.payload)  # payload types that make no row fail the tag check here
                    if type(p) is FunctionCallOutput:
                        call = st.pending.pop(p.call_id, None)
                        if type(call) is FunctionCall:
                            try:
                                args = _ARGS.decode(call.arguments or "{}")
                            except msgspec.DecodeError:
                                args = ShellArgs()
                            st.shell(p.call_id, args.cmd or " ".join(args.command or ()), p.output, ts)
                    elif type(p) is FunctionCall or type(p) is CustomToolCall:
                        st.pending[p.call_id] = p
                    elif type(p) is CustomToolCallOutput:
                        call = st.pending.pop(p.call_id, None)
                        if type(call) is CustomToolCall:
                            st.custom(p.call_id, call.name, call.input, p.output, ts)
                    elif type(p) is Message:
                        if p.role == "assistant":
                            text = _join(p.content, "output_text")
                            st.emit("assistant", "message", text, None, text, ts)
                        elif p.role == "developer" or p.role == "system":
                            text = _join(p.content, "input_text")
                            st.emit("system", "context", text, None, text, ts)
                    elif type(p) is Reasoning:
                        text = _join(p.summary, "summary_text")
                        st.emit("assistant", "reason", text, None, text, ts)
                elif t == "event_msg":
                    e = event(o.payload)
                    if e.type == "user_message":
                        st.user(e.message, ts)
                    elif e.type == "item_completed" and e.item is not None and e.item.type == "UserMessage":
                        st.user(_join(e.item.content, "text"), ts)
                    elif e.type == "task_started":
                        st.turn_id = e.turn_id or st.turn_id
                elif t == "turn_context":
                    st.turn_id = _TURN_CONTEXT.decode(o.payload).turn_id or st.turn_id
                elif t == "session_meta":
                    st.tid = _SESSION_META.decode(o.payload).id or st.tid
            except msgspec.DecodeError:  # also ValidationError: a shape this peer does not map
                continue
        yield st.out


def run_msgspec_peer(files: Files) -> int:
    """Rows of the typed msgspec peer."""
    return sum(len(rows) for rows in msgspec_peer_rows(files))


def codex_peers() -> dict[str, Callable[[Files], int]]:
    """Every Codex peer by name: the typed msgspec peer and the dict-based ones."""
    found: dict[str, Callable[[Files], int]] = {"msgspec": run_msgspec_peer}
    for name, loads in loads_peers().items():
        found[name] = functools.partial(run_dict_peer, loads)
    return found
