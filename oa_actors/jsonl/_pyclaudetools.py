"""Claude Code tool rows (twin: `rust_ext/src/claude_tools.rs`): one row per `tool_use`, paired
with the `tool_result` that has its id, whatever order the two were written in
(docs/formats-mapping.md, "Claude Code").
"""

from __future__ import annotations

from typing import Any

from oa_actors.jsonl._pycommon import _parse_i64, as_dict, as_list, as_str, excerpt, parse_json_arg
from oa_actors.jsonl._pymapper import MapperState
from oa_actors.jsonl._pyorder import Plan

FILE_TOOLS = frozenset({"Write", "Edit", "MultiEdit", "NotebookEdit"})
TODO_TOOLS = frozenset({"TodoWrite", "TaskCreate", "TaskUpdate", "TaskList", "TaskGet"})
SEARCH_TOOLS = frozenset({"WebSearch", "WebFetch"})
AGENT_TOOLS = frozenset({"Agent", "Task"})
ORPHANS_MAX = 16  # tool results held for a tool_use written after them


def result_text(content: Any) -> str | None:
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


def exit_code(call_input: Any, result: dict[str, Any] | None) -> int | None:
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


def todo_items(name: str, call_input: Any, structured: Any) -> list[dict[str, Any]]:
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


def tool_row(
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
            "exitCode": exit_code(inp, result),
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
            {"items": todo_items(name, inp, structured), "isError": is_error},
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


def flush_pending(
    st: MapperState, out: list[dict[str, Any]], plan: Plan | None = None, ts: int | None = None
) -> None:
    """Calls that never got a result still get their row (in tool_use id order). In a session file
    only the calls that come before this prompt (`plan`, `ts`): a prompt written after the reply it
    caused keeps that reply's calls waiting for their results."""
    for call_id in sorted(st.pending):
        call = st.pending[call_id]
        if plan is None or (plan.before(call.get("pos")) and not later(call.get("ts"), ts)):
            del st.pending[call_id]
            tool_row(st, call_id, call, None, out)


def later(a: Any, b: int | None) -> bool:
    """True if timestamp `a` is known to be after `b`."""
    return isinstance(a, int) and b is not None and a > b


def hold_orphan(st: MapperState, item: list[Any]) -> None:
    """Keep a tool result whose tool_use was not read yet: `[callId, result, ts, uuid]` (`ts`,
    `uuid`: the result's record), at most ORPHANS_MAX, oldest dropped first."""
    held = st.extra.get("orphans")
    if not isinstance(held, list):
        held = st.extra["orphans"] = []
    held.append(item)
    del held[:-ORPHANS_MAX]


def take_orphan(st: MapperState, call_id: str) -> list[Any] | None:
    held = st.extra.get("orphans")
    if isinstance(held, list):
        for i, item in enumerate(held):
            if item[0] == call_id:
                del held[i]
                return list(item)
    return None
