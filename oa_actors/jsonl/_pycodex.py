"""Codex rollouts (classic 0.50/0.120 and 0.169 "paginated") and `codex exec --json` streams.

Rollouts hold most items twice (`response_item` and `event_msg`). Each item is read from ONE
canonical record so the copy never makes a second row (docs/formats-mapping.md has the table):
user prompts from `event_msg/user_message` (classic) or `item_completed/UserMessage` (0.169);
assistant text, reasoning and tools from `response_item`; everything else from `event_msg`.
"""

from __future__ import annotations

from typing import Any

from oa_actors.jsonl import _pyusage
from oa_actors.jsonl._pycommon import (
    as_dict,
    as_int,
    as_list,
    as_str,
    excerpt,
    parse_json_arg,
    parse_tool_output,
    parse_ts,
)
from oa_actors.jsonl._pymapper import MapperState, UnknownRecord

ROLLOUT_TYPES = frozenset(
    {
        "session_meta",
        "turn_context",
        "response_item",
        "event_msg",
        "compacted",
        "world_state",
        "token_usage_record",
    }
)
RESPONSE_ITEM_TYPES = frozenset(
    {
        "message",
        "reasoning",
        "function_call",
        "function_call_output",
        "custom_tool_call",
        "custom_tool_call_output",
        "web_search_call",
        "tool_search_call",
        "tool_search_output",
        "local_shell_call",
        "ghost_snapshot",
        "compaction",
        "image_generation_call",
    }
)
# Items of the response stream we read but that make no row (internal plumbing or undo state).
SILENT_ITEMS = frozenset({"tool_search_call", "tool_search_output", "ghost_snapshot", "compaction"})
# event_msg payloads that are copies of response_items, or bookkeeping with no row.
SILENT_EVENTS = frozenset(
    {
        "agent_message",
        "agent_reasoning",
        "agent_reasoning_raw_content",
        "context_compacted",
        "thread_settings_applied",
        "token_count",
        "task_started",
        "item_completed",
        "task_complete",
        "turn_aborted",
        "user_message",
        "error",
        "entered_review_mode",
        "exited_review_mode",
        "undo_completed",
        "thread_name_updated",
    }
)
INJECTED_PREFIXES = (
    "<environment_context>",
    "<user_instructions>",
    "<turn_aborted>",
    "<skills_instructions>",
    "<permissions instructions>",
    "<user_shell_command>",
    "<INSTRUCTIONS>",
    "# AGENTS.md instructions",
    "Another language model started to solve this problem",
)
SHELL_TOOLS = frozenset({"shell", "exec_command", "container.exec", "local_shell", "shell_command"})
EXEC_TYPES = frozenset(
    {
        "thread.started",
        "turn.started",
        "turn.completed",
        "turn.failed",
        "item.started",
        "item.updated",
        "item.completed",
        "error",
    }
)


def detect(obj: dict[str, Any]) -> str | None:
    """Which Codex format a first record belongs to: `rollout`, `exec`, or None (not Codex)."""
    t = obj.get("type")
    if not isinstance(t, str):
        t = None if t is None else ""
    if "payload" in obj and t in ROLLOUT_TYPES:
        return "rollout"
    if isinstance(t, str) and t in EXEC_TYPES and "payload" not in obj:
        return "exec"
    if t is None and "id" in obj and "timestamp" in obj:
        return "rollout"  # very early rollouts: a bare session meta first
    return None


# -- rollouts -------------------------------------------------------------------------------------
def _texts(content: Any, types: tuple[str, ...]) -> list[str]:
    return [
        c["text"]
        for c in as_list(content)
        if isinstance(c, dict) and c.get("type") in types and isinstance(c.get("text"), str)
    ]


def _usage(u: Any) -> dict[str, Any] | None:
    d = as_dict(u)
    if not d:
        return None
    return {
        "inputTokens": as_int(d.get("input_tokens")),
        "cachedInputTokens": as_int(d.get("cached_input_tokens")),
        "outputTokens": as_int(d.get("output_tokens")),
        "reasoningOutputTokens": as_int(d.get("reasoning_output_tokens")),
        "totalTokens": as_int(d.get("total_tokens")),
    }


