"""`BridgeServer`: the bridge WebSocket (docs/protocol.md), independent of the actor runtime.

One asyncio task reads each client's frames. Events and replies are sent through the `websockets`
API without waiting (clients.py: `broadcast()` to the clients that keep up, else the client's
queue and writer task), so a slow client never stalls the others or the caller of
`broadcast`/`publish_rows`. A client whose bounded queue is full is disconnected with close code
1013 and counted. Requests are validated and routed by the verb registry (oa_actors/verbs); every
event is built from its declaration there. Every method must be called from the event loop the
server was started on.
"""

from __future__ import annotations

import asyncio
import http
import itertools
import logging
import socket
import time
import weakref
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from oa_actors.gateway import protocol
from oa_actors.gateway.access import open_devices, rate_limited, watch_devices
from oa_actors.gateway.auth import Authenticator, Principal, same_origin, ws_log
from oa_actors.gateway.clients import Client, client_info, fan_out
from oa_actors.gateway.errors import Busy, GatewayError, HandlerTimeout
from oa_actors.gateway.handler import ClientInfo, NullHandler, VerbHandler
from oa_actors.gateway.local import LocalVerbs
from oa_actors.gateway.queries import LocalQueries
from oa_actors.gateway.ratelimit import FailedAuthLimiter
from oa_actors.gateway.sessions import WebSessions
from oa_actors.gateway.settings import GatewaySettings, is_loopback
from oa_actors.gateway.status_feed import Spawn, StatusFeed
from oa_actors.gateway.tls import server_context
from oa_actors.gateway.web import WebApp
from oa_actors.runtime.tasks import spawn_supervised
from oa_actors.verbs import events as ev
from oa_actors.verbs.registry import Event, EventData, Verb

log = logging.getLogger(__name__)
D = TypeVar("D", bound=EventData)

CLOSE_SLOW = 1013  # "try again later": the client's send queue overflowed
CLOSE_TOO_MANY = 1013  # a burst got past the 503 check: over max_clients
CLOSE_GOING_AWAY = 1001  # the server stops
CLOSE_REVOKED = 1008  # policy violation: the client's credential or web session was revoked

COUNTERS = (
    "connections",
    "authFailures",
    "rejectedFull",
    "framesIn",
    "replies",
    "errors",
    "events",
    "dropped",
    "slowDisconnects",
    "oversizedCloses",
    "originRejected",
    "httpRequests",
    "logins",
    "authLimited",
)


def _spawn_logged(coro: Any, name: str) -> asyncio.Task[Any]:
    return spawn_supervised(coro, name, lambda exc: log.error("%s", exc, exc_info=exc))


