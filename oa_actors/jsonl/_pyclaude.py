"""Claude Code session files (`~/.claude/projects/<escaped-cwd>/<sessionId>.jsonl`, subagent
transcripts `<sessionId>/subagents/agent-<agentId>.jsonl`) and `claude -p --output-format
stream-json --verbose` stdout (FORMATS-claude.md). This module is the spec of the Rust port:
every rule is spelled out below and in docs/formats-mapping.md ("Claude Code").

Decisions (see the docs for the full table):
- A session file is one thread, `threadId` = `sessionId`. A subagent transcript (first record with
  `isSidechain: true`) is its own thread `<sessionId>/agent-<agentId>` with `parentThreadId` =
  `sessionId`; sidechain records met in a main file make no row (they belong to the subagent file).
- One API response is stored as one assistant record per content block: each text block is an
  assistant/message, each thinking block an assistant/reason (identity `<uuid>:<block index>`).
- `tool_use` waits in `pending` until the `tool_result` with the same id arrives; then ONE tool row
  (identity = the tool_use id, `ts` of the tool_use). Calls still pending when the next prompt
  starts (or a stream's `result` arrives) get their row without output.
- Attachments, `system` records, metadata lines, hook output, file-history snapshots and stream
  partials (`stream_event`) make no row. CLI-made assistant records (`model: "<synthetic>"`) make
  none either, except API errors (system/error).
- A `--fork-session` file holds copies of the parent's records (same uuids, new sessionId): it is a
  new thread; the file carries no pointer to the parent session, so `parentThreadId` stays null.
"""

from __future__ import annotations

from typing import Any

from oa_actors.jsonl._pycommon import (
    I64_MAX,
    I64_MIN,
    _parse_i64,
    as_dict,
    as_int,
    as_list,
    as_str,
    excerpt,
    parse_json_arg,
    parse_ts,
)
from oa_actors.jsonl._pymapper import MapperState, UnknownRecord

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
FILE_TOOLS = frozenset({"Write", "Edit", "MultiEdit", "NotebookEdit"})
TODO_TOOLS = frozenset({"TodoWrite", "TaskCreate", "TaskUpdate", "TaskList", "TaskGet"})
SEARCH_TOOLS = frozenset({"WebSearch", "WebFetch"})
AGENT_TOOLS = frozenset({"Agent", "Task"})


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


def _add_usage(st: MapperState, u: Any) -> None:
    """Add one API usage object to the thread's cumulative usage."""
    d = as_dict(u)
    if not d:
        return
    inp = as_int(d.get("input_tokens")) or 0
    cache_new = as_int(d.get("cache_creation_input_tokens")) or 0
    cache_read = as_int(d.get("cache_read_input_tokens")) or 0
    out = as_int(d.get("output_tokens")) or 0
    cur = as_dict(st.thread["usage"])
    total_in = _sat(_sat(inp, cache_new), cache_read)
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


