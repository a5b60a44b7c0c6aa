"""Web sessions: server-side records behind the browser's session cookie (auth.py uses them).

A session is `id -> {credential, created, lastSeen, userAgent}`. The cookie holds only the random
id; the credential's token never leaves the pairing link. Records are kept in
`$OPENAGENTS_HOME/web_sessions.json` (mode 0600) keyed by a hash of the id, so the file alone
does not let anyone in, and a restart of the bridge keeps browsers signed in. A session idle for
`idle_timeout` (30 days) ends; at most `max_sessions` are kept (the least recently seen go first).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from oa_actors.config import write_secret

log = logging.getLogger(__name__)

IDLE_TIMEOUT = 30 * 24 * 3600.0
MAX_SESSIONS = 512
TOUCH_WRITE_INTERVAL = 600.0  # last-seen times reach the file at most every 10 minutes per session


@dataclass
class WebSession:
    """One browser's session (times in seconds since the epoch)."""

    credential: str
    created: float
    lastSeen: float
    userAgent: str | None = None


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class WebSessions:
    """The session records, in memory and (with `path`) in a private file."""

    def __init__(
        self,
        path: Path | None = None,
        idle_timeout: float = IDLE_TIMEOUT,
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        self.path = path
        self.idle_timeout = idle_timeout
        self.max_sessions = max_sessions
        self._records: dict[str, WebSession] = {}
        self._written: dict[str, float] = {}  # digest -> lastSeen as last written
        self._load()

    def __len__(self) -> int:
        return len(self._records)

    def _load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            for digest, fields in data.get("sessions", {}).items():
                self._records[digest] = WebSession(**fields)
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            # Unreadable: every browser signs in again with the pairing link; nothing else is lost.
            log.warning("web sessions file %s is unreadable (%s): starting without sessions", self.path, exc)
            self._records.clear()
        self._written = {d: r.lastSeen for d, r in self._records.items()}
        self._expire(time.time())

    def _save(self) -> None:
        if self.path is None:
            return
        body = {"sessions": {d: asdict(r) for d, r in self._records.items()}}
        try:
            write_secret(self.path, json.dumps(body, indent=1) + "\n")
        except OSError as exc:
            log.warning("cannot write the web sessions file %s: %s", self.path, exc)
            return
        self._written = {d: r.lastSeen for d, r in self._records.items()}

    def _expire(self, now: float) -> bool:
        stale = [d for d, r in self._records.items() if now - r.lastSeen > self.idle_timeout]
        for d in stale:
            del self._records[d]
        return bool(stale)

    def create(self, credential: str, user_agent: str | None = None) -> str:
        """A new session for `credential`; returns its id (256 random bits, urlsafe)."""
        now = time.time()
        self._expire(now)
        while len(self._records) >= self.max_sessions:
            oldest = min(self._records, key=lambda d: self._records[d].lastSeen)
            del self._records[oldest]
        session_id = secrets.token_urlsafe(32)
        agent = user_agent[:200] if user_agent else None
        self._records[_digest(session_id)] = WebSession(credential, now, now, agent)
        self._save()
        return session_id

    def get(self, session_id: str) -> WebSession | None:
        """The live session with this id, or None (unknown or idle too long)."""
        record = self._records.get(_digest(session_id))
        if record is None:
            return None
        if time.time() - record.lastSeen > self.idle_timeout:
            self.delete(session_id)
            return None
        return record

    def touch(self, session_id: str) -> None:
        """Note that the session was used now (written to the file now and then, not every time)."""
        digest = _digest(session_id)
        record = self._records.get(digest)
        if record is None:
            return
        record.lastSeen = time.time()
        if record.lastSeen - self._written.get(digest, 0.0) > TOUCH_WRITE_INTERVAL:
            self._save()

    def delete(self, session_id: str) -> bool:
        if self._records.pop(_digest(session_id), None) is None:
            return False
        self._save()
        return True

    def delete_credential(self, credential: str) -> list[str]:
        """Remove every session of `credential`; returns the removed records' digests."""
        gone = [d for d, r in self._records.items() if r.credential == credential]
        for d in gone:
            del self._records[d]
        if gone:
            self._save()
        return gone

    def records(self) -> dict[str, WebSession]:
        """Every session by the digest of its id (for status pages and revocation tools)."""
        return dict(self._records)


def session_digest(session_id: str) -> str:
    """The key a session is stored under (what `delete_credential` returns)."""
    return _digest(session_id)
