"""Claude Code session files (`~/.claude/projects/<escaped-cwd>/<sessionId>.jsonl`, subagent
transcripts `<sessionId>/subagents/agent-<agentId>.jsonl`) and `claude -p --output-format
stream-json --verbose` stdout. This module is the spec of the Rust port:
every rule is spelled out below and in docs/formats-mapping.md ("Claude Code").

Decisions (see the docs for the full table):
- A session file is one thread, `threadId` = `sessionId`. A subagent transcript (first record with
  `isSidechain: true`) is its own thread `<sessionId>/agent-<agentId>` with `parentThreadId` =
  `sessionId`; sidechain records met in a main file make no row (they belong to the subagent file).
- One API response is stored as one assistant record per content block: each text block is an
  assistant/message, each thinking block an assistant/reason (identity `<uuid>:<block index>`).
- `tool_use` waits in `pending` until the `tool_result` with the same id arrives; then ONE tool row
  (identity = the tool_use id, `ts` of the tool_use). Calls still pending when the next prompt
  starts (or a stream's `result` arrives) get their row without output. A result read before its
  tool_use is held until it arrives (`_pyclaudetools.py`).
- `seq` follows the conversation (the `parentUuid` chain), not the file: every transcript record
  is placed by `_pyorder.py` before its rows are numbered (docs/rows.md, "Order").
- Attachments, `system` records, metadata lines, hook output, file-history snapshots and stream
  partials (`stream_event`) make no row. CLI-made assistant records (`model: "<synthetic>"`) make
  none either, except API errors (system/error).
- A `--fork-session` file holds copies of the parent's records (same uuids, new sessionId): it is a
  new thread; the file carries no pointer to the parent session, so `parentThreadId` stays null.
"""

from __future__ import annotations

from typing import Any

from oa_actors.jsonl._pyclaudetools import (
    flush_pending,
    hold_orphan,
    later,
    result_text,
    take_orphan,
    tool_row,
)
from oa_actors.jsonl._pycommon import (
    I64_MAX,
    I64_MIN,
    as_dict,
    as_int,
    as_list,
    as_str,
    parse_ts,
)
from oa_actors.jsonl._pymapper import MapperState, UnknownRecord
from oa_actors.jsonl._pyorder import ConversationOrder, Plan
from oa_actors.jsonl._pyusage import claude_response, claude_usage

FORMATS = ("claude", "claude-stream")
TRANSCRIPT_TYPES = frozenset({"user", "assistant", "attachment", "system"})
# Lines outside the conversation chain (no uuid): read for the thread row or ignored, never rows.
METADATA_TYPES = frozenset(
    {
        "queue-operation",
        "last-prompt",
        "mode",
        "permission-mode",
        "ai-title",
        "custom-title",
        "agent-name",
        "summary",
        "file-history-snapshot",
        "tag",
        "pr-link",
        "worktree-state",
        "content-replacement",
        "agent-setting",
        "speculation-accept",
        "marble-origami-commit",
        "marble-origami-snapshot",
    }
)
STREAM_TYPES = frozenset({"system", "assistant", "user", "result", "stream_event"})
# stream-json lines that never make a row.
STREAM_SILENT = frozenset({"stream_event", "rate_limit_event", "tool_progress", "keep_alive", "auth_status"})
SYNTHETIC_MODEL = "<synthetic>"
# User strings the CLI writes for slash commands, `!` shell input and injected reminders.
CONTEXT_PREFIXES = (
    "<command-name>",
    "<command-message>",
    "<command-args>",
    "<local-command-stdout>",
    "<local-command-stderr>",
    "<local-command-caveat>",
    "<bash-input>",
    "<bash-stdout>",
    "<bash-stderr>",
    "<user-memory-input>",
    "<system-reminder>",
    "<task-notification>",
)
INTERRUPT_PREFIX = "[Request interrupted by user"
COMPACT_PREAMBLE = "This session is being continued from a previous conversation"


