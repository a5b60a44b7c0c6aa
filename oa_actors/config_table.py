"""Every setting of oa-supervisor, declared once: its environment variable, its key in
`$OPENAGENTS_HOME/config.toml`, its type, default and meaning.

`oa_actors/config.py` resolves each one (flag > environment > file > default); the README's
configuration table is generated from `SETTINGS` (`python scripts/gen_config_table.py`, checked by
tests/test_config_docs.py), so the code and the documentation cannot say two things.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")


class SettingError(ValueError):
    """A value that does not fit its setting's type (the message says what was expected)."""


def parse_path(raw: Any) -> Path:
    if not isinstance(raw, str) or not raw.strip():
        raise SettingError(f"expected a path, got {raw!r}")
    return Path(raw).expanduser()


def parse_str(raw: Any) -> str:
    if not isinstance(raw, str):
        raise SettingError(f"expected a string, got {raw!r}")
    return raw


def parse_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise SettingError(f"expected an integer, got {raw!r}")
    if isinstance(raw, int):
        return raw
    try:
        return int(str(raw).strip())
    except ValueError:
        raise SettingError(f"expected an integer, got {raw!r}") from None


def parse_port(raw: Any) -> int:
    port = parse_int(raw)
    if not 0 <= port < 65536:  # 0: any free port (tests)
        raise SettingError(f"expected a TCP port (0-65535), got {port}")
    return port


def parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise SettingError(f"expected true or false (1/0, yes/no, on/off), got {raw!r}")


def parse_words(raw: Any) -> tuple[str, ...]:
    """Extra CLI flags: a shell-quoted string (environment, file) or a list of strings (file)."""
    if isinstance(raw, list) and all(isinstance(w, str) for w in raw):
        return tuple(raw)
    if isinstance(raw, str):
        try:
            return tuple(shlex.split(raw))
        except ValueError as exc:
            raise SettingError(f"cannot split {raw!r} into words: {exc}") from None
    raise SettingError(f"expected a string of shell words or a list of strings, got {raw!r}")


