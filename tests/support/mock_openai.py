"""A scripted mock of the OpenAI Responses API (SSE) for driving the real Codex CLI offline.

Test infrastructure only. Binds 127.0.0.1 on an ephemeral port; the test that starts it stops it.
Codex, given a custom provider whose `base_url` is this server and `wire_api="responses"`, sends
`POST {base_url}/responses` and reads SSE. The reply is chosen from a `[scenario:NAME]` tag in the
newest user message:
- default: one assistant message `Echo: <prompt>`
- `shell`: an `exec_command` call running the `cmd:` text of the prompt (or `echo hello`), then a reply
- `slow`: a reply streamed slowly (a few words a second) so a run can be interrupted
- `fail`: `response.failed`
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

from tests.support.sse_mock import Reply, SSEMock

SCENARIO = re.compile(r"\[scenario:([a-z_]+)\]")
CMD = re.compile(r"cmd:\s*(.+?)\s*(?:\[scenario|$)")


def _user_texts(body: dict[str, Any]) -> list[str]:
    texts = []
    for item in body.get("input", []):
        if item.get("type") == "message" and item.get("role") == "user":
            for c in item.get("content", []):
                if c.get("type") == "input_text" and not c.get("text", "").startswith("<"):
                    texts.append(c["text"])
    return texts


def _has_tool_output(body: dict[str, Any]) -> bool:
    items = body.get("input", [])
    last_user = max(
        (i for i, it in enumerate(items) if it.get("type") == "message" and it.get("role") == "user"),
        default=-1,
    )
    return any(it.get("type") == "function_call_output" for it in items[last_user + 1 :])


class MockResponses(SSEMock):
    """The server; `url` is the base URL to give Codex (`…/v1`). Use as a context manager."""

    name = "mock-openai"

    def __init__(self, slow_delay: float = 0.5) -> None:
        super().__init__()
        self.slow_delay = slow_delay
        self.url = f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Bodies of every POST so far."""
        return [r["body"] for r in self.log if r["method"] == "POST"]

    def codex_args(self, model: str = "gpt-5.5") -> list[str]:
        """The `-c` flags that point `codex exec` at this server (env MOCK_API_KEY must be set)."""
        return [
            "-c",
            "model_provider=mock",
            "-c",
            f'model_providers.mock={{name="mock",base_url="{self.url}",wire_api="responses",env_key="MOCK_API_KEY"}}',
            "-m",
            model,
        ]

    # -- replies --------------------------------------------------------------------------------
    def _next_id(self, prefix: str) -> str:
        return f"{prefix}_{self.next_number()}"

    def route(self, path: str, body: dict[str, Any]) -> Reply:
        if not path.endswith("/responses"):
            return Reply(404)
        return Reply(200, events=self.events(body))

    def events(self, body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        texts = _user_texts(body)
        prompt = texts[-1] if texts else ""
        m = SCENARIO.search(prompt)
        scenario = m.group(1) if m else "default"
        rid = self._next_id("resp")
        yield "response.created", {"type": "response.created", "response": {"id": rid}}
        if scenario == "fail":
            yield (
                "response.failed",
                {
                    "type": "response.failed",
                    "response": {
                        "id": rid,
                        "error": {"code": "invalid_prompt", "message": "Mock failure: rejected."},
                    },
                },
            )
            return
        if scenario == "shell" and not _has_tool_output(body):
            cm = CMD.search(prompt)
            cmd = cm.group(1) if cm else "echo hello"
            item = {
                "type": "function_call",
                "id": self._next_id("fc"),
                "call_id": self._next_id("call"),
                "name": "exec_command",
                "arguments": json.dumps({"cmd": cmd, "yield_time_ms": 2000}),
            }
            yield (
                "response.output_item.added",
                {"type": "response.output_item.added", "output_index": 0, "item": item},
            )
            yield (
                "response.output_item.done",
                {"type": "response.output_item.done", "output_index": 0, "item": item},
            )
        else:
            text = "Done: the command ran." if scenario == "shell" else f"Echo: {prompt}"
            words = text.split(" ") if scenario != "slow" else [f"word{i}" for i in range(60)]
            mid = self._next_id("msg")
            yield (
                "response.output_item.added",
                {
                    "type": "response.output_item.added",
                    "output_index": 0,
                    "item": {"type": "message", "role": "assistant", "id": mid, "content": []},
                },
            )
            for w in words:
                if scenario == "slow":
                    time.sleep(self.slow_delay)
                yield (
                    "response.output_text.delta",
                    {
                        "type": "response.output_text.delta",
                        "item_id": mid,
                        "output_index": 0,
                        "content_index": 0,
                        "delta": w + " ",
                    },
                )
            full = " ".join(words)
            yield (
                "response.output_item.done",
                {
                    "type": "response.output_item.done",
                    "output_index": 0,
                    "item": {
                        "type": "message",
                        "role": "assistant",
                        "id": mid,
                        "content": [{"type": "output_text", "text": full, "annotations": []}],
                    },
                },
            )
        usage = {
            "input_tokens": 1000,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 20,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 1020,
        }
        yield "response.completed", {"type": "response.completed", "response": {"id": rid, "usage": usage}}