def detect(obj: dict[str, Any]) -> str | None:
    """`claude` for a session-file line, `claude-stream` for a stream-json line, else None.

    Session files use `sessionId` (camelCase), stream-json uses `session_id`.
    """
    t = obj.get("type")
    if not isinstance(t, str):
        return None
    if t in TRANSCRIPT_TYPES and isinstance(obj.get("sessionId"), str) and "uuid" in obj:
        return "claude"
    if t in METADATA_TYPES and (
        isinstance(obj.get("sessionId"), str) or t in ("file-history-snapshot", "summary")
    ):
        return "claude"  # (old files start with `summary` lines that carry no sessionId)
    if t in STREAM_TYPES and isinstance(obj.get("session_id"), str):
        return "claude-stream"
    return None


# -- helpers --------------------------------------------------------------------------------------
def _sat(a: int, b: int) -> int:
    """Saturating i64 addition (the Rust twin uses `i64::saturating_add`)."""
    return max(I64_MIN, min(I64_MAX, a + b))


def _add_usage(st: MapperState, u: Any) -> list[int] | None:
    """Add one API usage object to the thread's cumulative usage; returns the response's own
    counts (`_pyusage.claude_response`) for its usage row."""
    counts = claude_response(u)
    if counts is None:
        return None
    total_in, cache_read, _, out = counts[:4]
    cur = as_dict(st.thread["usage"])
    new_in = _sat(as_int(cur.get("inputTokens")) or 0, total_in)
    new_cached = _sat(as_int(cur.get("cachedInputTokens")) or 0, cache_read)
    new_out = _sat(as_int(cur.get("outputTokens")) or 0, out)
    st.thread["usage"] = {
        "inputTokens": new_in,
        "cachedInputTokens": new_cached,
        "outputTokens": new_out,
        "reasoningOutputTokens": None,
        "totalTokens": _sat(new_in, new_out),
    }
    return counts


def _assistant(
    st: MapperState,
    obj: dict[str, Any],
    ts: int | None,
    stream: bool,
    out: list[dict[str, Any]],
    plan: Plan | None = None,
    paired: list[tuple[str, dict[str, Any], list[Any]]] | None = None,
) -> tuple[list[int] | None, str] | None:
    """Map an assistant record; returns the usage of a response seen for the first time (its
    counts and message id) for the caller to emit once the record's rows are placed."""
    msg = as_dict(obj.get("message"))
    uid = as_str(obj.get("uuid")) or ""
    model = as_str(msg.get("model"))
    blocks = as_list(msg.get("content"))
    if model == SYNTHETIC_MODEL:
        # Made by the CLI, not the model: API errors are shown, the rest ("No response requested.") is not.
        if obj.get("isApiErrorMessage") is True or (stream and isinstance(obj.get("error"), str)):
            text = "\n".join(
                b["text"]
                for b in blocks
                if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
            )
            st.emit(out, "system", "error", text, {"message": text}, uid, ts)
        return None
    st.set_field("model", model)
    response: tuple[list[int] | None, str] | None = None
    if not stream:
        mid = as_str(msg.get("id"))
        if mid is not None and mid != st.extra.get("lastMessageId"):
            st.extra["lastMessageId"] = mid  # one response = several records sharing message.id
            response = (_add_usage(st, msg.get("usage")), mid)
    for i, b in enumerate(blocks):
        if not isinstance(b, dict):
            continue
        bt = b.get("type")
        identity = f"{uid}:{i}"
        if bt == "text":
            body = as_str(b.get("text"))
            if body:
                st.emit(out, "assistant", "message", body, None, identity, ts)
        elif bt == "thinking":
            body = as_str(b.get("thinking"))
            if body:
                st.emit(out, "assistant", "reason", body, None, identity, ts)
        elif bt == "tool_use":
            call_id = as_str(b.get("id"))
            if call_id is None:
                continue
            call = {"name": as_str(b.get("name")), "input": b.get("input"), "ts": ts}
            orphan = take_orphan(st, call_id) if plan is not None else None
            if orphan is not None and paired is not None:
                paired.append((call_id, call, orphan))  # its result was written first
            else:
                st.pending[call_id] = {**call, "pos": None if plan is None else plan.lo}
    return response


