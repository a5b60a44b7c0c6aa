"""Who may use the bridge: the one interface behind every check (docs/web.md, "Login").

- `Credentials` says what a token is and which credential (device) it proves: the paired devices
  (devices.py, `DeviceRegistry`; one token per device, stored hashed).
- `Authenticator` answers every request with a `Principal` or None: a bearer token (the apps:
  `Authorization: Bearer` or `?token=` on `/ws`), or a web session cookie. A browser signs in
  with a one-time login code (`login_code`, `Credentials.redeem`; logincodes.py) or a token. Web sessions are
  server-side records (sessions.py: id -> credential, created, last seen), so revoking a
  credential (`revoke`) ends its sessions, and the server closes their connections.
- Cookie-authenticated WebSocket upgrades must come from the app's own origin (`same_origin`):
  a page on another site cannot open the bridge with the user's cookie.

The logger of the WebSocket library never shows a token or a cookie (`ws_log`).
"""

from __future__ import annotations

import abc
import logging
import re
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from websockets.datastructures import Headers

from oa_actors.gateway.sessions import WebSessions

COOKIE = "oa_session"

_SECRET = re.compile(r"(token=|\bcode=|Bearer\s+|(?:Set-)?Cookie:\s*)[^\s&\"']+", re.IGNORECASE)
_QUIET = re.compile(r"^HTTP response sent \([23]\d\d ")


class _Redact(logging.Filter):
    """Masks `token=...`, `code=...`, `Bearer ...` and cookies in websockets' own log lines (secrets are never
    logged), and drops its line per successful plain HTTP response (pages and assets: noise)."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if _QUIET.match(text):
            return False
        if _SECRET.search(text):
            record.msg, record.args = _SECRET.sub(r"\1<redacted>", text), ()
        return True


#: The logger given to the `websockets` server.
ws_log = logging.getLogger("oa_actors.gateway.ws")


def _not_lifecycle(record: logging.LogRecord) -> bool:
    """websockets' own "server listening/closing/closed" lines: the bridge's start and stop are
    already logged once by the ws_gateway actor."""
    return not str(record.msg).startswith(("server listening", "server closing", "server closed"))


ws_log.addFilter(_not_lifecycle)
ws_log.addFilter(_Redact())


@dataclass(frozen=True)
class Principal:
    """Who a request comes from: the credential it proved and, for a browser, its web session."""

    credential: str
    via: Literal["bearer", "cookie"]
    session: str | None = None


class Credentials(abc.ABC):
    """What a token is: `identify` maps a presented token to its credential id (constant time)."""

    @abc.abstractmethod
    def identify(self, token: str) -> str | None:
        """The id of the credential `token` proves, or None."""

    @abc.abstractmethod
    def valid(self, credential: str) -> bool:
        """Whether a credential still holds (a revoked device's does not)."""

    def redeem(self, code: str) -> str | None:
        """Spend a one-time login code (the web link's `?code=`): the credential it was minted
        for, or None (unknown, used, expired). Credentials without codes know none."""
        return None


def bearer_tokens(headers: Headers, query: str) -> list[str]:
    """The tokens a request presents: `Authorization: Bearer <t>` values and `?token=<t>` (at most 4)."""
    found = [
        v.split(None, 1)[1].strip()
        for v in headers.get_all("Authorization")
        if v[:7].lower() == "bearer " and len(v.split(None, 1)) == 2
    ]
    found += parse_qs(query).get("token", [])
    return found[:4]


def session_cookie(headers: Headers) -> str | None:
    """The value of the session cookie, if the request has one."""
    for raw in headers.get_all("Cookie"):
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(raw)
        except CookieError:
            continue
        morsel = jar.get(COOKIE)
        if morsel is not None and morsel.value:
            return morsel.value
    return None


def same_origin(headers: Headers, secure: bool = False) -> bool:
    """Whether `Origin` is this server as the browser reached it (scheme, host and port of `Host`)."""
    origin, host = headers.get("Origin"), headers.get("Host")
    if not origin or not host or origin == "null":
        return False
    parts = urlsplit(origin)
    scheme = "https" if secure else "http"
    default = 443 if secure else 80
    try:
        want = urlsplit(f"{scheme}://{host}")
        return (
            parts.scheme == scheme
            and parts.hostname == want.hostname
            and (parts.port or default) == (want.port or default)
        )
    except ValueError:  # a malformed port
        return False


class Authenticator:
    """Checks bearer tokens and session cookies; creates and ends web sessions."""

    def __init__(self, credentials: Credentials, sessions: WebSessions, secure: bool = False) -> None:
        self.credentials = credentials
        self.sessions = sessions
        self.secure = secure  # served over TLS: the cookie gets `Secure`, origins are https

    def bearer(self, headers: Headers, query: str) -> Principal | None:
        """The principal of a request carrying a valid token (header or `?token=`)."""
        ok: str | None = None
        for token in bearer_tokens(headers, query):
            ok = self.credentials.identify(token) or ok  # check every candidate: constant time
        return Principal(ok, "bearer") if ok else None

    def cookie(self, headers: Headers) -> Principal | None:
        """The principal of a request carrying a live session cookie (and notes it was seen)."""
        sid = session_cookie(headers)
        if sid is None:
            return None
        record = self.sessions.get(sid)
        if record is None:
            return None
        if not self.credentials.valid(record.credential):
            self.sessions.delete(sid)
            return None
        self.sessions.touch(sid)
        return Principal(record.credential, "cookie", sid)

    def login(self, token: str, user_agent: str | None, previous: str | None = None) -> str | None:
        """A new web session for a valid token: its id (the cookie value), or None. The session of
        the same browser (`previous`) is replaced."""
        return self._start(self.credentials.identify(token), user_agent, previous)

    def login_code(self, code: str, user_agent: str | None, previous: str | None = None) -> str | None:
        """A new web session for a one-time login code (spent by this call, right or wrong)."""
        return self._start(self.credentials.redeem(code), user_agent, previous)

    def _start(self, credential: str | None, user_agent: str | None, previous: str | None) -> str | None:
        if credential is None:
            return None
        if previous is not None:
            self.sessions.delete(previous)
        return self.sessions.create(credential, user_agent)

    def logout(self, session: str) -> None:
        self.sessions.delete(session)

    def revoke(self, credential: str) -> list[str]:
        """End every web session of a credential; returns their ids (the server closes their
        connections: BridgeServer.revoke_credential)."""
        return self.sessions.delete_credential(credential)

    def set_cookie(self, session: str) -> str:
        """The `Set-Cookie` value for a session: HttpOnly, SameSite=Strict, the whole site."""
        secure = "; Secure" if self.secure else ""
        age = int(self.sessions.idle_timeout)
        return f"{COOKIE}={session}; Path=/; Max-Age={age}; HttpOnly; SameSite=Strict{secure}"

    def clear_cookie(self) -> str:
        return f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