def _session_meta(st: MapperState, p: dict[str, Any], ts: int | None) -> None:
    st.set_thread_id(p.get("id"), authoritative=True)
    created = parse_ts(p.get("timestamp"))
    if created is not None and st.thread["createdAt"] is None:
        st.thread["createdAt"] = created
    st.set_field("cwd", as_str(p.get("cwd")))
    st.set_field("cliVersion", as_str(p.get("cli_version")))
    git = p.get("git")
    if isinstance(git, dict):
        st.thread["git"] = {
            "commit": as_str(git.get("commit_hash")),
            "branch": as_str(git.get("branch")),
            "repo": as_str(git.get("repository_url")),
        }
    parent = as_str(p.get("forked_from_id")) or as_str(as_dict(p.get("history_base")).get("thread_id"))
    st.set_field("parentThreadId", parent)
    if st.thread["model"] is None:
        st.set_field(
            "model", as_str(as_dict(as_dict(p.get("base_instructions")).get("provenance")).get("model"))
        )


def _is_injected(p: dict[str, Any], text: str) -> bool:
    kinds = as_list(as_dict(p.get("internal_chat_message_metadata_passthrough")).get("content_item_kinds"))
    if kinds:
        return not any(isinstance(k, str) and k.startswith("user.") for k in kinds)
    return text.lstrip().startswith(INJECTED_PREFIXES)


def _message_item(
    st: MapperState, obj: dict[str, Any], p: dict[str, Any], ts: int | None, out: list[dict[str, Any]]
) -> None:
    role = p.get("role")
    if as_dict(obj.get("metadata")).get("compaction_output") is True:
        return  # the model's raw reply to a compaction request; the `compacted` record carries it
    if role == "assistant":
        text = "\n".join(_texts(p.get("content"), ("output_text", "input_text")))
        if text:
            st.emit(out, "assistant", "message", text, None, text, ts)
    elif role in ("developer", "system"):
        text = "\n\n".join(_texts(p.get("content"), ("input_text", "output_text")))
        if text:
            st.emit(out, "system", "context", text, None, text, ts)
    elif role == "user":
        text = "\n\n".join(_texts(p.get("content"), ("input_text",)))
        # The user's own prompt is read from its event copy; only injected context is kept here.
        if text and _is_injected(p, text):
            st.emit(out, "system", "context", text, None, text, ts)


def _patch_changes(patch: str, cwd: str | None) -> list[dict[str, str]]:
    changes = []
    for line in patch.split("\n"):
        for prefix, kind in (
            ("*** Add File: ", "add"),
            ("*** Update File: ", "update"),
            ("*** Delete File: ", "delete"),
        ):
            if line.startswith(prefix):
                path = line[len(prefix) :].strip(" \r")
                if cwd and not path.startswith("/"):
                    path = cwd.rstrip("/") + "/" + path
                changes.append({"path": path, "kind": kind})
    return changes


