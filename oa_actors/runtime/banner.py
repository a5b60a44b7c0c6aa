"""The lines `oa-supervisor run` logs first: what runs, where its files are, what it watches.

Each fact once: version, JSONL backend, store, log file, watched session folders (including
those that do not exist yet, which are watched once they appear), bridge URL, Convex mode.
"""

from __future__ import annotations

from pathlib import Path

from oa_actors import __version__
from oa_actors.config import Config
from oa_actors.gateway.settings import GatewaySettings


def _home(path: Path) -> str:
    home = Path.home()
    try:
        return "~/" + str(path.relative_to(home))
    except ValueError:
        return str(path)


def convex_mode(cfg: Config) -> str:
    """What the Convex actors will do (the same choice as actors/convex_backend.py)."""
    from oa_actors.convex import backend

    if cfg.convex_url:
        return f"remote deployment {cfg.convex_url}"
    binary = backend.find_binary(cfg)
    if binary is not None:
        return f"local backend on http://{cfg.convex_interface}:{cfg.convex_port} ({binary})"
    return "off: no deployment configured, rows wait in the local store's outbox (docs/convex.md)"


def banner(cfg: Config, log_file: Path | None) -> list[str]:
    """The start banner's lines."""
    from oa_actors import jsonl

    backend = (
        "native (Rust)"
        if jsonl.IMPLEMENTATION == "rust"
        else "twin (pure Python: slower; `make install` builds the native one)"
    )
    roots = [(cfg.sessions_dir, "Codex")]
    if cfg.claude_projects_dir is not None:
        roots.append((cfg.claude_projects_dir, "Claude Code"))
    watched = ", ".join(
        f"{_home(p)} ({who}{'' if p.is_dir() else '; not there yet, watched once it appears'})"
        for p, who in roots
    )
    host, port, path = cfg.bridge_host, cfg.bridge_port, GatewaySettings.path
    url = (
        f"ws://{host}:{port}{path} (token required; `oa-supervisor pair` shows it)"
        if port
        else f"ws://{host}:<a free port, logged when it listens>{path}"
    )
    return [
        f"oa-supervisor {__version__}",
        f"  JSONL hot path: {backend}",
        f"  store:          {cfg.store_path}",
        f"  log file:       {log_file if log_file is not None else '(none: stderr only)'}",
        f"  watching:       {watched}",
        f"  bridge:         {url}",
        f"  Convex:         {convex_mode(cfg)}",
    ]
