"""Agent CLIs a run can use: how to start one, feed it the prompt, and learn its session id."""

from __future__ import annotations

from typing import Any

from oa_actors.config import Config
from oa_actors.config_table import BY_NAME
from oa_actors.runner.errors import RunError


class Provider:
    """Base: subclasses build the argv and read the session id from a stdout event.

    Every method takes the supervisor's `Config` (paths, extra flags, the inherited environment);
    without one (tests, scripts) the settings are loaded when called.
    """

    name = ""
    bin_setting = ""  # the Config field naming this CLI's binary

    def binary(self, config: Config | None = None) -> str:
        """The CLI: the configured path, else PATH, else `<node_dir>/node_modules/.bin`."""
        cfg = config or Config.from_env()
        explicit = getattr(cfg, self.bin_setting)
        if explicit:
            return str(explicit)
        found = cfg.which(self.name)
        if found:
            return found
        where = ", ".join(str(d) for d in cfg.node_bin_dirs) or "no node_modules folder (OPENAGENTS_NODE_DIR)"
        env = BY_NAME[self.bin_setting].env
        raise FileNotFoundError(
            f"{self.name} not found: set {env} (or {self.bin_setting} in config.toml), put {self.name} "
            f"on PATH, or install it with npm under OPENAGENTS_NODE_DIR (searched: PATH, {where})"
        )

    def argv(self, session_id: str | None, cwd: str | None, config: Config | None = None) -> list[str]:
        raise NotImplementedError

    def stdin(self, text: str) -> bytes:
        # The prompt goes on stdin (`-` as the prompt argument): no argv length limit, and a
        # prompt that starts with `-` can never be taken for an option.
        return text.encode()

    def session_id(self, event: Any) -> str | None:
        return None

    def env(self, extra: dict[str, str] | None, config: Config | None = None) -> dict[str, str]:
        """The run's environment: the inherited one (without our secrets) and `extra`."""
        return (config or Config.from_env()).child_env(extra)


class CodexProvider(Provider):
    """`codex exec --json [resume <id>] -` (extra flags from OPENAGENTS_CODEX_ARGS)."""

    name = "codex"
    bin_setting = "codex_bin"

    def argv(self, session_id: str | None, cwd: str | None, config: Config | None = None) -> list[str]:
        cfg = config or Config.from_env()
        cfg.codex_home.mkdir(parents=True, exist_ok=True)  # Codex refuses a CODEX_HOME that does not exist
        args = [self.binary(cfg), "exec", "--json", "--skip-git-repo-check"]
        if cwd:
            args += ["-C", cwd]
        args += cfg.codex_args
        if session_id:
            args += ["resume", session_id]
        return [*args, "-"]

    def env(self, extra: dict[str, str] | None, config: Config | None = None) -> dict[str, str]:
        """Codex is told its home explicitly (it may come from config.toml, not the environment)."""
        cfg = config or Config.from_env()
        return cfg.child_env({"CODEX_HOME": str(cfg.codex_home), **(extra or {})})

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
    bin_setting = "claude_bin"

    def argv(self, session_id: str | None, cwd: str | None, config: Config | None = None) -> list[str]:
        cfg = config or Config.from_env()
        args = [self.binary(cfg), "-p", "--output-format", "stream-json", "--verbose"]
        args += cfg.claude_args
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
    try:
        return PROVIDERS[name]
    except KeyError:
        raise RunError(f"unknown provider {name!r} (known: {', '.join(sorted(PROVIDERS))})") from None