def _tool_row(
    st: MapperState, call: dict[str, Any], call_id: str, output: Any, out: list[dict[str, Any]]
) -> None:
    """One row for a finished (or abandoned) tool call."""
    name = call.get("name") or ""
    ns = call.get("namespace")
    ts = call.get("ts")
    body, exit_code, duration = parse_tool_output(output)
    if name == "apply_patch":
        patch = (
            call.get("input")
            if call.get("input") is not None
            else as_str(as_dict(parse_json_arg(call.get("arguments"))).get("input"))
        )
        changes = _patch_changes(patch or "", st.thread["cwd"])
        text = "\n".join(f"{c['kind']} {c['path']}" for c in changes)
        data = {"changes": changes, "exitCode": exit_code, "output": None if body is None else excerpt(body)}
        st.emit(out, "tool", "file", text, data, call_id, ts)
    elif name in SHELL_TOOLS:
        args = parse_json_arg(call.get("arguments"))
        command = _command_text(args)
        data = {
            "command": command,
            "exitCode": exit_code,
            "output": None if body is None else excerpt(body),
            "durationMs": duration,
        }
        st.emit(out, "tool", "cmd", command, data, call_id, ts)
    elif name == "update_plan":
        args = as_dict(parse_json_arg(call.get("arguments")))
        items = [
            {"text": as_str(s.get("step")), "status": as_str(s.get("status"))}
            for s in as_list(args.get("plan"))
            if isinstance(s, dict)
        ]
        st.emit(out, "tool", "todo", as_str(args.get("explanation")), {"items": items}, call_id, ts)
    elif (isinstance(ns, str) and ns.startswith("mcp__")) or name.startswith("mcp__"):
        if isinstance(ns, str) and ns.startswith("mcp__"):
            server, tool = ns[len("mcp__") :], name
        else:
            server, _, tool = name[len("mcp__") :].partition("__")
        result = parse_json_arg(body) if body is not None else None
        data = {
            "server": server,
            "tool": tool,
            "arguments": parse_json_arg(call.get("arguments")),
            "result": result,
        }
        st.emit(out, "tool", "mcp", f"{server}.{tool}", data, call_id, ts)
    else:
        args = parse_json_arg(call.get("arguments")) if call.get("input") is None else call.get("input")
        data = {"name": name, "arguments": args, "output": None if body is None else excerpt(body)}
        st.emit(out, "tool", "tool", name, data, call_id, ts)


def _command_text(args: Any) -> str | None:
    if isinstance(args, dict):
        cmd = args.get("cmd", args.get("command"))
        if isinstance(cmd, str):
            return cmd
        if isinstance(cmd, list) and all(isinstance(c, str) for c in cmd):
            if len(cmd) == 3 and cmd[1] in ("-lc", "-c") and cmd[0].endswith(("bash", "sh", "zsh")):
                return str(cmd[2])
            return " ".join(cmd)
    return args if isinstance(args, str) else None


def _flush_pending(st: MapperState, out: list[dict[str, Any]]) -> None:
    """Calls that never got an output (turn ended or was interrupted) still get their row."""
    for call_id in sorted(st.pending):
        _tool_row(st, st.pending[call_id], call_id, None, out)
    st.pending = {}


def _response_item(
    st: MapperState, obj: dict[str, Any], p: dict[str, Any], ts: int | None, out: list[dict[str, Any]]
) -> None:
    t = p.get("type")
    if t == "message":
        _message_item(st, obj, p, ts, out)
    elif t == "reasoning":
        parts = _texts(p.get("summary"), ("summary_text",)) or _texts(
            p.get("content"), ("reasoning_text", "text")
        )
        text = "\n".join(parts)
        if text:
            st.emit(out, "assistant", "reason", text, None, text, ts)
    elif t in ("function_call", "custom_tool_call"):
        call_id = as_str(p.get("call_id")) or as_str(p.get("id"))
        if call_id is not None:
            st.pending[call_id] = {
                "name": as_str(p.get("name")),
                "namespace": as_str(p.get("namespace")),
                "arguments": p.get("arguments") if t == "function_call" else None,
                "input": as_str(p.get("input")) if t == "custom_tool_call" else None,
                "ts": ts,
            }
    elif t in ("function_call_output", "custom_tool_call_output"):
        call_id = as_str(p.get("call_id"))
        call = st.pending.pop(call_id, None) if call_id is not None else None
        if call is not None and call_id is not None:
            _tool_row(st, call, call_id, p.get("output"), out)
    elif t == "web_search_call":
        action = as_dict(p.get("action"))
        query = as_str(action.get("query")) or as_str(p.get("query"))
        identity = as_str(p.get("id")) or (query or "")
        st.emit(out, "tool", "search", query, {"query": query}, identity, ts)
    elif isinstance(t, str) and t in SILENT_ITEMS:
        return
    else:
        raise UnknownRecord(f"response_item/{t}")


