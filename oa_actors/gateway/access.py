"""The bridge's side of pairing: its device registry, the watch that enforces revocations and
expiry on open connections, the failed-auth limiter hook, and the `devices.*` verbs.

- `open_devices`: the registry of `settings.devices_path` (migrating the legacy token), or an
  in-memory one holding only `settings.token` as "desktop" (tests, benchmarks).
- `watch_devices`: every `device_poll` seconds, reloads the devices file when the CLI changed it and
  closes (1008) every connection and web session whose device is revoked or expired.
- `devices.list` / `devices.revoke` answer admin devices only (`forbidden` otherwise).
"""

from __future__ import annotations

import asyncio
import http
import logging
from collections.abc import Callable, MutableMapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from oa_actors.gateway.auth import bearer_tokens, session_cookie
from oa_actors.gateway.devices import DeviceError, DeviceRegistry
from oa_actors.gateway.errors import Forbidden, NotFound
from oa_actors.gateway.local import answers
from oa_actors.gateway.ratelimit import FailedAuthLimiter
from oa_actors.gateway.settings import GatewaySettings
from oa_actors.verbs import catalog as c

if TYPE_CHECKING:
    from oa_actors.gateway.clients import Client
    from oa_actors.gateway.local import LocalVerbs
    from oa_actors.gateway.server import BridgeServer

log = logging.getLogger(__name__)


def open_devices(settings: GatewaySettings) -> DeviceRegistry:
    """The server's credentials (see the module docstring)."""
    if settings.devices_path is not None:
        return DeviceRegistry.open(settings.devices_path.parent, settings.token or None)
    registry = DeviceRegistry(None)
    registry.adopt_desktop(settings.token)
    return registry


def presents_credentials(request: Request) -> bool:
    """Whether a request carries a token, a login code or a session cookie (only those can be
    guesses)."""
    query = request.path.partition("?")[2]
    return bool(
        bearer_tokens(request.headers, query) or "code" in parse_qs(query) or session_cookie(request.headers)
    )


def rate_limited(
    limiter: FailedAuthLimiter,
    counters: MutableMapping[str, int],
    connection: ServerConnection,
    request: Request,
    authorize: Callable[[ServerConnection, Request], Response | None],
) -> Response | None:
    """`authorize(connection, request)` behind the failed-auth limit of the request's address:
    429 while the address is limited (no token is compared), and a failure counted when
    `authorize` counted one (`authFailures`) for a request that presented credentials."""
    guess = presents_credentials(request)
    address = str((connection.remote_address or ("?",))[0])
    if guess and limiter.blocked(address):
        counters["authLimited"] += 1
        response = connection.respond(http.HTTPStatus.TOO_MANY_REQUESTS, "Too many failed attempts\n")
        response.headers["Retry-After"] = "1"
        return response
    failures = counters["authFailures"]
    try:
        return authorize(connection, request)
    finally:
        if guess and counters["authFailures"] > failures:
            limiter.failed(address)


def close_invalid(server: BridgeServer) -> int:
    """Close the connections of devices that are no longer valid; returns how many closed."""
    devices = server.devices
    devices.refresh()
    stale = {
        c.principal.credential
        for c in server.connected()
        if c.principal is not None and not c.closing and not devices.valid(c.principal.credential)
    }
    closed = 0
    for credential in stale:
        closed += server.revoke_credential(credential)
    return closed


async def watch_devices(server: BridgeServer) -> None:
    """Enforce revocations (made by any process) and expiry on open connections, forever."""
    try:
        while True:
            await asyncio.sleep(server.settings.device_poll)
            closed = close_invalid(server)
            if closed:
                log.info("closed %d connection(s) of revoked or expired devices", closed)
    finally:
        server.devices.flush_seen()


def _admin(verbs: LocalVerbs, client: Client) -> None:
    principal = client.principal
    if principal is None or not verbs.server.devices.is_admin(principal.credential):
        raise Forbidden("only a device paired as an admin may manage devices")


@answers(c.DEVICES_LIST)
def _devices_list(verbs: LocalVerbs, client: Client, args: c.DevicesList) -> c.DeviceList:
    _admin(verbs, client)
    me = verbs.server.devices.by_credential(client.principal.credential) if client.principal else None
    rows = [c.DeviceInfo(**d) for d in verbs.server.devices.list()]
    return c.DeviceList(devices=rows, you=me.name if me else None)


@answers(c.DEVICES_REVOKE)
def _devices_revoke(verbs: LocalVerbs, client: Client, args: c.DevicesRevoke) -> c.DeviceRevoked:
    _admin(verbs, client)
    try:
        credential = verbs.server.devices.revoke(args.name)
    except DeviceError as exc:
        raise NotFound(str(exc)) from None
    log.info("device %r revoked by a client", args.name)
    # The asking device may be the one revoked: its reply is queued before its socket closes.
    closed = verbs.server.revoke_credential(credential)
    return c.DeviceRevoked(name=args.name, closed=closed)
