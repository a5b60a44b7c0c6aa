"""Paired devices: one token per device, stored hashed (docs/protocol.md, "Pairing and devices").

`$OPENAGENTS_HOME/devices.json` (mode 0600) holds a per-install random key and, per device, its
name, a stable id, `HMAC-SHA256(key, token)`, creation, last-seen and expiry times, whether it is an
admin, and when it was revoked. A plaintext device token is shown once by `oa-supervisor pair` and
never rests on disk. The file is shared by the running bridge and the CLI (`pair`, `devices`):
every change is a read-modify-write under an advisory lock, and the bridge reloads the file when it
changes (`refresh`), so a revocation by the CLI reaches the running bridge within its poll period.

Migration: the legacy `bridge.json` token and `OPENAGENTS_BRIDGE_TOKEN` become the admin device
"desktop" on first open; `bridge.json` is then deleted (no plaintext token is left behind).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from oa_actors.config import write_secret
from oa_actors.gateway.auth import Credentials
from oa_actors.gateway.logincodes import CODE_TTL, LoginCodes

log = logging.getLogger(__name__)

DEVICES_FILE = "devices.json"
LEGACY_TOKEN_FILE = "bridge.json"
DESKTOP = "desktop"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LAST_SEEN_WRITE_INTERVAL = 60.0  # last-seen times reach the file at most once a minute per device
MIN_TOKEN_LENGTH = 16


class DeviceError(ValueError):
    """A bad device name, a name already paired, or an unknown device (the message says which)."""


@dataclass
class Device:
    """One paired device (times in seconds since the epoch; `hash` is the keyed token digest)."""

    name: str
    id: str
    hash: str
    created: float
    lastSeen: float | None = None
    expires: float | None = None
    admin: bool = False
    revoked: float | None = None

    @property
    def credential(self) -> str:
        """The id web sessions and connections carry (never the token, never the name)."""
        return "device:" + self.id

    def active(self, now: float) -> bool:
        return self.revoked is None and (self.expires is None or now < self.expires)

    def public(self) -> dict[str, Any]:
        """What `devices` and `devices.list` show: everything but the hash; times in ms."""

        def ms(t: float | None) -> int | None:
            return None if t is None else int(t * 1000)

        now = time.time()
        state = "revoked" if self.revoked else ("expired" if not self.active(now) else "active")
        return {
            "name": self.name,
            "admin": self.admin,
            "state": state,
            "createdAt": ms(self.created),
            "lastSeenAt": ms(self.lastSeen),
            "expiresAt": ms(self.expires),
            "revokedAt": ms(self.revoked),
        }


def check_name(name: str) -> str:
    """A device name: 1-64 letters, digits, `.`, `_`, `-`, starting with a letter or digit."""
    if not NAME.match(name):
        raise DeviceError(f"bad device name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    return name


class DeviceRegistry(Credentials):
    """The devices of one installation (`path` None: in memory only, for tests and benchmarks)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._key = b""
        self._devices: dict[str, Device] = {}
        self._stamp: tuple[int, int, int] | None = None  # (inode, size, mtime_ns) of what was read
        self._seen: dict[str, float] = {}  # device id -> lastSeen not yet written
        self._written: dict[str, float] = {}
        self._bad: tuple[int, int, int] | None = None
        self.codes = LoginCodes(self)  # the web link's one-time codes (logincodes.py)
        if path is None:
            self._key = secrets.token_bytes(32)
        else:
            with self._locked():
                self._read()
                if not self._key:
                    self._key = secrets.token_bytes(32)
                    self._write()

    # -- opening --------------------------------------------------------------------------------
    @classmethod
    def open(cls, home: Path, env_token: str | None = None) -> DeviceRegistry:
        """The registry of `home`, migrating the legacy token (`env_token` or `bridge.json`)."""
        reg = cls(home / DEVICES_FILE)
        legacy = home / LEGACY_TOKEN_FILE
        file_token = _read_legacy(legacy)
        for token in (file_token, env_token):
            if token:
                reg.adopt_desktop(token)
        if legacy.exists():
            legacy.unlink()
            log.info("migrated %s to the device %r in %s (hashed)", legacy, DESKTOP, reg.path)
        return reg

    def adopt_desktop(self, token: str) -> None:
        """Make `token` the admin device "desktop" unless a device of that name exists (a revoked
        desktop stays revoked; a changed OPENAGENTS_BRIDGE_TOKEN replaces an active desktop's)."""
        if len(token) < MIN_TOKEN_LENGTH:
            raise DeviceError(f"the bridge token must have at least {MIN_TOKEN_LENGTH} characters")
        digest = self._digest(token)

        def change(devices: dict[str, Device]) -> None:
            old = devices.get(DESKTOP)
            if old is None:
                devices[DESKTOP] = Device(DESKTOP, secrets.token_hex(8), digest, time.time(), admin=True)
            elif old.revoked is not None:
                if hmac.compare_digest(old.hash, digest):
                    log.warning("OPENAGENTS_BRIDGE_TOKEN belongs to the revoked device %r: refused", DESKTOP)
            elif not hmac.compare_digest(old.hash, digest):
                old.hash = digest

        self._mutate(change)

    # -- Credentials ----------------------------------------------------------------------------
    def identify(self, token: str) -> str | None:
        """The credential of the active device whose token this is (every device is compared, in
        constant time per comparison); notes that it was seen."""
        self.refresh()
        digest = self._digest(token)
        now = time.time()
        found: Device | None = None
        for device in self._devices.values():
            if hmac.compare_digest(device.hash, digest) and device.active(now):
                found = device
        if found is None:
            return None
        self._note_seen(found, now)
        return found.credential

    def valid(self, credential: str) -> bool:
        device = self.by_credential(credential)
        return device is not None and device.active(time.time())

    def redeem(self, code: str) -> str | None:
        """Spend a one-time login code: the credential of the active device it was minted for."""
        device_id = self.codes.redeem(code)
        if device_id is None:
            return None
        self.refresh()
        now = time.time()
        found = next((d for d in self._devices.values() if d.id == device_id), None)
        if found is None or not found.active(now):
            return None
        self._note_seen(found, now)
        return found.credential

    def login_code(self, name: str, ttl: float = CODE_TTL) -> tuple[str, float]:
        """A one-time web login code for the active device `name`, and when it expires (epoch s)."""
        self.refresh()
        device = self._devices.get(name)
        if device is None or not device.active(time.time()):
            raise DeviceError(f"no active device named {name!r} (see: oa-supervisor devices)")
        return self.codes.mint(device.id, ttl)

    # -- queries --------------------------------------------------------------------------------
    def by_credential(self, credential: str) -> Device | None:
        self.refresh()
        return next((d for d in self._devices.values() if d.credential == credential), None)

    def is_admin(self, credential: str) -> bool:
        device = self.by_credential(credential)
        return device is not None and device.admin and device.active(time.time())

    def list(self) -> list[dict[str, Any]]:
        """Every device (never a token or a hash), oldest first."""
        self.refresh()
        return [d.public() for d in sorted(self._devices.values(), key=lambda d: d.created)]

    def names(self) -> set[str]:
        self.refresh()
        return set(self._devices)

    # -- changes --------------------------------------------------------------------------------
    def pair(
        self, name: str, admin: bool = False, expires: float | None = None, replace: bool = False
    ) -> str:
        """A new token for the device `name` (shown once, stored hashed). An active device of
        that name is replaced only with `replace` (its old token stops working at once)."""
        check_name(name)
        token = secrets.token_urlsafe(32)
        digest = self._digest(token)
        now = time.time()

        def change(devices: dict[str, Device]) -> None:
            old = devices.get(name)
            if old is not None and old.active(now) and not replace:
                raise DeviceError(
                    f"the device {name!r} is already paired: revoke it first "
                    f"(oa-supervisor devices revoke {name}) or pass --replace"
                )
            expiry = None if expires is None else now + expires
            devices[name] = Device(name, secrets.token_hex(8), digest, now, expires=expiry, admin=admin)

        self._mutate(change)
        return token

    def revoke(self, name: str) -> str:
        """Revoke a device now; returns its credential (the bridge closes its connections)."""
        out: list[str] = []

        def change(devices: dict[str, Device]) -> None:
            device = devices.get(name)
            if device is None:
                raise DeviceError(f"no device named {name!r} (see: oa-supervisor devices)")
            if device.revoked is None:
                device.revoked = time.time()
            out.append(device.credential)

        self._mutate(change)
        return out[0]

    def flush_seen(self) -> None:
        """Write pending last-seen times (the bridge calls it now and then and when stopping)."""
        if not self._seen or self.path is None:
            return
        seen, self._seen = self._seen, {}

        def change(devices: dict[str, Device]) -> None:
            for d in devices.values():
                t = seen.get(d.id)
                if t is not None and (d.lastSeen or 0) < t:
                    d.lastSeen = t

        self._mutate(change)
        self._written.update(seen)

    def refresh(self) -> bool:
        """Reload the file if another process changed it; True when it did."""
        if self.path is None:
            return False
        stamp = _stamp(self.path)
        if stamp == self._stamp:
            return False
        try:
            with self._locked():
                self._read()
        except DeviceError as exc:
            if stamp != self._bad:  # once per change of the broken file
                log.error("%s; keeping the devices read before", exc)
                self._bad = stamp
            return False
        return True

    # -- internals ------------------------------------------------------------------------------
    def _digest(self, token: str) -> str:
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()

    def keyed_digest(self, secret: str) -> str:
        """`HMAC-SHA256(per-install key, secret)`: how tokens and login codes are stored."""
        return self._digest(secret)

    def locked(self) -> contextlib.AbstractContextManager[None]:
        """The devices file's advisory lock (not reentrant: do not refresh or change inside)."""
        return self._locked()

    def _note_seen(self, device: Device, now: float) -> None:
        device.lastSeen = now
        self._seen[device.id] = now
        if now - self._written.get(device.id, 0.0) > LAST_SEEN_WRITE_INTERVAL:
            self.flush_seen()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        assert self.path is not None
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _mutate(self, change: Callable[[dict[str, Device]], None]) -> None:
        if self.path is None:
            change(self._devices)
            return
        with self._locked():
            self._read()
            change(self._devices)
            self._write()

    def _read(self) -> None:
        assert self.path is not None
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self._stamp = None
            return
        try:
            data = json.loads(text)
            key = bytes.fromhex(data["key"])
            devices = {n: Device(**d) for n, d in data.get("devices", {}).items()}
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # Never start over silently: that would unpair every device without a word.
            raise DeviceError(
                f"{self.path} is unreadable ({exc}): fix or delete it, then pair again"
            ) from None
        self._key, self._devices = key, devices
        for d in devices.values():  # keep this process's newer last-seen times
            t = self._seen.get(d.id)
            if t is not None and (d.lastSeen or 0) < t:
                d.lastSeen = t
        self._stamp = _stamp(self.path)

    def _write(self) -> None:
        assert self.path is not None
        body = {"key": self._key.hex(), "devices": {n: asdict(d) for n, d in self._devices.items()}}
        write_secret(self.path, json.dumps(body, indent=1) + "\n")
        self._stamp = _stamp(self.path)


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _read_legacy(path: Path) -> str | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    token = data.get("token") if isinstance(data, dict) else None
    return token if isinstance(token, str) and len(token) >= MIN_TOKEN_LENGTH else None


def parse_duration(text: str) -> float:
    """`30d`, `12h`, `90m`, `45s`, `2w` -> seconds (a positive number and one unit)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text)
    if m is None or float(m[1]) <= 0:
        raise ValueError(f"expected a duration like 30d, 12h, 90m (got {text!r})")
    return float(m[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m[2]]