def _event(st: MapperState, p: dict[str, Any], ts: int | None, out: list[dict[str, Any]]) -> None:
    t = p.get("type")
    if t == "user_message":
        text = as_str(p.get("message")) or ""
        images = [
            i if isinstance(i, str) and not i.startswith("data:") else "inline"
            for i in as_list(p.get("images"))
        ]
        if text or images:
            st.new_turn()
            st.emit(out, "user", "message", text, {"images": images} if images else None, text, ts)
    elif t == "item_completed":
        item = as_dict(p.get("item"))
        if item.get("type") == "UserMessage":
            content = as_list(item.get("content"))
            text = "\n".join(
                c["text"]
                for c in content
                if isinstance(c, dict) and c.get("type") == "text" and isinstance(c.get("text"), str)
            )
            images = [
                as_str(c.get("path")) or "inline"
                for c in content
                if isinstance(c, dict) and c.get("type") in ("local_image", "image")
            ]
            if text or images:
                st.turn_id = as_str(p.get("turn_id")) or st.turn_id
                st.new_turn()
                st.emit(out, "user", "message", text, {"images": images} if images else None, text, ts)
    elif t == "task_started":
        st.turn_id = as_str(p.get("turn_id")) or st.turn_id
    elif t == "task_complete":
        _flush_pending(st, out)
        err = as_dict(p.get("error"))
        msg = as_str(err.get("message"))
        if msg:
            st.emit(out, "system", "error", msg, {"message": msg}, msg, ts)
    elif t == "turn_aborted":
        _flush_pending(st, out)
        reason = as_str(p.get("reason")) or "interrupted"
        st.emit(out, "system", "aborted", f"Turn {reason}", {"reason": reason}, reason, ts)
    elif t == "error":
        msg = as_str(p.get("message"))
        if msg:
            st.emit(out, "system", "error", msg, {"message": msg}, msg, ts)
    elif t == "token_count":
        info = as_dict(p.get("info"))
        st.set_field("usage", _usage(info.get("total_token_usage")))
        if not info:
            _pyusage.codex_restart(st)  # a process starts, before its first response (0.50)
        else:
            _pyusage.codex_total(st, out, info.get("total_token_usage"), info.get("last_token_usage"), "", ts)
    elif t == "thread_settings_applied":
        settings = as_dict(p.get("thread_settings"))
        st.set_field("model", as_str(settings.get("model")))
        st.set_field("cwd", as_str(settings.get("cwd")))
    elif t == "thread_name_updated":
        st.set_field("title", as_str(p.get("thread_name")) or as_str(p.get("name")))
    elif isinstance(t, str) and t in SILENT_EVENTS:
        return
    else:
        raise UnknownRecord(f"event_msg/{t}")


COMPACTION_WRAPPER = "Another language model started to solve this problem"


def _compaction_summary(message: str | None) -> str | None:
    """The summary itself: 0.120+ wraps it in a fixed preamble that ends with `:\n`."""
    if message and message.startswith(COMPACTION_WRAPPER):
        i = message.find(":\n")
        if i >= 0:
            return message[i + 2 :]
    return message


def map_rollout(st: MapperState, obj: dict[str, Any], out: list[dict[str, Any]]) -> None:
    """Map one rollout record (any generation) into `out`; raises UnknownRecord for unknown types."""
    t = obj.get("type")
    ts = parse_ts(obj.get("timestamp"))
    p = obj.get("payload")
    if not isinstance(p, dict):
        if t is None and "id" in obj:  # very early format: bare session meta
            st.touch(ts)
            _session_meta(st, obj, ts)
            return
        if isinstance(t, str) and t in RESPONSE_ITEM_TYPES:  # very early format: bare items
            st.touch(ts)
            _response_item(st, obj, obj, ts, out)
            return
        raise UnknownRecord(f"{t}")
    st.touch(ts)
    if t == "response_item":
        _response_item(st, obj, p, ts, out)
    elif t == "event_msg":
        _event(st, p, ts, out)
    elif t == "session_meta":
        _session_meta(st, p, ts)
    elif t == "turn_context":
        st.turn_id = as_str(p.get("turn_id")) or st.turn_id
        st.set_field("model", as_str(p.get("model")))
        st.set_field("cwd", as_str(p.get("cwd")))
    elif t == "compacted":
        msg = _compaction_summary(as_str(p.get("message")))
        if msg:
            st.emit(out, "system", "compaction", msg, None, msg, ts)
    elif t in ("world_state", "token_usage_record"):
        return
    else:
        raise UnknownRecord(f"{t!r}")


