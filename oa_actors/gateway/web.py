"""The web app's HTTP side: every plain GET on the bridge port other than the `/ws` upgrade.

- Pages (`/`, `/t/<threadId>`, `/search`, `/status`, `/usage`, `/projects...`) all answer the
  same small shell: no inline script, the hashed bundles (assets.py) do the rest over `/ws`.
- Login: a page URL with `?code=<one-time login code>` (the link `oa-supervisor pair` prints;
  logincodes.py) or, for compatibility, `?token=<device token>` creates a web session, sets its
  HttpOnly, SameSite=Strict cookie and redirects (303) to the same URL without the secret.
- Without a session (or a bearer token) every page and asset answers 401 with a short page that
  says to open the pairing link. Only the PWA manifest and its icons are public.
- Every response carries a strict Content-Security-Policy, `X-Content-Type-Options: nosniff` and
  `Referrer-Policy: no-referrer`; hashed assets are cached for a year (`immutable`), pages never.
"""

from __future__ import annotations

import email.utils
import http
import logging
import re
from collections.abc import Callable, MutableMapping
from urllib.parse import parse_qsl, urlencode

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from oa_actors.gateway.assets import Asset, Bundle
from oa_actors.gateway.auth import Authenticator, Principal, session_cookie

log = logging.getLogger(__name__)

PAGE = re.compile(r"^/(?:t/[^/]{1,200}|search|status|usage|projects(?:/[^/]{1,200})?|skills)?$")
LOGIN_PARAMS = ("code", "token")  # what a pair link carries: a one-time code, or a device token
PUBLIC = {"/manifest.webmanifest": "manifest.webmanifest", "/favicon.ico": "icon-192.png"}

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)
IMMUTABLE = "public, max-age=31536000, immutable"

UNAUTHORIZED_PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Open the pairing link</title></head><body>
<h1>Open the pairing link</h1>
<p>This is the oa-supervisor bridge. To use it from this browser, open the pairing link once:
run <code>oa-supervisor pair</code> on the desktop and open the <code>http://...?code=...</code>
link it prints. The link works once, within 10 minutes: it signs this browser in and is then
removed from the address bar. A used or expired link needs a new one
(<code>oa-supervisor devices link NAME</code>).</p>
</body></html>
"""

NOT_BUILT_PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Web app not built</title></head><body>
<h1>The web app is not built</h1><p>Run <code>make web</code> (or <code>make run</code>) in the
oa-supervisor checkout, then reload.</p></body></html>
"""


def shell(js: str, css: str, preload: tuple[str, ...] = ()) -> bytes:
    """The one HTML page of the app (no inline script or style: the CSP forbids them); `preload`:
    the chunks the entry imports, fetched with it rather than after it."""
    links = "".join(f'<link rel="modulepreload" href="/assets/{name}">\n' for name in preload)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="color-scheme" content="light dark"><meta name="theme-color" content="#1d2330">