def _result_text(content: Any) -> str | None:
    """A tool_result's content: the string, or its text blocks joined by `\\n`."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            c["text"]
            for c in content
            if isinstance(c, dict) and c.get("type") == "text" and isinstance(c.get("text"), str)
        )
    return None


def _exit_code(call_input: Any, result: dict[str, Any] | None) -> int | None:
    """Bash: 0 for a successful result, N for an error result whose text starts `Exit code N`."""
    if result is None or as_dict(call_input).get("run_in_background") is True:
        return None
    if result.get("isError") is not True:
        return 0
    text = result.get("text")
    if isinstance(text, str) and text.startswith("Exit code "):
        rest = text[len("Exit code ") :]
        nl = rest.find("\n")
        return _parse_i64(rest if nl < 0 else rest[:nl])
    return None


def _todo_items(name: str, call_input: Any, structured: Any) -> list[dict[str, Any]]:
    inp = as_dict(call_input)
    res = as_dict(structured)
    if name == "TodoWrite":
        return [
            {"text": as_str(t.get("content")), "status": as_str(t.get("status"))}
            for t in as_list(inp.get("todos"))
            if isinstance(t, dict)
        ]
    if name == "TaskCreate":
        return [{"text": as_str(inp.get("subject")), "status": "pending"}]
    if name == "TaskUpdate":
        task_id = as_str(inp.get("taskId"))
        text = as_str(inp.get("subject")) or (None if task_id is None else "#" + task_id)
        return [{"text": text, "status": as_str(inp.get("status"))}]
    tasks = as_list(res.get("tasks")) if name == "TaskList" else [res.get("task")]
    return [
        {"text": as_str(t.get("subject")), "status": as_str(t.get("status"))}
        for t in tasks
        if isinstance(t, dict)
    ]


def _tool_row(
    st: MapperState,
    call_id: str,
    call: dict[str, Any],
    result: dict[str, Any] | None,
    out: list[dict[str, Any]],
) -> None:
    """One row for a tool call; `result` is {text, isError, structured} or None (no result seen)."""
    name = call.get("name") or ""
    inp = call.get("input")
    ts = call.get("ts")
    text = None if result is None else result.get("text")
    is_error = None if result is None else result.get("isError") is True
    output = None if text is None else excerpt(text)
    structured = None if result is None else result.get("structured")
    if name == "Bash":
        command = as_str(as_dict(inp).get("command"))
        data: dict[str, Any] = {
            "command": command,
            "exitCode": _exit_code(inp, result),
            "output": output,
            "durationMs": None,
            "isError": is_error,
        }
        st.emit(out, "tool", "cmd", command, data, call_id, ts)
    elif name in FILE_TOOLS:
        d = as_dict(inp)
        path = as_str(d.get("file_path")) or as_str(d.get("notebook_path"))
        kind = "update"
        if name == "Write":
            kind = "update" if as_dict(structured).get("type") == "update" else "add"
        changes = [{"path": path, "kind": kind}]
        data = {"changes": changes, "exitCode": None, "output": output, "isError": is_error}
        st.emit(out, "tool", "file", kind if path is None else f"{kind} {path}", data, call_id, ts)
    elif name in TODO_TOOLS:
        row_text = None if name == "TodoWrite" else text
        st.emit(
            out,
            "tool",
            "todo",
            row_text,
            {"items": _todo_items(name, inp, structured), "isError": is_error},
            call_id,
            ts,
        )
    elif name in SEARCH_TOOLS:
        d = as_dict(inp)
        query = as_str(d.get("query")) if name == "WebSearch" else as_str(d.get("url"))
        st.emit(
            out, "tool", "search", query, {"query": query, "output": output, "isError": is_error}, call_id, ts
        )
    elif name.startswith("mcp__"):
        server, _, tool = name[len("mcp__") :].partition("__")
        res = None if text is None else parse_json_arg(text)
        data = {"server": server, "tool": tool, "arguments": inp, "result": res, "isError": is_error}
        st.emit(out, "tool", "mcp", f"{server}.{tool}", data, call_id, ts)
    else:
        data = {"name": name, "arguments": inp, "output": output, "isError": is_error}
        if name in AGENT_TOOLS:
            agent = as_str(as_dict(structured).get("agentId"))
            data["subagentThreadId"] = None if agent is None else f"{st.thread_id()}/agent-{agent}"
        st.emit(out, "tool", "tool", name, data, call_id, ts)


def _flush_pending(st: MapperState, out: list[dict[str, Any]]) -> None:
    """Calls that never got a result still get their row (in tool_use id order)."""
    for call_id in sorted(st.pending):
        _tool_row(st, call_id, st.pending[call_id], None, out)
    st.pending = {}


def _assistant(
    st: MapperState, obj: dict[str, Any], ts: int | None, stream: bool, out: list[dict[str, Any]]
) -> None:
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
        return
    st.set_field("model", model)
    if not stream:
        mid = as_str(msg.get("id"))
        if mid is not None and mid != st.extra.get("lastMessageId"):
            st.extra["lastMessageId"] = mid  # one response = several records sharing message.id
            _add_usage(st, msg.get("usage"))
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
            if call_id is not None:
                st.pending[call_id] = {"name": as_str(b.get("name")), "input": b.get("input"), "ts": ts}


def _set_turn(st: MapperState, prompt_id: str | None) -> None:
    if prompt_id is not None:
        st.turn_id = prompt_id


def _user(st: MapperState, obj: dict[str, Any], ts: int | None, out: list[dict[str, Any]]) -> None:
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
            call = st.pending.pop(call_id, None) if call_id is not None else None
            if call is None or call_id is None:
                continue  # a result without its call (cut file, or a copy): nothing to pair
            result = {
                "text": _result_text(b.get("content")),
                "isError": b.get("is_error") is True,
                "structured": structured if len(results) == 1 else None,
            }
            _tool_row(st, call_id, call, result, out)
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
        _flush_pending(st, out)  # calls still waiting get their rows in the turn they belong to
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
    if t == "assistant":
        _assistant(st, obj, ts, False, out)
    elif t == "user":
        _user(st, obj, ts, out)
    # attachment and system records: context, hooks, compaction markers: no row


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
        _flush_pending(st, out)
        _add_usage(st, obj.get("usage"))
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
