"""One place that reads the environment (DESIGN.md section 8); CLI flags override these values.

Every path the product writes lives under `home` (OPENAGENTS_HOME), so tests run it in a temp folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


def _split_bind(value: str, default_port: int) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep:
        return value, default_port
    return host.strip("[]") or "0.0.0.0", int(port)


@dataclass(frozen=True)
class Config:
    """Resolved settings for one supervisor (or one CLI command)."""

    home: Path
    codex_home: Path
    codex_bin: str | None = None
    claude_home: Path | None = None
    convex_bin: str | None = None
    convex_port: int = 7788
    convex_interface: str = "127.0.0.1"
    convex_url: str | None = None
    convex_admin_key: str | None = None
    # Today's convex-local-backend takes its instance secret only on the command line (visible to
    # every local user); it is passed that way only when the user accepts it (docs/convex.md).
    convex_secret_in_argv: bool = False
    bridge_host: str = "0.0.0.0"
    bridge_port: int = 8787
    bridge_token: str | None = None
    # The user's own umask (the supervisor runs with 0o077): agent CLIs started for runs get it
    # back, so files they write in the user's projects get the user's usual modes.
    user_umask: int = 0o022
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def sessions_dir(self) -> Path:
        """Where Codex writes rollouts: `$CODEX_HOME/sessions`."""
        return self.codex_home / "sessions"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def store_path(self) -> Path:
        """The local SQLite store (the embedded default)."""
        return self.home / "store.sqlite3"

    @property
    def run_dir(self) -> Path:
        """Control socket and lock file of a running supervisor."""
        return self.home / "run"

    def with_overrides(self, **kwargs: Any) -> Config:
        """A copy with the given fields replaced (None values are ignored)."""
        return replace(self, **{k: v for k, v in kwargs.items() if v is not None})

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Config:
        """Read OPENAGENTS_*, CODEX_*, CLAUDE_CONFIG_DIR from `env` (default: os.environ)."""
        e = os.environ if env is None else env
        home = Path(e.get("OPENAGENTS_HOME") or "~/.openagents").expanduser()
        codex_home = Path(e.get("CODEX_HOME") or "~/.codex").expanduser()
        claude_home = Path(e.get("CLAUDE_CONFIG_DIR") or "~/.claude").expanduser()
        host, port = _split_bind(e.get("OPENAGENTS_BRIDGE_BIND", "0.0.0.0:8787"), 8787)
        return cls(
            home=home,
            codex_home=codex_home,
            codex_bin=e.get("CODEX_BIN") or None,
            claude_home=claude_home,
            convex_bin=e.get("OPENAGENTS_CONVEX_BIN") or None,
            convex_port=int(e.get("OPENAGENTS_CONVEX_PORT") or 7788),
            convex_interface=e.get("OPENAGENTS_CONVEX_INTERFACE") or "127.0.0.1",
            convex_url=e.get("OPENAGENTS_CONVEX_URL") or None,
            convex_admin_key=e.get("OPENAGENTS_CONVEX_ADMIN_KEY") or None,
            convex_secret_in_argv=(e.get("OPENAGENTS_CONVEX_SECRET_IN_ARGV") or "").strip().lower()
            in ("1", "true", "yes", "on"),
            bridge_host=host,
            bridge_port=port,
            bridge_token=e.get("OPENAGENTS_BRIDGE_TOKEN") or None,
        )


def write_secret(path: Path, data: str | bytes) -> None:
    """Write a secret file with mode 0600 from the start (never world-readable, not even briefly)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, raw)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