# -- exec --json stdout ---------------------------------------------------------------------------
def _exec_item(st: MapperState, item: dict[str, Any], out: list[dict[str, Any]]) -> None:
    it = item.get("type")
    identity = f"{st.invocation}:{item.get('id')}"
    if it == "agent_message":
        st.emit(out, "assistant", "message", as_str(item.get("text")), None, identity, None)
    elif it == "reasoning":
        st.emit(out, "assistant", "reason", as_str(item.get("text")), None, identity, None)
    elif it == "command_execution":
        command = as_str(item.get("command"))
        output = as_str(item.get("aggregated_output"))
        data = {
            "command": command,
            "exitCode": as_int(item.get("exit_code")),
            "output": None if output is None else excerpt(output),
            "durationMs": None,
        }
        st.emit(out, "tool", "cmd", command, data, identity, None)
    elif it == "file_change":
        changes = [
            {"path": as_str(c.get("path")), "kind": as_str(c.get("kind"))}
            for c in as_list(item.get("changes"))
            if isinstance(c, dict)
        ]
        text = "\n".join(f"{c['kind']} {c['path']}" for c in changes)
        st.emit(
            out, "tool", "file", text, {"changes": changes, "exitCode": None, "output": None}, identity, None
        )
    elif it == "mcp_tool_call":
        server, tool = as_str(item.get("server")), as_str(item.get("tool"))
        result = item.get("result")
        err = as_dict(item.get("error"))
        data = {"server": server, "tool": tool, "arguments": item.get("arguments"), "result": result}
        if err:
            data["error"] = as_str(err.get("message"))
        st.emit(out, "tool", "mcp", f"{server}.{tool}", data, identity, None)
    elif it == "web_search":
        query = as_str(item.get("query"))
        st.emit(out, "tool", "search", query, {"query": query}, identity, None)
    elif it == "todo_list":
        items = [
            {
                "text": as_str(i.get("text")),
                "status": "completed" if i.get("completed") is True else "pending",
            }
            for i in as_list(item.get("items"))
            if isinstance(i, dict)
        ]
        st.emit(out, "tool", "todo", None, {"items": items}, identity, None)
    elif it == "error":
        msg = as_str(item.get("message"))
        st.emit(out, "system", "error", msg, {"message": msg}, identity, None)
    else:
        raise UnknownRecord(f"item/{it}")


def map_exec(st: MapperState, obj: dict[str, Any], out: list[dict[str, Any]]) -> None:
    """Map one `codex exec --json` event into `out` (no timestamps exist in this format)."""
    t = obj.get("type")
    if t == "thread.started":
        st.set_thread_id(obj.get("thread_id"), authoritative=True)
        st.invocation += 1
        _pyusage.codex_restart(st)
    elif t == "turn.started":
        st.new_turn()
    elif t == "item.completed":
        _exec_item(st, as_dict(obj.get("item")), out)
    elif t in ("item.started", "item.updated"):
        return
    elif t == "turn.completed":
        st.set_field("usage", _usage(obj.get("usage")))
        _pyusage.codex_total(st, out, obj.get("usage"), None, f"{st.invocation}:", None)
    elif t == "turn.failed":
        msg = as_str(as_dict(obj.get("error")).get("message"))
        st.emit(out, "system", "error", msg, {"message": msg}, f"{st.invocation}:turn.failed:{msg}", None)
    elif t == "error":
        msg = as_str(obj.get("message"))
        st.emit(out, "system", "error", msg, {"message": msg}, f"{st.invocation}:error:{msg}", None)
    else:
        raise UnknownRecord(f"{t}")