<title>OpenAgents</title>
<link rel="stylesheet" href="/assets/{css}">
<link rel="manifest" href="/manifest.webmanifest">
<link rel="icon" href="/icons/icon-192.png" type="image/png">
<link rel="apple-touch-icon" href="/icons/icon-192.png">
{links}<script type="module" src="/assets/{js}"></script>
</head><body><div id="app"></div><noscript>This app needs JavaScript.</noscript></body></html>
""".encode()


def response(
    status: int,
    body: bytes = b"",
    content_type: str = "text/plain; charset=utf-8",
    headers: list[tuple[str, str]] | None = None,
    head: bool = False,
) -> Response:
    """A plain HTTP response with the security headers (`head`: the same without the body)."""
    code = http.HTTPStatus(status)
    h = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Length", str(len(body))),
            ("Content-Type", content_type),
            *SECURITY_HEADERS,
            *(headers or []),
        ]
    )
    return Response(code.value, code.phrase, h, b"" if head else body)


def accepts_gzip(headers: Headers) -> bool:
    return any("gzip" in v.lower() for v in headers.get_all("Accept-Encoding"))


class WebApp:
    """Answers the plain HTTP requests of the bridge port (see the module docstring)."""

    def __init__(
        self,
        auth: Authenticator,
        counters: MutableMapping[str, int],
        bundle: Bundle | None = None,
        on_logout: Callable[[str], object] | None = None,
    ) -> None:
        """`on_logout(session_id)` is called when a browser signs out (the server closes its sockets)."""
        self.auth = auth
        self.counters = counters
        self.on_logout = on_logout
        self.bundle = bundle or Bundle()
        self._shell = (
            shell(self.bundle.js, self.bundle.css, self.bundle.preload)
            if self.bundle.js and self.bundle.css
            else None
        )

    def respond(self, request: Request, path: str, query: str) -> Response:
        """The response to one GET/HEAD of `path` (the request target split at `?`)."""
        self.counters["httpRequests"] += 1
        head = request.method == "HEAD"
        if request.method not in ("GET", "HEAD"):
            return response(405, b"Method Not Allowed\n", headers=[("Allow", "GET, HEAD")])
        if path in PUBLIC:
            return self._asset(request, PUBLIC[path], "public, max-age=86400", head)
        if path.startswith("/icons/"):
            return self._asset(request, path.removeprefix("/icons/"), "public, max-age=86400", head)
        page = PAGE.match(path) is not None
        params = parse_qsl(query, keep_blank_values=True)
        if page and any(k in LOGIN_PARAMS for k, _ in params):
            return self._login(request, path, params, head)
        if path == "/logout":
            return self._logout(request)
        if not page and not path.startswith("/assets/"):
            return response(404, b"Not Found\n", head=head)
        principal = self.principal(request.headers, query)
        if principal is None:
            self.counters["authFailures"] += 1
            return self._unauthorized(head)
        if page:
            return self._page(principal, head)
        return self._asset(request, path.removeprefix("/assets/"), IMMUTABLE, head)

    def principal(self, headers: Headers, query: str) -> Principal | None:
        return self.auth.cookie(headers) or self.auth.bearer(headers, query)

    def _unauthorized(self, head: bool) -> Response:
        return response(
            401,
            UNAUTHORIZED_PAGE,
            "text/html; charset=utf-8",
            [("Cache-Control", "no-store"), ("WWW-Authenticate", 'Bearer realm="oa-supervisor"')],
            head,
        )

    def _page(self, principal: Principal, head: bool) -> Response:
        if self._shell is None:
            return response(503, NOT_BUILT_PAGE, "text/html; charset=utf-8", [("Cache-Control", "no-store")])
        extra = [("Cache-Control", "private, no-cache")]
        if principal.session is not None:  # sliding expiry: each page load renews the cookie
            extra.append(("Set-Cookie", self.auth.set_cookie(principal.session)))
        return response(200, self._shell, "text/html; charset=utf-8", extra, head)

    def _asset(self, request: Request, name: str, cache: str, head: bool) -> Response:
        asset: Asset | None = self.bundle.get(name) if "/" not in name else None
        if asset is None:
            return response(404, b"Not Found\n", head=head)
        headers = [("Cache-Control", cache), ("Vary", "Accept-Encoding")]
        body = asset.body
        if asset.gzipped is not None and accepts_gzip(request.headers):
            body = asset.gzipped
            headers.append(("Content-Encoding", "gzip"))
        return response(200, body, asset.content_type, headers, head)

    def _login(self, request: Request, path: str, params: list[tuple[str, str]], head: bool) -> Response:
        """`?code=` (or `?token=`) on a page: a new session and a redirect to the URL without it.
        A code is spent by this request whatever the answer; with both, only the code is used."""
        code = next((v for k, v in params if k == "code"), None)
        previous = session_cookie(request.headers)
        agent = request.headers.get("User-Agent")
        if code is not None:
            session = self.auth.login_code(code, agent, previous)
        else:
            token = next(v for k, v in params if k == "token")
            session = self.auth.login(token, agent, previous)
        if session is None:
            self.counters["authFailures"] += 1
            return self._unauthorized(head)
        self.counters["logins"] += 1
        rest = urlencode([(k, v) for k, v in params if k not in LOGIN_PARAMS])
        location = path + (f"?{rest}" if rest else "")
        log.info("a browser signed in (web session created)")
        return response(
            303,
            b"Signed in\n",
            headers=[
                ("Location", location),
                ("Set-Cookie", self.auth.set_cookie(session)),
                ("Cache-Control", "no-store"),
            ],
            head=head,
        )

    def _logout(self, request: Request) -> Response:
        session = session_cookie(request.headers)
        if session is not None:
            self.auth.logout(session)
            if self.on_logout is not None:
                self.on_logout(session)
        return response(
            200,
            UNAUTHORIZED_PAGE.replace(b"Open the pairing link</h1>", b"Signed out</h1>"),
            "text/html; charset=utf-8",
            [("Set-Cookie", self.auth.clear_cookie()), ("Cache-Control", "no-store")],
        )
