"""A small async client for the Convex HTTP API (`POST /api/query|mutation|action`).

One `httpx.AsyncClient` (one connection pool) per client object, reused for every call. Every
failure is sorted into the class a caller acts on (docs/convex.md, "Errors by class"):

- `ConvexUnavailable`: transient (network, timeouts, HTTP 5xx, 408/409/425/429): retry with backoff.
- `ConvexUnauthorized`: the key is refused (HTTP 401/403): no call can succeed until the key changes.
- `ConvexMisconfigured`: the URL does not lead to our functions (HTTP 404, a missing function, a
  request error, an HTML or non-Convex body from a proxy): no call succeeds until the set-up changes.
- `ConvexFunctionError`: the function refused this call's arguments (argument validation, one of
  our typed codes such as `DocumentTooLarge`, a too large request): the same call fails again, other
  rows may succeed. Only this class is ever blamed on rows.
"""

from __future__ import annotations

from typing import Any

import httpx

# Typed codes of convex/errors.ts that the writer acts on (tests/convex/test_error_codes.py checks
# that each exists there). `DocumentTooLarge` names its row (table, key), which the drain then sets
# aside without bisecting; `BatchTooLarge` is split like any row error.
DOCUMENT_TOO_LARGE = "DocumentTooLarge"
BATCH_TOO_LARGE = "BatchTooLarge"

# Convex's own messages (not ours to type) for a function that is not deployed or has another kind.
_MISSING_FUNCTION = ("Could not find public function", "Could not find function")
_WRONG_KIND = "Trying to execute "
_TRANSIENT_HTTP = frozenset({408, 409, 425, 429})


class ConvexError(Exception):
    """Base of the errors this client raises."""


class ConvexUnavailable(ConvexError):
    """The deployment could not be reached or had a transient failure: retry with backoff."""


