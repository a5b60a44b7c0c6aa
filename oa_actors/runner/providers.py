"""Agent CLIs a run can use: how to start one, feed it the prompt, and learn its session id."""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


class Provider:
    """Base: subclasses build the argv and read the session id from a stdout event."""

    name = ""

    def binary(self) -> str:
        raise NotImplementedError

    def argv(self, session_id: str | None, cwd: str | None) -> list[str]:
        raise NotImplementedError

    def stdin(self, text: str) -> bytes:
        # The prompt goes on stdin (`-` as the prompt argument): no argv length limit, and a
        # prompt that starts with `-` can never be taken for an option.
        return text.encode()

    def session_id(self, event: Any) -> str | None:
        return None

    def env(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {**os.environ, **(extra or {})}


def _find(env_var: str, name: str) -> str:
    explicit = os.environ.get(env_var)
    if explicit:
        return explicit
    found = shutil.which(name)
    if found:
        return found
    local = REPO_ROOT / "node_modules" / ".bin" / name
    if local.exists():
        return str(local)
    raise FileNotFoundError(f"{name} not found: set {env_var} or put {name} on PATH")


class CodexProvider(Provider):
    """`codex exec --json [resume <id>] -` (extra flags from OPENAGENTS_CODEX_ARGS)."""

    name = "codex"

    def binary(self) -> str:
        return _find("CODEX_BIN", "codex")

    def argv(self, session_id: str | None, cwd: str | None) -> list[str]:
        home = os.environ.get("CODEX_HOME")
        if home:
            Path(home).mkdir(parents=True, exist_ok=True)  # Codex refuses a CODEX_HOME that does not exist
        args = [self.binary(), "exec", "--json", "--skip-git-repo-check"]
        if cwd:
            args += ["-C", cwd]
        args += shlex.split(os.environ.get("OPENAGENTS_CODEX_ARGS", ""))
        if session_id:
            args += ["resume", session_id]
        return [*args, "-"]

    def session_id(self, event: Any) -> str | None:
        if isinstance(event, dict) and event.get("type") == "thread.started":
            tid = event.get("thread_id")
            return tid if isinstance(tid, str) else None
        return None


class ClaudeProvider(Provider):
    """`claude -p --output-format stream-json --verbose [--resume <sessionId>]`, prompt on stdin.

    `-p` without a prompt argument reads the prompt from stdin (same reasons as Codex's `-`).
    Claude Code has no working-dir flag: the run's process starts in the project's folder. Extra
    flags (model, permission mode...) come from OPENAGENTS_CLAUDE_ARGS. The session id is the
    `session_id` every stream-json line carries (first on `system/init`); resuming a thread passes
    its own session id, so there is never a "last session" guess.
    """

    name = "claude"

    def binary(self) -> str:
        return _find("CLAUDE_BIN", "claude")

    def argv(self, session_id: str | None, cwd: str | None) -> list[str]:
        args = [self.binary(), "-p", "--output-format", "stream-json", "--verbose"]
        args += shlex.split(os.environ.get("OPENAGENTS_CLAUDE_ARGS", ""))
        if session_id:
            args += ["--resume", session_id]
        return args

    def session_id(self, event: Any) -> str | None:
        if isinstance(event, dict) and event.get("type") in ("system", "assistant", "user", "result"):
            sid = event.get("session_id")
            return sid if isinstance(sid, str) and sid else None
        return None


PROVIDERS: dict[str, Provider] = {"codex": CodexProvider(), "claude": ClaudeProvider()}


def provider_for(name: str) -> Provider:
    from oa_actors.runner.manager import RunError

    try:
        return PROVIDERS[name]
    except KeyError:
        raise RunError(f"unknown provider {name!r} (known: {', '.join(sorted(PROVIDERS))})") from None