class BridgeServer:
    """The bridge WebSocket server: auth, limits, local live queries, delegated verbs, fan-out."""

    def __init__(
        self,
        settings: GatewaySettings,
        handler: VerbHandler | None = None,
        store_path: str | Path | None = None,
        verbs: Mapping[str, Verb[Any, Any]] | None = None,
        spawn: Spawn | None = None,
    ) -> None:
        """`handler` answers every verb not answered locally (None: they are `unavailable`);
        `store_path` is the local store (None or missing: the live queries return empty pages);
        `verbs` replaces `protocol.PUBLIC_VERBS` (the verbs clients may send); `spawn` starts the
        server's long-lived tasks supervised (the actor's `Context.spawn`; default: a failure is
        logged)."""
        self.settings = settings
        self.handler: VerbHandler = handler or NullHandler()
        self.verbs = dict(verbs) if verbs is not None else protocol.PUBLIC_VERBS
        self.queries = LocalQueries(Path(store_path) if store_path else None, settings.max_reply_bytes)
        self.counters: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.devices = open_devices(settings)
        self.auth = Authenticator(self.devices, WebSessions(settings.sessions_path), secure=settings.secure)
        self.limiter = FailedAuthLimiter()
        self._spawn_supervised = spawn or _spawn_logged
        self._device_watch: asyncio.Task[Any] | None = None
        self.web = WebApp(self.auth, self.counters, on_logout=self.close_session)
        self._principals: weakref.WeakKeyDictionary[ServerConnection, Principal] = weakref.WeakKeyDictionary()
        self._clients: dict[str, Client] = {}
        self._threads_subs: set[Client] = set()
        self._thread_subs: dict[str, set[Client]] = {}
        self._ids = itertools.count(1)
        self._server: Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.started_at = 0.0
        self._local = LocalVerbs(self)
        self.status_feed = StatusFeed(self, spawn or _spawn_logged)

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind and serve. Raises OSError if the address is taken (nothing else is touched)."""
        s = self.settings
        self._server = await serve(
            self._serve_client,
            s.host,
            s.port,
            process_request=self._process_request,
            ssl=server_context(s.tls_cert, s.tls_key) if s.tls_cert and s.tls_key else None,
            compression="deflate" if s.compression else None,
            max_size=s.max_frame,
            max_queue=16,
            write_limit=s.write_limit,
            ping_interval=s.ping_interval,
            ping_timeout=s.ping_timeout,
            close_timeout=s.close_timeout,
            open_timeout=s.open_timeout,
            logger=ws_log,
        )
        self.started_at = time.time()
        self._device_watch = self._spawn_supervised(watch_devices(self), "device watch")
        ws, web = ("wss", "https") if s.secure else ("ws", "http")
        if not s.secure and not is_loopback(s.host):
            log.warning("the bridge link is unencrypted on the network (ws://): set OPENAGENTS_BRIDGE_TLS=1")
        log.info(
            "bridge listening on %s://%s:%s%s (web app on %s://%s:%s/)",
            ws,
            s.host,
            self.port,
            s.path,
            web,
            s.host,
            self.port,
        )

    async def stop(self) -> None:
        """Close every connection (1001), stop listening, cancel pending work, close the store."""
        if self._server is not None:
            self._server.close(close_connections=True)
            for client in list(self._clients.values()):
                client.closing = True
            try:
                await asyncio.wait_for(self._server.wait_closed(), self.settings.close_timeout + 1)
            except TimeoutError:
                for client in list(self._clients.values()):
                    client.ws.transport.abort()
            self._server = None
        await self.status_feed.stop()
        if self._device_watch is not None:
            self._device_watch.cancel()
            await asyncio.gather(self._device_watch, return_exceptions=True)
            self._device_watch = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self.queries.close()

    async def __aenter__(self) -> BridgeServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        if self._server is None:
            raise RuntimeError("the server is not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def clients(self) -> int:
        return len(self._clients)

    def connected(self) -> list[Client]:
        """The connected clients."""
        return list(self._clients.values())

    def client_infos(self) -> list[ClientInfo]:
        return [c.info for c in self._clients.values()]

    def status(self) -> dict[str, Any]:
        """What `bridge.status` answers, without `you`, as a dict (the actor's health)."""
        status: dict[str, Any] = msgspec.to_builtins(self._local.status())
        return status

    def subscription_counts(self) -> tuple[int, int]:
        """(clients subscribed to threads.list, threads with message subscribers)."""
        return len(self._threads_subs), len(self._thread_subs)

    # -- fan-out (never awaits) -------------------------------------------------------------------
    def broadcast(self, event: Event[D], data: D) -> int:
        """Send one event to every client; returns how many clients it was written or queued for."""
        return self._fan_out(self._clients.values(), protocol.event(event, data))

    def send_to(self, client_id: str, event: Event[D], data: D) -> bool:
        """Send an event to one client (False if it is gone or too slow)."""
        client = self._clients.get(client_id)
        return client is not None and self._send(client, protocol.event(event, data), is_event=True)

    def fan_out_event(self, clients: Collection[Client], event: Event[D], data: D) -> int:
        """Send one event to some clients (never waits)."""
        return self._fan_out(clients, protocol.event(event, data))

    def publish_rows(self, table: str, rows: list[dict[str, Any]]) -> int:
        """Committed rows -> the clients subscribed to them; returns the number of frames sent.

        `threads` rows go to `threads.list` subscribers as `rows.threads {rows}`; `messages` rows to the
        subscribers of their thread as `rows.messages {threadId, rows}` (one frame per thread); rows of
        another table are broadcast as its declared `rows.<table> {rows}` event (KeyError if none).
        `table` may also be a topic name (`rows.threads`).
        """
        table = table.removeprefix("rows.")
        if not rows:
            return 0
        if table == "threads":
            if not self._threads_subs:
                return 0
            payload = protocol.event(ev.THREADS_CHANGED, ev.ThreadsChanged(rows=rows))
            return self._fan_out(self._threads_subs, payload)
        if table == "messages":
            by_thread: dict[str, list[dict[str, Any]]] = {}
            for row in rows:
                tid = row.get("threadId")
                if tid in self._thread_subs:
                    by_thread.setdefault(tid, []).append(row)
            sent = 0
            for tid, part in by_thread.items():
                payload = protocol.event(ev.MESSAGES_ADDED, ev.MessagesAdded(threadId=tid, rows=part))
                sent += self._fan_out(self._thread_subs.get(tid, ()), payload)
            return sent
        return self.broadcast(ev.rows_event(table), ev.RowsChanged(rows=rows))

    def publish_removed(self, table: str, keys: list[str]) -> int:
        """Rows removed from `table` (projects, skills) -> `rows.<table>.removed {keys}` to every client."""
        return self.broadcast(ev.removed_event(table.removeprefix("rows.")), ev.RowsRemoved(keys=keys))

    def _fan_out(self, clients: Collection[Client], payload: bytes) -> int:
        """`clients.fan_out` with the counters; a client whose queue is full is disconnected."""
        live = [client for client in clients if not client.closing]
        sent, full = fan_out(live, payload)
        self.counters["events"] += sent
        self.counters["dropped"] += len(clients) - sent
        for client in full:
            self._too_slow(client)
        return sent

    def _send(self, client: Client, payload: bytes, is_event: bool = False) -> bool:
        """One frame for one client, through its queue and `send()` (replies, errors, hello)."""
        if client.closing:
            self.counters["dropped"] += 1
            return False
        if not client.enqueue(payload):
            self.counters["dropped"] += 1
            self._too_slow(client)
            return False
        if is_event:
            self.counters["events"] += 1
        return True

    def _too_slow(self, client: Client) -> None:
        self.counters["slowDisconnects"] += 1
        log.warning(
            "client %s (%s) is too slow: send queue full, disconnecting", client.info.id, client.info.remote
        )
        self._kick(client, CLOSE_SLOW, "send queue overflow: too slow")

    def _kick(self, client: Client, code: int, reason: str) -> None:
        client.closing = True
        self._forget_subs(client)
        self._spawn(self._close_client(client, code, reason))

    async def _close_client(self, client: Client, code: int, reason: str) -> None:
        if client.writer is not None:
            client.writer.cancel()
        self.counters["dropped"] += client.discard_queue()
        try:
            await asyncio.wait_for(client.ws.close(code, reason), self.settings.close_timeout)
        except (TimeoutError, ConnectionClosed, OSError):
            client.ws.transport.abort()

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- connections ------------------------------------------------------------------------------
    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Before the upgrade: 429 for an address over its failed-auth limit (access.py); pages
        and assets (web.py) for other paths; 401 without a token or session; 403 for a cookie from
        another origin; 503 when full."""
        return rate_limited(self.limiter, self.counters, connection, request, self._authorize)

    def _authorize(self, connection: ServerConnection, request: Request) -> Response | None:
        path, _, query = request.path.partition("?")
        if path != self.settings.path:
            return self.web.respond(request, path, query)
        principal = self.auth.bearer(request.headers, query)
        if principal is None:
            principal = self.auth.cookie(request.headers)
            if principal is not None and not same_origin(request.headers, self.auth.secure):
                # Cross-site WebSocket hijacking: another site's page opening /ws with our cookie.
                self.counters["originRejected"] += 1
                return connection.respond(http.HTTPStatus.FORBIDDEN, "Forbidden: Origin is not this server\n")
        if principal is None:
            self.counters["authFailures"] += 1
            response = connection.respond(
                http.HTTPStatus.UNAUTHORIZED, "Unauthorized: a valid bridge token is required\n"
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="oa-supervisor"'
            return response
        if len(self._clients) >= self.settings.max_clients:
            self.counters["rejectedFull"] += 1
            return connection.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, "Too many clients\n")
        self._principals[connection] = principal
        return None

    def revoke_credential(self, credential: str) -> int:
        """End every web session of a credential and close its connections (1008); returns how
        many connections were closed (a revoked or expired device is out)."""
        self.auth.revoke(credential)
        return self._close_where(lambda p: p.credential == credential, "credential revoked")

    def close_session(self, session: str) -> int:
        """Close the connections of one web session (the browser signed out)."""
        return self._close_where(lambda p: p.session == session, "signed out")

    def _close_where(self, match: Any, reason: str) -> int:
        doomed = [c for c in self._clients.values() if c.principal is not None and match(c.principal)]
        for client in doomed:
            if not client.closing:
                self._kick(client, CLOSE_REVOKED, reason)
        return len(doomed)

    async def _serve_client(self, ws: ServerConnection) -> None:
        info = client_info(ws, f"c{next(self._ids)}")
        if len(self._clients) >= self.settings.max_clients or self._server is None:
            self.counters["rejectedFull"] += 1
            await ws.close(CLOSE_TOO_MANY, "too many clients")
            return
        if self.settings.socket_send_buffer is not None:
            sock = ws.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.settings.socket_send_buffer)
        s = self.settings
        client = Client(ws, info, s.send_queue, s.write_limit)
        client.principal = self._principals.pop(ws, None)
        self._clients[info.id] = client
        self.counters["connections"] += 1
        client.start()
        hello = ev.Hello(
            protocol=protocol.PROTOCOL_VERSION,
            clientId=info.id,
            verbs=sorted(self.verbs),
            limits=ev.HelloLimits(maxRequest=s.max_request, maxFrame=s.max_frame),
            machine=s.machine_name,
        )
        self._send(client, protocol.event(ev.HELLO, hello), is_event=True)
        try:
            async for data in ws:
                self.counters["framesIn"] += 1
                if not client.closing:
                    self._on_frame(client, data)
        except ConnectionClosed:
            pass
        finally:
            sent = ws.protocol.close_sent
            if sent is not None and sent.code == 1009:  # the library refused a frame above max_frame
                self.counters["oversizedCloses"] += 1
            self._drop(client)
            if client.writer is not None:
                client.writer.cancel()
            for task in list(client.inflight):
                task.cancel()

    def _drop(self, client: Client) -> None:
        self._clients.pop(client.info.id, None)
        self._forget_subs(client)

    def _forget_subs(self, client: Client) -> None:
        self._threads_subs.discard(client)
        self.status_feed.forget(client)
        for tid in client.thread_subs:
            subs = self._thread_subs.get(tid)
            if subs is not None:
                subs.discard(client)
                if not subs:
                    del self._thread_subs[tid]
        client.thread_subs.clear()
        client.threads_sub = False

    # -- requests ---------------------------------------------------------------------------------
    def _on_frame(self, client: Client, data: str | bytes) -> None:
        try:
            req = protocol.parse_frame(data, self.settings.max_request, self.verbs)
        except GatewayError as exc:
            self._send_error(client, *protocol.error_context(exc), exc)
            return
        name = req.verb.name
        # `search` by meaning is answered by the indexer (it holds the model); the reply keeps `search`.
        ask = self._local.route(req) if req.verb.local else None
        if req.verb.local and ask is None:
            try:
                self._send_reply(client, req, self._local.answer(client, req))
            except GatewayError as exc:
                self._send_error(client, req.id, name, exc)
            except Exception:
                log.exception("local verb %s failed", name)
                self._send_error(client, req.id, name, GatewayError("internal error"))
            return
        if len(client.inflight) >= self.settings.max_inflight:
            self._send_error(
                client, req.id, name, Busy(f"more than {self.settings.max_inflight} requests in flight")
            )
            return
        task = asyncio.get_running_loop().create_task(self._delegate(client, req, ask))
        client.inflight.add(task)
        task.add_done_callback(client.inflight.discard)

    async def _delegate(
        self, client: Client, req: protocol.Request, ask: Verb[Any, Any] | None = None
    ) -> None:
        """Ask the actor serving `req` (or `ask`, a verb with the same arguments) and reply to `req`."""
        verb, timeout = ask or req.verb, self.settings.handler_timeout
        name = req.verb.name
        try:
            async with asyncio.timeout(timeout):
                result = await self.handler.handle(verb.name, verb.dump(req.args), client.info)
        except GatewayError as exc:
            self._send_error(client, req.id, name, exc)
            return
        except TimeoutError:
            self._send_error(
                client, req.id, name, HandlerTimeout(f"{name} was not answered within {timeout:g} s")
            )
            return
        except Exception as exc:
            log.exception("handler failed on %s", name)
            self._send_error(client, req.id, name, GatewayError(f"internal error ({type(exc).__name__})"))
            return
        self._send_reply(client, req, {} if result is None else result)

    def _send_reply(self, client: Client, req: protocol.Request, result: Any) -> None:
        try:
            payload = protocol.reply(req.id, req.verb.name, result)
        except TypeError as exc:
            log.error("the result of %s is not JSON-encodable: %s", req.verb.name, exc)
            self._send_error(
                client, req.id, req.verb.name, GatewayError("internal error (unencodable result)")
            )
            return
        if self._send(client, payload):
            self.counters["replies"] += 1

    def _send_error(self, client: Client, request_id: Any, verb: str | None, exc: GatewayError) -> None:
        self.counters["errors"] += 1
        self._send(client, protocol.error(request_id, verb, exc))

    # -- subscriptions (used by LocalVerbs) ---------------------------------------------------------
    def subscribe_threads(self, client: Client, on: bool) -> None:
        client.threads_sub = on
        (self._threads_subs.add if on else self._threads_subs.discard)(client)

    def subscribe_thread(self, client: Client, thread_id: str) -> None:
        client.thread_subs.add(thread_id)
        self._thread_subs.setdefault(thread_id, set()).add(client)

    def unsubscribe_thread(self, client: Client, thread_id: str) -> bool:
        if thread_id not in client.thread_subs:
            return False
        client.thread_subs.discard(thread_id)
        subs = self._thread_subs.get(thread_id)
        if subs is not None:
            subs.discard(client)
            if not subs:
                del self._thread_subs[thread_id]
        return True
