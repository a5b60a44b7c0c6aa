"""One-time login codes for the web app (docs/web.md, "Login").

`oa-supervisor pair` prints the browser link as `http://HOST:PORT/?code=<code>`, not with the
device token: a browser keeps every URL it opens in its history database on disk, so the link it
opens must be worthless once used. A code is 24 random bytes (192 bits, urlsafe base64), minted for
one device, valid for `CODE_TTL` (10 minutes) and spent by its first use, right or not in time.
Exchanging it at the bridge gives a web session of that device, exactly as the token did, so
revoking the device ends that session too.

Codes rest only as `HMAC-SHA256(key, code)` (the devices file's per-install key) in
`$OPENAGENTS_HOME/login_codes.json` (mode 0600), beside `devices.json` and changed under the same
advisory lock, so the CLI that mints and the bridge that redeems never lose each other's writes and
a code cannot be spent twice. A registry without a file (tests, benchmarks) keeps them in memory.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from oa_actors.config import write_secret

if TYPE_CHECKING:
    from oa_actors.gateway.devices import DeviceRegistry

log = logging.getLogger(__name__)

CODES_FILE = "login_codes.json"
CODE_TTL = 600.0  # seconds: long enough to open the link on another device, short for a leaked one
MAX_CODES = 256  # unspent codes kept at most (the oldest go first): the file stays small


@dataclass
class LoginCode:
    """An unspent code: which device (its stable id) and when it was minted and expires (epoch s)."""

    device: str
    created: float
    expires: float


class LoginCodes:
    """The unspent codes of one installation, minted and redeemed against `registry`."""

    def __init__(self, registry: DeviceRegistry) -> None:
        self.registry = registry
        self.path: Path | None = None if registry.path is None else registry.path.with_name(CODES_FILE)
        self._memory: dict[str, LoginCode] = {}

    def mint(self, device_id: str, ttl: float = CODE_TTL) -> tuple[str, float]:
        """A new code for the device with this id, and when it expires (epoch s)."""
        code = secrets.token_urlsafe(24)
        digest = self.registry.keyed_digest(code)
        now = time.time()
        entry = LoginCode(device_id, now, now + ttl)

        def change(codes: dict[str, LoginCode]) -> None:
            codes[digest] = entry
            while len(codes) > MAX_CODES:
                del codes[min(codes, key=lambda d: codes[d].created)]

        self._mutate(change)
        return code, entry.expires

    def redeem(self, code: str) -> str | None:
        """The id of the device `code` was minted for, if it is unspent and in time; the code is
        spent either way (every stored digest is compared, in constant time per comparison)."""
        digest = self.registry.keyed_digest(code)
        found: list[LoginCode] = []

        def change(codes: dict[str, LoginCode]) -> None:
            hit = None
            for d in list(codes):
                if hmac.compare_digest(d, digest):
                    hit = d
            if hit is not None:
                found.append(codes.pop(hit))

        self._mutate(change)
        if not found or time.time() >= found[0].expires:
            return None
        return found[0].device

    # -- internals ------------------------------------------------------------------------------
    def _mutate(self, change: Callable[[dict[str, LoginCode]], None]) -> None:
        """Apply `change` to the codes (expired ones dropped first), read and written under the
        devices file's lock."""
        if self.path is None:
            _drop_expired(self._memory)
            change(self._memory)
            return
        with self.registry.locked():
            codes = self._read()
            before = dict(codes)
            _drop_expired(codes)
            change(codes)
            if codes != before:
                self._write(codes)

    def _read(self) -> dict[str, LoginCode]:
        assert self.path is not None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {d: LoginCode(**c) for d, c in data.get("codes", {}).items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            # Only unspent codes are lost: `pair` mints a new one.
            log.warning("login codes file %s is unreadable (%s): its codes are dropped", self.path, exc)
            return {}

    def _write(self, codes: dict[str, LoginCode]) -> None:
        assert self.path is not None
        body = {"codes": {d: asdict(c) for d, c in codes.items()}}
        write_secret(self.path, json.dumps(body, indent=1) + "\n")


def _drop_expired(codes: dict[str, LoginCode]) -> None:
    now = time.time()
    for d in [d for d, c in codes.items() if now >= c.expires]:
        del codes[d]
