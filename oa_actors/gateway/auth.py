"""The bridge token check, and the logger of the WebSocket library that never shows the token."""

from __future__ import annotations

import hmac
import logging
import re
from urllib.parse import parse_qs

from websockets.datastructures import Headers

_SECRET = re.compile(r"(token=|Bearer\s+)[^\s&\"']+", re.IGNORECASE)


class _Redact(logging.Filter):
    """Masks `token=...` and `Bearer ...` in websockets' own log lines (the token is never logged)."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
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


def token_matches(headers: Headers, query: str, token: bytes) -> bool:
    """Whether `Authorization: Bearer <token>` or `?token=<token>` carries the token (constant time)."""
    candidates = [
        v.split(None, 1)[1].strip()
        for v in headers.get_all("Authorization")
        if v[:7].lower() == "bearer " and len(v.split(None, 1)) == 2
    ]
    candidates += parse_qs(query).get("token", [])
    ok = False
    for candidate in candidates[:4]:
        ok |= hmac.compare_digest(candidate.encode(), token)
    return ok
