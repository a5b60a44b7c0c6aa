"""`GatewaySettings`: where the bridge listens, who may connect, and its limits (docs/protocol.md).

Who may connect: the paired devices of `$OPENAGENTS_HOME/devices.json` (devices.py; tokens stored
hashed). `token` (from `OPENAGENTS_BRIDGE_TOKEN`) is the "desktop" device's token, migrated into
the devices file on start; without a devices file (tests, benchmarks) it is the only device.
TLS: `tls_cert`/`tls_key` serve `wss://` and `https://` (tls.py). Secrets are hidden from `repr()`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from oa_actors.config import Config

log = logging.getLogger(__name__)

SESSIONS_FILE = "web_sessions.json"
MIN_TOKEN_LENGTH = 16
LOOPBACK = {"127.0.0.1", "::1", "localhost"}

KIB = 1024
MIB = 1024 * KIB


def is_loopback(host: str) -> bool:
    """Whether a bind host is reachable from this machine only."""
    return host in LOOPBACK or host.startswith("127.")


@dataclass(frozen=True)
class GatewaySettings:
    """Everything `BridgeServer` needs; safe defaults. Build it with `from_config` (or directly in tests)."""

    # -- where --
    host: str = "0.0.0.0"
    port: int = 8787
    path: str = "/ws"
    token: str = field(default="", repr=False)  # the "desktop" device's token ("" : none)
    sessions_path: Path | None = None  # web sessions file (sessions.py); None: in memory only
    devices_path: Path | None = None  # paired devices (devices.py); None: `token` is the only one
    tls_cert: Path | None = None  # PEM certificate chain: serve wss:// and https://
    tls_key: Path | None = None  # its PEM private key (mode 0600)
    device_poll: float = 0.25  # how often the devices file is checked for revocations and expiry
    machine_name: str = ""  # this installation's machine, told to every client in `bridge.hello`
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
        if (self.token or self.devices_path is None) and len(self.token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"the bridge token must have at least {MIN_TOKEN_LENGTH} characters")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("TLS needs both a certificate and its key")
        for name in ("max_frame", "max_request", "max_clients", "send_queue", "max_inflight", "write_limit"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.max_request > self.max_frame:
            raise ValueError("max_request must not exceed max_frame")

    @classmethod
    def from_config(cls, config: Config, **overrides: Any) -> GatewaySettings:
        """Host and port from `OPENAGENTS_BRIDGE_BIND`, the devices of `OPENAGENTS_HOME`, TLS as
        configured (the self-signed certificate is made here on first use); `overrides` win."""
        from oa_actors.gateway.devices import DEVICES_FILE
        from oa_actors.gateway.tls import tls_files
        from oa_actors.machine import machine

        values: dict[str, Any] = {
            "host": config.bridge_host,
            "port": config.bridge_port,
            "sessions_path": config.home / SESSIONS_FILE,
            "devices_path": config.home / DEVICES_FILE,
            "token": config.bridge_token or "",
            "machine_name": machine(config).name,
        }
        if "tls_cert" not in overrides:
            values["tls_cert"], values["tls_key"] = tls_files(config) or (None, None)
        values.update(overrides)
        return cls(**values)

    @property
    def secure(self) -> bool:
        """Served over TLS."""
        return self.tls_cert is not None

    def with_overrides(self, **kwargs: Any) -> GatewaySettings:
        """A copy with some fields replaced."""
        return replace(self, **kwargs)
