"""`GatewaySettings`: where the bridge listens, its token, and its limits (docs/protocol.md, "Limits").

The token comes from `Config.bridge_token` (`OPENAGENTS_BRIDGE_TOKEN`) or else from
`$OPENAGENTS_HOME/bridge.json` (`{"token": "..."}`, mode 0600), which is created once with 32 random
bytes (urlsafe base64). The token is never logged and is hidden from `repr()`.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from oa_actors.config import Config, write_secret

log = logging.getLogger(__name__)

TOKEN_FILE = "bridge.json"
MIN_TOKEN_LENGTH = 16

KIB = 1024
MIB = 1024 * KIB


def token_path(config: Config) -> Path:
    """`$OPENAGENTS_HOME/bridge.json`."""
    return config.home / TOKEN_FILE


def _read_token(path: Path) -> str | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    token = data.get("token") if isinstance(data, dict) else None
    return token if isinstance(token, str) and len(token) >= MIN_TOKEN_LENGTH else None


def load_or_create_token(config: Config) -> str:
    """The bridge token: `config.bridge_token`, else the token file, created once if missing or invalid.

    A token file readable by others is narrowed to 0600 (with a warning that does not show the token).
    """
    if config.bridge_token:
        return config.bridge_token
    path = token_path(config)
    token = _read_token(path)
    if token is not None:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("%s was readable by others (mode %o); narrowing it to 0600", path, mode)
            os.chmod(path, 0o600)
        return token
    write_secret(path, json.dumps({"token": secrets.token_urlsafe(32)}) + "\n")
    log.info("created a new bridge token in %s", path)
    # Read back: if another process created it at the same moment, both use the file's token.
    token = _read_token(path)
    if token is None:  # pragma: no cover - the file we just wrote is unreadable
        raise OSError(f"cannot read back the bridge token file {path}")
    return token


@dataclass(frozen=True)
class GatewaySettings:
    """Everything `BridgeServer` needs; safe defaults. Build it with `from_config` (or directly in tests)."""

    # -- where --
    host: str = "0.0.0.0"
    port: int = 8787
    path: str = "/ws"
    token: str = field(default="", repr=False)
    # -- frames --
    max_frame: int = 1 * MIB  # hard limit of an incoming message: the library closes with 1009 above it
    max_request: int = 256 * KIB  # soft limit: a request above it gets a `too_large` error reply
    compression: bool = False  # permessage-deflate costs CPU per client on every fan-out
    # -- clients --
    max_clients: int = 256  # above it: HTTP 503 before the upgrade
    send_queue: int = 1024  # frames queued per client; when full the client is disconnected (1013)
    write_limit: int = 64 * KIB  # bytes buffered in the transport before a send waits
    socket_send_buffer: int | None = None  # SO_SNDBUF per client (None: the OS autotunes, up to MBs)
    max_inflight: int = 16  # delegated requests of one client in flight at once (else `busy`)
    handler_timeout: float = 30.0  # a delegated verb not answered in time gets a `timeout` error
    # -- keepalive --
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    close_timeout: float = 5.0
    open_timeout: float = 10.0
    # -- pages of the live queries --
    threads_page_default: int = 50
    threads_page_max: int = 500
    messages_page_default: int = 200
    messages_page_max: int = 1000
    max_reply_bytes: int = 512 * KIB  # a page stops early (with `hasMore`) once its rows reach this size

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"path must start with '/': {self.path!r}")
        if len(self.token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"the bridge token must have at least {MIN_TOKEN_LENGTH} characters")
        for name in ("max_frame", "max_request", "max_clients", "send_queue", "max_inflight", "write_limit"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.max_request > self.max_frame:
            raise ValueError("max_request must not exceed max_frame")

    @classmethod
    def from_config(cls, config: Config, **overrides: Any) -> GatewaySettings:
        """Host and port from `OPENAGENTS_BRIDGE_BIND`, the token as `load_or_create_token`.

        `overrides` win."""
        values: dict[str, Any] = {"host": config.bridge_host, "port": config.bridge_port}
        if "token" not in overrides:
            values["token"] = load_or_create_token(config)
        values.update(overrides)
        return cls(**values)

    def with_overrides(self, **kwargs: Any) -> GatewaySettings:
        """A copy with some fields replaced."""
        return replace(self, **kwargs)