class ConvexRefused(ConvexError):
    """The deployment refuses every call until its key or set-up changes: pause, keep the rows.

    `state` is what the drain reports (`unauthorized` or `misconfigured`)."""

    state = "misconfigured"

    def __init__(self, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status


class ConvexUnauthorized(ConvexRefused):
    """HTTP 401/403: the admin or deploy key is wrong, expired, or lacks the permission."""

    state = "unauthorized"


class ConvexMisconfigured(ConvexRefused):
    """The URL is not a Convex deployment with our functions (404, missing function, a proxy)."""

    state = "misconfigured"


class ConvexFunctionError(ConvexError):
    """The call's arguments were refused: retrying the same call gives the same answer.

    `code` is the typed code from the error's data (convex/errors.ts), `ArgumentValidationError`
    for Convex's own argument check, `RequestTooLarge` for HTTP 413, else None. `data` is the
    `errorData` of a `ConvexError` (`{code, message, ...details}`)."""

    def __init__(
        self, message: str, data: Any = None, http_status: int = 200, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.data = data
        self.http_status = http_status
        data_code = data.get("code") if isinstance(data, dict) else None
        self.code = data_code if isinstance(data_code, str) else code


def _snippet(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


class ConvexHttpClient:
    """Calls functions of one deployment with an admin (or deploy) key."""

    def __init__(self, url: str, admin_key: str | None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.admin_key = admin_key
        self._http = httpx.AsyncClient(
            base_url=self.url,
            headers=self._headers(admin_key),
            timeout=timeout,
            limits=httpx.Limits(max_connections=4),
        )

    @staticmethod
    def _headers(admin_key: str | None) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Convex-Client": "oa-supervisor-0.1"}
        if admin_key:
            headers["Authorization"] = f"Convex {admin_key}"
        return headers

    def reconfigure(self, url: str, admin_key: str | None) -> None:
        """Use another URL or key from the next call on (the key or URL was fixed)."""
        self.url = url.rstrip("/")
        self.admin_key = admin_key
        self._http.base_url = httpx.URL(self.url)
        self._http.headers = httpx.Headers(self._headers(admin_key))

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ConvexHttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def query(self, path: str, args: dict[str, Any] | None = None) -> Any:
        return await self._call("query", path, args or {})

    async def mutation(self, path: str, args: dict[str, Any] | None = None) -> Any:
        return await self._call("mutation", path, args or {})

    async def action(self, path: str, args: dict[str, Any] | None = None) -> Any:
        return await self._call("action", path, args or {})

    async def instance_name(self) -> str:
        """`GET /instance_name`: the health check of a backend."""
        try:
            r = await self._http.get("/instance_name", timeout=5.0)
        except httpx.HTTPError as exc:
            raise ConvexUnavailable(f"{self.url} unreachable: {exc}") from None
        if r.status_code != 200:
            raise ConvexUnavailable(f"{self.url}/instance_name answered HTTP {r.status_code}")
        return r.text.strip()

    async def _call(self, kind: str, path: str, args: dict[str, Any]) -> Any:
        what = f"{kind} {path}"
        try:
            r = await self._http.post(f"/api/{kind}", json={"path": path, "args": args, "format": "json"})
        except httpx.HTTPError as exc:
            raise ConvexUnavailable(f"{what}: {type(exc).__name__}: {exc}") from None
        status = r.status_code
        if status >= 500 or status in _TRANSIENT_HTTP:
            raise ConvexUnavailable(f"{what}: HTTP {status}")
        body = self._json(r)
        if status != 200:
            raise self._request_error(what, r, body)
        if not isinstance(body, dict) or body.get("status") not in ("success", "error"):
            # A 200 that is not the Convex API's answer: a login page, a proxy, another server.
            raise ConvexMisconfigured(
                f"{what}: {self.url} answered HTTP 200 with {self._describe(r, body)}, not the Convex "
                "HTTP API: check OPENAGENTS_CONVEX_URL",
                status,
            )
        if body["status"] == "success":
            return body.get("value")
        message = str(body.get("errorMessage") or "unknown error")
        if message.startswith(_MISSING_FUNCTION) or message.startswith(_WRONG_KIND):
            raise ConvexMisconfigured(
                f"{what}: {message} (the deployment does not have oa-supervisor's functions: deploy "
                "convex/ with `npx convex deploy`, or let the convex_backend actor deploy them)",
                status,
            )
        code = "ArgumentValidationError" if message.startswith("ArgumentValidationError") else None
        raise ConvexFunctionError(f"{what}: {message}", body.get("errorData"), code=code)

    @staticmethod
    def _json(r: httpx.Response) -> Any:
        try:
            return r.json()
        except ValueError:
            return None

    @staticmethod
    def _describe(r: httpx.Response, body: Any) -> str:
        if body is None:
            ctype = r.headers.get("content-type", "no content type").split(";")[0]
            return f"a non-JSON body ({ctype}: {_snippet(r.text)!r})"
        return f"JSON that is not a Convex answer ({_snippet(r.text)!r})"

    def _request_error(self, what: str, r: httpx.Response, body: Any) -> ConvexError:
        """A refused request (HTTP 4xx other than the transient ones), by class."""
        status = r.status_code
        convex_shaped = isinstance(body, dict) and isinstance(body.get("code"), str) and "message" in body
        detail = f"{body['code']}: {body['message']}" if convex_shaped else self._describe(r, body)
        if status in (401, 403):
            return ConvexUnauthorized(
                f"{what}: HTTP {status} {detail} (the admin key was refused: set OPENAGENTS_CONVEX_ADMIN_KEY "
                "or fix $OPENAGENTS_HOME/convex/admin_key; the outbox keeps every row)",
                status,
            )
        if status == 413:
            # The request body is over a size limit (the backend's or a proxy's): smaller batches
            # fit, so the rows are split like any row error; a single row this large is quarantined.
            return ConvexFunctionError(f"{what}: HTTP 413 {detail}", http_status=413, code="RequestTooLarge")
        if status == 404:
            hint = "no Convex HTTP API at this URL"
        elif convex_shaped:
            hint = "Convex refused the request itself"
        else:
            hint = "not a Convex answer: a proxy or another server is in the way"
        return ConvexMisconfigured(
            f"{what}: HTTP {status} {detail} "
            f"({hint}: check OPENAGENTS_CONVEX_URL; the outbox keeps every row)",
            status,
        )
