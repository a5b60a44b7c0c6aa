"""A scripted mock of the Anthropic Messages API (SSE) for driving the real Claude Code CLI offline.

Test infrastructure only. Binds 127.0.0.1 on an ephemeral port; the test that starts it stops it.
What the CLI sends (observed with Claude Code 2.1.197 in print mode): `HEAD /` (connectivity check), then
`POST /v1/messages?beta=true` with `stream: true`; the reply is Anthropic's SSE: `message_start`,
`ping`, per block `content_block_start` / `content_block_delta` / `content_block_stop`,
`message_delta` (stop_reason, usage) and `message_stop`.

The reply is chosen from a `[[S:NAME]]` tag in the newest user prompt of the conversation:
- default: one text block `Echo: <prompt>`
- `bash`: a `Bash` tool_use running the `cmd:` text of the prompt (or `echo hello`); once its
  tool_result is in the conversation, a text block `Done: the command ran.`
- `slow`: a reply streamed slowly (a few words a second) so a run can be interrupted
- `error`: HTTP 400 with an Anthropic error body (not retried by the CLI)
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

from tests.support.sse_mock import Reply, SSEMock

SCENARIO = re.compile(r"\[\[S:([a-z_]+)\]\]")
CMD = re.compile(r"cmd:\s*(.+?)\s*(?:\[\[S:|$)")
USAGE = {
    "input_tokens": 1200,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
    "output_tokens": 1,
}


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    return [c.get("text", "") for c in content or [] if isinstance(c, dict) and c.get("type") == "text"]


def _prompt(body: dict[str, Any]) -> tuple[str, bool]:
    """(the newest user prompt, whether a tool_result follows it) of a request body."""
    prompt = ""
    after = False
    for msg in body.get("messages", []):
        if msg.get("role") != "user":
            continue
        content = msg.get("content")
        if isinstance(content, list) and any(
            isinstance(c, dict) and c.get("type") == "tool_result" for c in content
        ):
            after = True
            continue
        texts = [t for t in _texts(content) if t.strip() and not t.lstrip().startswith("<")]
        if texts:
            prompt, after = texts[-1], False
    return prompt, after


class MockAnthropic(SSEMock):
    """The server; `url` is the base URL to give Claude Code (ANTHROPIC_BASE_URL).

    Use as a context manager."""

    name = "mock-anthropic"

    def __init__(self, slow_delay: float = 0.5) -> None:
        super().__init__()
        self.slow_delay = slow_delay
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every request so far: {"method", "path", "body"}."""
        return self.log

    def messages(self) -> list[dict[str, Any]]:
        """Bodies of every `POST /v1/messages` so far."""
        return [
            r["body"] for r in self.requests if r["method"] == "POST" and r["path"].startswith("/v1/messages")
        ]

    def env(self, config_dir: str) -> dict[str, str]:
        """Environment for the CLI to talk to this server only (a dummy key; telemetry, error
        reporting, the auto-updater and other traffic off)."""
        return {
            "ANTHROPIC_BASE_URL": self.url,
            "ANTHROPIC_API_KEY": "sk-ant-mock-dummy",
            "CLAUDE_CONFIG_DIR": config_dir,
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "CLAUDE_CODE_MAX_RETRIES": "1",
            "IS_SANDBOX": "1",  # --dangerously-skip-permissions refuses to start as root otherwise
        }

    # -- replies --------------------------------------------------------------------------------
    def _next_id(self, prefix: str) -> str:
        return f"{prefix}_mock{self.next_number():020d}"

    def route(self, path: str, body: dict[str, Any]) -> Reply:
        if path == "/v1/messages/count_tokens":
            return Reply(200, body={"input_tokens": 1200})
        if path != "/v1/messages":
            return Reply(404)
        if self.scenario(body)[0] == "error":
            return Reply(
                400,
                body={
                    "type": "error",
                    "error": {"type": "invalid_request_error", "message": "mock: scripted error"},
                },
            )
        return Reply(200, events=self.events(body), headers={"request-id": self._next_id("req")})

    def scenario(self, body: dict[str, Any]) -> tuple[str, str, bool]:
        prompt, after_tool = _prompt(body)
        m = SCENARIO.search(prompt)
        return (m.group(1) if m else "default"), prompt, after_tool

    def events(self, body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        scenario, prompt, after_tool = self.scenario(body)
        model = body.get("model") or "claude-opus-4-8"
        mid = self._next_id("msg")
        yield (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": mid,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": dict(USAGE),
                },
            },
        )
        yield "ping", {"type": "ping"}
        fmt = ((body.get("output_config") or {}).get("format") or {}).get("type")
        if fmt == "json_schema":  # side requests (title generator) expect a JSON object
            yield from self._text_block(0, ['{"title": "Mock session title"}'])
            yield from self._finish("end_turn", 8)
            return
        if scenario == "bash" and not after_tool:
            cm = CMD.search(prompt)
            cmd = cm.group(1) if cm else "echo hello"
            tool_id = self._next_id("toolu")
            yield (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "tool_use", "id": tool_id, "name": "Bash", "input": {}},
                },
            )
            raw = json.dumps({"command": cmd, "description": "Run the command"})
            for i in range(0, len(raw), 16):
                yield (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "input_json_delta", "partial_json": raw[i : i + 16]},
                    },
                )
            yield "content_block_stop", {"type": "content_block_stop", "index": 0}
            yield from self._finish("tool_use", 20)
            return
        if scenario == "bash":
            words = ["Done:", "the", "command", "ran."]
        elif scenario == "slow":
            words = [f"word{i}" for i in range(60)]
        else:
            words = f"Echo: {prompt}".split(" ")
        pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
        yield from self._text_block(0, pieces, slow=scenario == "slow")
        yield from self._finish("end_turn", len(words))

    def _text_block(
        self, index: int, pieces: list[str], slow: bool = False
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        yield (
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
        )
        for p in pieces:
            if slow:
                time.sleep(self.slow_delay)
            yield (
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": p}},
            )
        yield "content_block_stop", {"type": "content_block_stop", "index": index}

    def _finish(self, stop_reason: str, output_tokens: int) -> Iterator[tuple[str, dict[str, Any]]]:
        yield (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
        )
        yield "message_stop", {"type": "message_stop"}
