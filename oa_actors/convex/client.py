"""A small async client for the Convex HTTP API (`POST /api/query|mutation|action`).

One `httpx.AsyncClient` (one connection pool) per client object, reused for every call. Errors
are sorted into the two cases a caller acts on: `ConvexUnavailable` (retry later: network, 5xx,
timeouts) and `ConvexFunctionError` (the function ran and failed, or the request was refused:
retrying the same call gives the same answer).
"""

from __future__ import annotations

from typing import Any

import httpx


class ConvexError(Exception):
    """Base of the errors this client raises."""


class ConvexUnavailable(ConvexError):
    """The deployment could not be reached or had a transient failure: retry with backoff."""


class ConvexFunctionError(ConvexError):
    """The call was answered with an error that a retry would repeat (validation, auth, code)."""

    def __init__(self, message: str, data: Any = None, http_status: int = 200) -> None:
        super().__init__(message)
        self.data = data
        self.http_status = http_status


class ConvexHttpClient:
    """Calls functions of one deployment with an admin (or deploy) key."""

    def __init__(self, url: str, admin_key: str | None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        headers = {"Content-Type": "application/json", "Convex-Client": "oa-supervisor-0.1"}
        if admin_key:
            headers["Authorization"] = f"Convex {admin_key}"
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=headers, timeout=timeout, limits=httpx.Limits(max_connections=4)
        )

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
        try:
            r = await self._http.post(f"/api/{kind}", json={"path": path, "args": args, "format": "json"})
        except httpx.HTTPError as exc:
            raise ConvexUnavailable(f"{kind} {path}: {type(exc).__name__}: {exc}") from None
        if r.status_code >= 500 or r.status_code in (408, 429):
            raise ConvexUnavailable(f"{kind} {path}: HTTP {r.status_code}")
        try:
            body = r.json()
        except ValueError:
            raise ConvexUnavailable(f"{kind} {path}: HTTP {r.status_code} with a non-JSON body") from None
        if r.status_code != 200:
            msg = body.get("message") or body.get("errorMessage") or str(body)
            raise ConvexFunctionError(
                f"{kind} {path}: HTTP {r.status_code} {body.get('code', '')}: {msg}",
                http_status=r.status_code,
            )
        if body.get("status") == "success":
            return body.get("value")
        raise ConvexFunctionError(
            f"{kind} {path}: {body.get('errorMessage', 'unknown error')}", body.get("errorData")
        )