def parse_bind(raw: Any) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:8787` for IPv6; a bare host keeps port 8787)."""
    text = parse_str(raw).strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        return text or "0.0.0.0", 8787
    return host.strip("[]") or "0.0.0.0", parse_port(port)


def choice(*allowed: str) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        value = parse_str(raw).strip().lower()
        if value not in allowed:
            raise SettingError(f"expected one of {', '.join(allowed)}, got {raw!r}")
        return value

    return parse


@dataclass(frozen=True)
class Setting:
    """One setting: `name` is its `Config` field and its key in config.toml."""

    name: str
    env: str
    type: str  # shown in the docs: path, string, int, bool, words, host:port, or the choices
    default: str  # the default as the docs show it (computed defaults are described)
    doc: str
    parse: Callable[[Any], Any]
    secret: bool = False  # masked by `oa-supervisor config`, never logged
    in_file: bool = True  # OPENAGENTS_HOME cannot come from the file that lives in it


# fmt: off
SETTINGS: tuple[Setting, ...] = (
    Setting("home", "OPENAGENTS_HOME", "path", "`~/.openagents`",
            "store, logs, secrets, control socket, projects, skills, and `config.toml` itself "
            "(so it is set by flag or environment only)", parse_path, in_file=False),
    Setting("codex_home", "CODEX_HOME", "path", "`~/.codex`",
            "where Codex writes `sessions/` (watched, and given to Codex for runs)", parse_path),
    Setting("claude_home", "CLAUDE_CONFIG_DIR", "path", "`~/.claude`",
            "where Claude Code writes `projects/` (watched)", parse_path),
    Setting("watch_claude", "OPENAGENTS_WATCH_CLAUDE", "bool", "`true`",
            "`false`: do not watch Claude Code's sessions", parse_bool),
    Setting("codex_bin", "CODEX_BIN", "path", "PATH, then `node_dir`",
            "the Codex CLI used for runs", parse_str),
    Setting("claude_bin", "CLAUDE_BIN", "path", "PATH, then `node_dir`",
            "the Claude Code CLI used for runs", parse_str),
    Setting("codex_args", "OPENAGENTS_CODEX_ARGS", "words", "none",
            "extra flags for `codex exec` (a shell-quoted string, or a list in the file)", parse_words),
    Setting("claude_args", "OPENAGENTS_CLAUDE_ARGS", "words", "none",
            "extra flags for `claude -p` (a shell-quoted string, or a list in the file)", parse_words),
    Setting("node_dir", "OPENAGENTS_NODE_DIR", "path", "the nearest folder above the package with "
            "`node_modules/` (a checkout), else none",
            "a folder whose `node_modules/.bin` holds agent CLIs and the Convex CLI (`npm install` "
            "there); searched after PATH", parse_path),
    Setting("convex_bin", "OPENAGENTS_CONVEX_BIN", "path",
            "`$OPENAGENTS_HOME/bin`, then the Convex CLI cache",
            "the local Convex backend binary (`convex-local-backend`)", parse_str),
    Setting("convex_port", "OPENAGENTS_CONVEX_PORT", "int", "`7788`",
            "port of the local Convex backend", parse_port),
    Setting("convex_interface", "OPENAGENTS_CONVEX_INTERFACE", "string", "`127.0.0.1`",
            "interface the local Convex backend listens on", parse_str),
    Setting("convex_url", "OPENAGENTS_CONVEX_URL", "string", "none",
            "remote mode: a Convex Cloud or self-hosted deployment (no local backend)", parse_str),
    Setting("convex_admin_key", "OPENAGENTS_CONVEX_ADMIN_KEY", "string",
            "`$OPENAGENTS_HOME/convex/admin_key`, else generated",
            "admin key of the deployment", parse_str, secret=True),
    Setting("convex_deploy_key", "CONVEX_DEPLOY_KEY", "string", "none",
            "a Convex Cloud deploy key (remote mode, instead of an admin key)", parse_str, secret=True),
    Setting("convex_deploy", "OPENAGENTS_CONVEX_DEPLOY", "bool", "`true`",
            "`false`: never run `npx convex deploy`", parse_bool),
    Setting("convex_secret_in_argv", "OPENAGENTS_CONVEX_SECRET_IN_ARGV", "bool", "`false`",
            "`true`: accept passing the instance secret on `convex-local-backend`'s command line "
            "(today's binary takes it no other way; docs/convex.md)", parse_bool),
    Setting("convex_functions", "OPENAGENTS_CONVEX_FUNCTIONS", "path",
            "the functions shipped in the package",
            "the Convex functions folder to deploy", parse_path),
    Setting("bridge_bind", "OPENAGENTS_BRIDGE_BIND", "host:port", "`0.0.0.0:8787`",
            "where the bridge WebSocket listens", parse_bind),
    Setting("bridge_token", "OPENAGENTS_BRIDGE_TOKEN", "string", "none",
            "the token of the admin device `desktop` (at least 16 characters), stored hashed in "
            "`devices.json` on start; other devices: `oa-supervisor pair --device NAME`",
            parse_str, secret=True),
    Setting("bridge_tls", "OPENAGENTS_BRIDGE_TLS", "bool", "`false`",
            "`true`: serve `wss://` and `https://` (a self-signed certificate in "
            "`$OPENAGENTS_HOME/tls/` unless `bridge_tls_cert` is set; clients pin its SHA-256)",
            parse_bool),
    Setting("bridge_tls_cert", "OPENAGENTS_BRIDGE_TLS_CERT", "path", "none",
            "your own PEM certificate (chain) for the bridge, with `bridge_tls_key`", parse_path),
    Setting("bridge_tls_key", "OPENAGENTS_BRIDGE_TLS_KEY", "path", "none",
            "the PEM private key of `bridge_tls_cert` (keep it mode 0600)", parse_path),
    Setting("machine_name", "OPENAGENTS_MACHINE_NAME", "string", "the host name",
            "this installation's name in Convex (threads, runs and projects carry its machine)",
            parse_str),
    Setting("skills_registry", "OPENAGENTS_SKILLS_REGISTRY", "path",
            "`$OPENAGENTS_HOME/registry/skills`", "the shared skills registry (scope `registry`)",
            parse_path),
    Setting("embeddings", "OPENAGENTS_EMBEDDINGS", "bool", "`true`",
            "`false`: no `indexer` (no embedding in the background); search is keyword only "
            "(docs/semantic.md)", parse_bool),
    Setting("jsonl_backend", "OA_JSONL_BACKEND", "auto, rust, python", "`auto`",
            "the JSONL hot path implementation, chosen once at import (`auto`: native when built)",
            choice("auto", "rust", "python")),
    Setting("start_method", "OA_START_METHOD", "forkserver, spawn", "`forkserver`",
            "how actor processes start (`run --start-method`)", choice("forkserver", "spawn")),
    Setting("actor_specs", "OA_ACTOR_SPECS", "module:ATTR", "the built-in actors",
            "another actor list, for tests and benchmarks (`run --specs`)", parse_str),
)
# fmt: on

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
BY_ENV: dict[str, Setting] = {s.env: s for s in SETTINGS}
PRICE_KEYS = ("input", "cached_input", "cache_write", "output")


def markdown_table() -> str:
    """The README's configuration table (one row per setting)."""
    lines = [
        "| environment variable | `config.toml` key | type | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for s in SETTINGS:
        key = f"`{s.name}`" if s.in_file else "(not in the file)"
        doc = s.doc + (" (secret: masked by `oa-supervisor config`)" if s.secret else "")
        lines.append(f"| `{s.env}` | {key} | {s.type} | {s.default} | {doc} |")
    return "\n".join(lines) + "\n"
