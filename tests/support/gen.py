"""Generated Codex rollouts (classic format with the duplicate event/response copies), for tests and
benches."""

from __future__ import annotations

import json
import uuid
from pathlib import Path


def rollout_lines(thread_id: str, turns: int, text_size: int = 200, seed: int = 0) -> list[str]:
    ts = "2026-11-22T01:{:02d}:{:02d}.{:03d}Z"
    lines = []
    n = 0

    def stamp() -> str:
        nonlocal n
        n += 1
        return ts.format((n // 60) % 60, n % 60, n % 1000)

    def rec(t: str, payload: dict) -> None:
        lines.append(json.dumps({"timestamp": stamp(), "type": t, "payload": payload}, ensure_ascii=False))

    rec(
        "session_meta",
        {
            "id": thread_id,
            "timestamp": stamp(),
            "cwd": f"/home/dev/p{seed % 7}",
            "originator": "codex_exec",
            "cli_version": "0.120.0",
            "source": "exec",
            "git": {
                "commit_hash": "ab" * 20,
                "branch": "main",
                "repository_url": "https://example.com/r.git",
            },
        },
    )
    rec(
        "response_item",
        {
            "type": "message",
            "role": "user",
            "content": [
                {
                    "type": "input_text",
                    "text": "<environment_context>\n  <cwd>/home/dev</cwd>\n</environment_context>",
                }
            ],
        },
    )
    for t in range(turns):
        prompt = f"prompt {t} of {thread_id} " + "p" * (seed % 13)
        reply = f"reply {t} of {thread_id} " + ("lorem ipsum " * (text_size // 12))
        rec(
            "turn_context",
            {
                "cwd": "/home/dev",
                "approval_policy": "never",
                "sandbox_policy": {"mode": "read-only"},
                "model": "gpt-5-codex",
                "summary": "auto",
            },
        )
        rec(
            "response_item",
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]},
        )
        rec("event_msg", {"type": "user_message", "message": prompt, "images": []})
        rec(
            "response_item",
            {
                "type": "function_call",
                "name": "shell",
                "call_id": f"call_{t}",
                "arguments": json.dumps({"command": ["bash", "-lc", f"echo {t}"], "timeout_ms": 1000}),
            },
        )
        rec(
            "response_item",
            {
                "type": "function_call_output",
                "call_id": f"call_{t}",
                "output": json.dumps(
                    {"output": f"{t}\n", "metadata": {"exit_code": t % 3, "duration_seconds": 0.1}}
                ),
            },
        )
        rec(
            "response_item",
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": reply}]},
        )
        rec("event_msg", {"type": "agent_message", "message": reply})
        rec(
            "event_msg",
            {
                "type": "token_count",
                "info": {
                    "total_token_usage": {
                        "input_tokens": 1000 * (t + 1),
                        "cached_input_tokens": 0,
                        "output_tokens": 20,
                        "reasoning_output_tokens": 0,
                        "total_tokens": 1020 * (t + 1),
                    }
                },
            },
        )
    return lines


def write_sessions(root: Path, count: int, turns: int = 2, text_size: int = 200) -> list[Path]:
    """`count` rollout files under root/YYYY/MM/DD/, spread over a few day folders."""
    paths = []
    for i in range(count):
        tid = str(uuid.UUID(int=(0x01A2 << 112) | i))
        day = root / "2026" / "11" / f"{10 + i % 5:02d}"
        day.mkdir(parents=True, exist_ok=True)
        p = day / f"rollout-2026-11-{10 + i % 5:02d}T01-00-00-{tid}.jsonl"
        p.write_text("\n".join(rollout_lines(tid, turns, text_size, seed=i)) + "\n")
        paths.append(p)
    return paths


def heavy_rollout_lines(thread_id: str, calls: int = 200, input_size: int = 6000, seed: int = 0) -> list[str]:
    """One turn whose rows carry their weight in tool arguments: `calls` custom tool calls with
    `input_size`-byte inputs (as big patches and MCP payloads do), each with its output.

    Rows: the prompt, one `tool` row per call (its `arguments` hold the whole input) and the reply.
    """
    ts = "2026-11-22T02:{:02d}:{:02d}.{:03d}Z"
    lines: list[str] = []
    n = 0

    def rec(t: str, payload: dict) -> None:
        nonlocal n
        n += 1
        stamp = ts.format((n // 60) % 60, n % 60, n % 1000)
        lines.append(json.dumps({"timestamp": stamp, "type": t, "payload": payload}, ensure_ascii=False))

    meta = {"id": thread_id, "timestamp": "2026-11-22T02:00:00.000Z", "cwd": "/home/dev/heavy"}
    rec("session_meta", {**meta, "originator": "codex_exec", "cli_version": "0.120.0", "source": "exec"})
    rec("event_msg", {"type": "user_message", "message": f"heavy prompt of {thread_id}", "images": []})
    filler = "".join(chr(ord("a") + (i * 7 + seed) % 26) for i in range(97))
    for c in range(calls):
        body = (f"call {c} of {thread_id}\n" + filler * (input_size // len(filler) + 1))[:input_size]
        rec(
            "response_item",
            {"type": "custom_tool_call", "call_id": f"c{c}", "name": "js_repl", "input": body},
        )
        rec("response_item", {"type": "custom_tool_call_output", "call_id": f"c{c}", "output": f"ok {c}"})
    rec(
        "response_item",
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "done"}]},
    )
    return lines


def write_heavy_sessions(root: Path, count: int, calls: int = 200, input_size: int = 6000) -> list[Path]:
    """`count` heavy rollouts (see `heavy_rollout_lines`) in one day folder under root."""
    day = root / "2026" / "11" / "23"
    day.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        tid = str(uuid.UUID(int=(0x0BEE << 112) | i))
        p = day / f"rollout-2026-11-23T02-00-00-{tid}.jsonl"
        p.write_text("\n".join(heavy_rollout_lines(tid, calls, input_size, seed=i)) + "\n")
        paths.append(p)
    return paths


def big_line_session(path: Path, thread_id: str, input_bytes: int, mcp_result_bytes: int = 0) -> None:
    """A valid rollout with one very long line: a custom tool call whose input is `input_bytes`
    long (or, with `mcp_result_bytes`, an MCP call whose arguments and result are both big, so one
    row is made of two long lines), then ordinary lines after it."""
    lines = heavy_rollout_lines(thread_id, calls=0)
    last = lines.pop()  # the assistant reply goes after the big call
    stamp = "2026-11-22T02:30:00.000Z"
    if mcp_result_bytes:
        args = json.dumps({"blob": "a" * input_bytes})
        call = {"type": "function_call", "call_id": "big", "name": "mcp__files__put", "arguments": args}
        output = json.dumps({"echo": "r" * mcp_result_bytes})
    else:
        call = {"type": "custom_tool_call", "call_id": "big", "name": "js_repl", "input": "x" * input_bytes}
        output = "ok big"
    out_type = "function_call_output" if mcp_result_bytes else "custom_tool_call_output"
    lines.append(json.dumps({"timestamp": stamp, "type": "response_item", "payload": call}))
    lines.append(
        json.dumps(
            {
                "timestamp": stamp,
                "type": "response_item",
                "payload": {"type": out_type, "call_id": "big", "output": output},
            }
        )
    )
    lines.append(last)
    lines.append(
        json.dumps(
            {
                "timestamp": stamp,
                "type": "event_msg",
                "payload": {"type": "user_message", "message": "after the big line"},
            }
        )
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