def _set_turn(st: MapperState, prompt_id: str | None) -> None:
    if prompt_id is not None:
        st.turn_id = prompt_id


def _user(
    st: MapperState,
    obj: dict[str, Any],
    ts: int | None,
    out: list[dict[str, Any]],
    plan: Plan | None = None,
) -> None:
    msg = as_dict(obj.get("message"))
    uid = as_str(obj.get("uuid")) or ""
    content = msg.get("content")
    prompt_id = as_str(obj.get("promptId"))
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else as_list(content)
    results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
    if results:
        _set_turn(st, prompt_id)
        structured = obj["toolUseResult"] if "toolUseResult" in obj else obj.get("tool_use_result")
        for b in results:
            call_id = as_str(b.get("tool_use_id"))
            if call_id is None:
                continue
            result = {
                "text": result_text(b.get("content")),
                "isError": b.get("is_error") is True,
                "structured": structured if len(results) == 1 else None,
            }
            call = st.pending.pop(call_id, None)
            if call is not None:
                tool_row(st, call_id, call, result, out)
            elif plan is not None:
                # Its tool_use may still come (written after it); a cut file's stays unpaired.
                hold_orphan(st, [call_id, result, ts, as_str(obj.get("uuid"))])
        return
    text = "\n".join(
        b["text"]
        for b in blocks
        if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
    )
    images = ["inline" for b in blocks if isinstance(b, dict) and b.get("type") == "image"]
    if not text and not images:
        _set_turn(st, prompt_id)
        return
    if obj.get("isCompactSummary") is True or (
        obj.get("isSynthetic") is True and text.startswith(COMPACT_PREAMBLE)
    ):
        kind = "compaction"
    elif obj.get("isMeta") is True or text.startswith(CONTEXT_PREFIXES):
        kind = "context"
    elif text.startswith(INTERRUPT_PREFIX):
        kind = "aborted"
    else:
        kind = "prompt"
    if kind in ("aborted", "prompt"):
        flush_pending(st, out, plan, ts)  # calls still waiting get their rows in the turn they belong to
        held = st.extra.get("orphans")
        if plan is not None and plan.hi is None and isinstance(held, list) and held:
            # A new turn: earlier results whose call never came stay unpaired.
            st.extra["orphans"] = [o for o in held if later(o[2], ts)]
    _set_turn(st, prompt_id)
    if kind == "compaction":
        summary = text
        if text.startswith(COMPACT_PREAMBLE):
            i = text.find("\n\n")
            if i >= 0:
                summary = text[i + 2 :]
        st.emit(out, "system", "compaction", summary, None, uid, ts)
    elif kind == "context":
        st.emit(out, "system", "context", text, None, uid, ts)
    elif kind == "aborted":
        st.emit(out, "system", "aborted", text, {"reason": "interrupted"}, uid, ts)
    else:
        st.new_turn()
        st.emit(out, "user", "message", text, {"images": images} if images else None, text, ts)


# -- session files --------------------------------------------------------------------------------
def _identify(st: MapperState, obj: dict[str, Any]) -> bool:
    """Fix the thread from the first record with a sessionId; False if this record is skipped."""
    sid = as_str(obj.get("sessionId"))
    sidechain = obj.get("isSidechain") is True
    if not st.thread_from_meta and sid:
        if sidechain:
            agent = as_str(obj.get("agentId"))
            st.set_thread_id(f"{sid}/agent-{agent}" if agent else f"{sid}/sidechain", authoritative=True)
            st.thread["parentThreadId"] = sid
            st.extra["sidechain"] = True
        else:
            st.set_thread_id(sid, authoritative=True)
    # Sidechain records inside a main session file belong to the subagent's own transcript.
    return not (sidechain and st.extra.get("sidechain") is not True)


def map_claude(st: MapperState, obj: dict[str, Any], out: list[dict[str, Any]]) -> None:
    """Map one session-file line into `out`; raises UnknownRecord for unknown types."""
    t = obj.get("type")
    ts = parse_ts(obj.get("timestamp"))
    if isinstance(t, str) and t in METADATA_TYPES:
        st.touch(ts)
        if not st.thread_from_meta:
            st.set_thread_id(as_str(obj.get("sessionId")), authoritative=True)
        if t == "custom-title":
            title = as_str(obj.get("customTitle"))
            if title:
                st.thread["title"] = title
                st.extra["customTitle"] = True
        elif t in ("ai-title", "summary"):
            title = as_str(obj.get("aiTitle")) if t == "ai-title" else as_str(obj.get("summary"))
            if title and st.extra.get("customTitle") is not True:
                st.thread["title"] = title
        return
    if not isinstance(t, str) or t not in TRANSCRIPT_TYPES:
        raise UnknownRecord(f"claude/{t}")
    if not _identify(st, obj):
        return
    st.touch(ts)
    st.set_field("cwd", as_str(obj.get("cwd")))
    st.set_field("cliVersion", as_str(obj.get("version")))
    branch = as_str(obj.get("gitBranch"))
    if branch is not None:
        st.thread["git"] = (
            None if branch in ("", "HEAD") else {"commit": None, "branch": branch, "repo": None}
        )
    # Every transcript record is placed in the conversation (attachment and system records too:
    # they make no row but are links of the parentUuid chain).
    if st.order is None:
        st.order = ConversationOrder()
    uid = as_str(obj.get("uuid"))
    plan = st.order.plan(uid, as_str(obj.get("parentUuid")), ts, st.seq)
    start = len(out)
    paired: list[tuple[str, dict[str, Any], list[Any]]] = []
    response = None
    if t == "assistant":
        response = _assistant(st, obj, ts, False, out, plan, paired)
    elif t == "user":
        _user(st, obj, ts, out, plan)
    # attachment and system records: context, hooks, compaction markers: no row
    st.seq = st.order.commit(plan, out[start:])
    if response is not None:
        claude_usage(st, out, response[0], response[1], response[1], ts)
    for call_id, call, (_, result, rts, ruid) in paired:
        # A result read before its call: its row is the result record's, placed again now that
        # its parent (this record) is known.
        rplan = st.order.plan(ruid, uid, rts, st.seq)
        start = len(out)
        tool_row(st, call_id, call, result, out)
        st.seq = st.order.commit(rplan, out[start:])


# -- stream-json stdout ---------------------------------------------------------------------------
def map_claude_stream(st: MapperState, obj: dict[str, Any], out: list[dict[str, Any]]) -> None:
    """Map one `claude -p --output-format stream-json --verbose` line into `out`.

    Lines of a subagent (`parent_tool_use_id` set) make no row here: the subagent's own transcript
    file is its thread. Keys use the record uuids, so a replayed stream gives the same keys.
    """
    t = obj.get("type")
    ts = parse_ts(obj.get("timestamp"))
    st.touch(ts)
    if t == "system":
        if obj.get("subtype") == "init":
            st.set_thread_id(as_str(obj.get("session_id")), authoritative=True)
            st.invocation += 1
            st.set_field("cwd", as_str(obj.get("cwd")))
            st.set_field("cliVersion", as_str(obj.get("claude_code_version")))
            if st.thread["model"] is None:
                st.set_field("model", as_str(obj.get("model")))
        return
    if isinstance(t, str) and t in STREAM_SILENT:
        return
    if t not in ("assistant", "user", "result"):
        raise UnknownRecord(f"claude-stream/{t}")
    st.set_thread_id(as_str(obj.get("session_id")), authoritative=False)
    if t == "result":
        flush_pending(st, out)
        claude_usage(st, out, _add_usage(st, obj.get("usage")), None, f"{st.invocation}:result", ts)
        subtype = as_str(obj.get("subtype"))
        if obj.get("is_error") is True and subtype != "success":
            errors = [e for e in as_list(obj.get("errors")) if isinstance(e, str)]
            msg = "\n".join(errors) if errors else subtype
            st.emit(out, "system", "error", msg, {"message": msg}, f"{st.invocation}:result", ts)
        return
    if obj.get("parent_tool_use_id") is not None:
        return
    if t == "assistant":
        _assistant(st, obj, ts, True, out)
    else:
        _user(st, obj, ts, out)
