"""`BridgeServer`: the bridge WebSocket (docs/protocol.md), independent of the actor runtime.

One asyncio task reads each client's frames; events and replies are written without waiting
(clients.py: written at once while the socket keeps up, else queued for the client's writer task),
so a slow client never stalls the others or the caller of `broadcast`/`publish_rows`. A client
whose bounded queue is full is disconnected with close code 1013 and counted.
Every method must be called from the event loop the server was started on.
"""

from __future__ import annotations

import asyncio
import hmac
import http
import itertools
import logging
import re
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from oa_actors.gateway import protocol
from oa_actors.gateway.clients import Client
from oa_actors.gateway.errors import Busy, GatewayError, HandlerTimeout
from oa_actors.gateway.handler import ClientInfo, NullHandler, VerbHandler
from oa_actors.gateway.local import LocalVerbs
from oa_actors.gateway.queries import LocalQueries
from oa_actors.gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

CLOSE_SLOW = 1013  # "try again later": the client's send queue overflowed
CLOSE_TOO_MANY = 1013  # a burst got past the 503 check: over max_clients
CLOSE_GOING_AWAY = 1001  # the server stops

_SECRET = re.compile(r"(token=|Bearer\s+)[^\s&\"']+", re.IGNORECASE)


class _Redact(logging.Filter):
    """Masks `token=...` and `Bearer ...` in websockets' own log lines (the token is never logged)."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if _SECRET.search(text):
            record.msg, record.args = _SECRET.sub(r"\1<redacted>", text), ()
        return True


_ws_log = logging.getLogger("oa_actors.gateway.ws")
_ws_log.addFilter(_Redact())


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
)


class BridgeServer:
    """The bridge WebSocket server: auth, limits, local live queries, delegated verbs, fan-out."""

    def __init__(
        self,
        settings: GatewaySettings,
        handler: VerbHandler | None = None,
        store_path: str | Path | None = None,
        verbs: Mapping[str, protocol.VerbSpec] | None = None,
    ) -> None:
        """`handler` answers every non-local verb (None: they are `unavailable`); `store_path` is the
        local store (None or missing: the live queries return empty pages); `verbs` replaces
        `protocol.VERBS` (to add verbs for the handler)."""
        self.settings = settings
        self.handler: VerbHandler = handler or NullHandler()
        self.verbs = dict(verbs) if verbs is not None else protocol.VERBS
        self.queries = LocalQueries(Path(store_path) if store_path else None, settings.max_reply_bytes)
        self.counters: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self._token = settings.token.encode()
        self._clients: dict[str, Client] = {}
        self._threads_subs: set[Client] = set()
        self._thread_subs: dict[str, set[Client]] = {}
        self._ids = itertools.count(1)
        self._server: Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = 0.0
        self._local = LocalVerbs(self)

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind and serve. Raises OSError if the address is taken (nothing else is touched)."""
        s = self.settings
        self._server = await serve(
            self._serve_client,
            s.host,
            s.port,
            process_request=self._process_request,
            compression="deflate" if s.compression else None,
            max_size=s.max_frame,
            max_queue=16,
            write_limit=s.write_limit,
            ping_interval=s.ping_interval,
            ping_timeout=s.ping_timeout,
            close_timeout=s.close_timeout,
            open_timeout=s.open_timeout,
            logger=_ws_log,
        )
        self._started = time.time()
        log.info("bridge listening on ws://%s:%s%s", s.host, self.port, s.path)

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

    def client_infos(self) -> list[ClientInfo]:
        return [c.info for c in self._clients.values()]

    def status(self) -> dict[str, Any]:
        """What `bridge.status` answers (also for the actor's health)."""
        s = self.settings
        return {
            "protocol": protocol.PROTOCOL_VERSION,
            "clients": len(self._clients),
            "startedAt": int(self._started * 1000),
            "uptimeMs": int((time.time() - self._started) * 1000) if self._started else 0,
            "subscriptions": {"threads": len(self._threads_subs), "messageThreads": len(self._thread_subs)},
            "counters": dict(self.counters),
            "store": {"available": self.queries.available},
            "limits": {
                "maxClients": s.max_clients,
                "maxFrame": s.max_frame,
                "maxRequest": s.max_request,
                "sendQueue": s.send_queue,
                "maxInflight": s.max_inflight,
            },
        }

    # -- fan-out (never awaits) -------------------------------------------------------------------
    def broadcast(self, event: Mapping[str, Any]) -> int:
        """Send `{"event": name, "data": ...}` to every client; returns how many queued it."""
        name, data = protocol.normalize_event(event)
        payload = protocol.event(name, data)
        return sum(self._enqueue(c, payload) for c in list(self._clients.values()))

    def send_to(self, client_id: str, event: Mapping[str, Any]) -> bool:
        """Send an event to one client (False if it is gone or too slow)."""
        client = self._clients.get(client_id)
        if client is None:
            return False
        name, data = protocol.normalize_event(event)
        return self._enqueue(client, protocol.event(name, data))

    def publish_rows(self, table: str, rows: list[dict[str, Any]]) -> int:
        """Committed rows -> the clients subscribed to them; returns the number of frames queued.

        `threads` rows go to `threads.list` subscribers as `rows.threads {rows}`; `messages` rows to the
        subscribers of their thread as `rows.messages {threadId, rows}` (one frame per thread); rows of
        any other table are broadcast as `rows.<table> {rows}`. `table` may also be a topic name.
        """
        table = table.removeprefix("rows.")
        if not rows:
            return 0
        sent = 0
        if table == "threads":
            if self._threads_subs:
                payload = protocol.event(protocol.EVENT_THREADS, {"rows": rows})
                sent = sum(self._enqueue(c, payload) for c in list(self._threads_subs))
        elif table == "messages":
            by_thread: dict[str, list[dict[str, Any]]] = {}
            for row in rows:
                tid = row.get("threadId")
                if tid in self._thread_subs:
                    by_thread.setdefault(tid, []).append(row)
            for tid, part in by_thread.items():
                payload = protocol.event(protocol.EVENT_MESSAGES, {"threadId": tid, "rows": part})
                sent += sum(self._enqueue(c, payload) for c in list(self._thread_subs.get(tid, ())))
        else:
            payload = protocol.event(f"rows.{table}", {"rows": rows})
            sent = sum(self._enqueue(c, payload) for c in list(self._clients.values()))
        return sent

    def _enqueue(self, client: Client, payload: bytes, is_event: bool = True) -> bool:
        if client.closing:
            self.counters["dropped"] += 1
            return False
        if not client.offer(payload):
            self.counters["dropped"] += 1
            self.counters["slowDisconnects"] += 1
            log.warning(
                "client %s (%s) is too slow: send queue full, disconnecting",
                client.info.id,
                client.info.remote,
            )
            self._kick(client, CLOSE_SLOW, "send queue overflow: too slow")
            return False
        if is_event:
            self.counters["events"] += 1
        return True

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
        """Before the upgrade: 404 for another path, 401 without the token, 503 when full."""
        path, _, query = request.path.partition("?")
        if path != self.settings.path:
            return connection.respond(http.HTTPStatus.NOT_FOUND, "Not Found\n")
        if not self._authorized(request.headers, query):
            self.counters["authFailures"] += 1
            response = connection.respond(
                http.HTTPStatus.UNAUTHORIZED, "Unauthorized: a valid bridge token is required\n"
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="oa-supervisor"'
            return response
        if len(self._clients) >= self.settings.max_clients:
            self.counters["rejectedFull"] += 1
            return connection.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, "Too many clients\n")
        return None

    def _authorized(self, headers: Headers, query: str) -> bool:
        candidates = [
            v.split(None, 1)[1].strip()
            for v in headers.get_all("Authorization")
            if v[:7].lower() == "bearer " and len(v.split(None, 1)) == 2
        ]
        candidates += parse_qs(query).get("token", [])
        ok = False
        for token in candidates[:4]:
            ok |= hmac.compare_digest(token.encode(), self._token)
        return ok

    async def _serve_client(self, ws: ServerConnection) -> None:
        request = ws.request
        info = ClientInfo(
            id=f"c{next(self._ids)}",
            remote=_remote(ws),
            connected_at=time.time(),
            user_agent=request.headers.get("User-Agent") if request is not None else None,
        )
        if len(self._clients) >= self.settings.max_clients or self._server is None:
            self.counters["rejectedFull"] += 1
            await ws.close(CLOSE_TOO_MANY, "too many clients")
            return
        if self.settings.socket_send_buffer is not None:
            sock = ws.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.settings.socket_send_buffer)
        s = self.settings
        client = Client(ws, info, s.send_queue, s.write_limit, direct=not s.compression)
        self._clients[info.id] = client
        self.counters["connections"] += 1
        client.start()
        self._enqueue(
            client,
            protocol.event(
                protocol.EVENT_HELLO,
                {
                    "protocol": protocol.PROTOCOL_VERSION,
                    "clientId": info.id,
                    "verbs": sorted(self.verbs),
                    "limits": {"maxRequest": self.settings.max_request, "maxFrame": self.settings.max_frame},
                },
            ),
        )
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
        if req.verb in protocol.LOCAL_VERBS:
            try:
                result = self._local.answer(client, req)
                self._send_reply(client, req, result)
            except GatewayError as exc:
                self._send_error(client, req.id, req.verb, exc)
            except Exception:
                log.exception("local verb %s failed", req.verb)
                self._send_error(client, req.id, req.verb, GatewayError("internal error"))
            return
        if len(client.inflight) >= self.settings.max_inflight:
            self._send_error(
                client, req.id, req.verb, Busy(f"more than {self.settings.max_inflight} requests in flight")
            )
            return
        task = asyncio.get_running_loop().create_task(self._delegate(client, req))
        client.inflight.add(task)
        task.add_done_callback(client.inflight.discard)

    async def _delegate(self, client: Client, req: protocol.Request) -> None:
        try:
            async with asyncio.timeout(self.settings.handler_timeout):
                result = await self.handler.handle(req.verb, dict(req.args), client.info)
        except GatewayError as exc:
            self._send_error(client, req.id, req.verb, exc)
            return
        except TimeoutError:
            self._send_error(
                client,
                req.id,
                req.verb,
                HandlerTimeout(f"{req.verb} was not answered within {self.settings.handler_timeout:g} s"),
            )
            return
        except Exception as exc:
            log.exception("handler failed on %s", req.verb)
            self._send_error(client, req.id, req.verb, GatewayError(f"internal error ({type(exc).__name__})"))
            return
        self._send_reply(client, req, {} if result is None else result)

    def _send_reply(self, client: Client, req: protocol.Request, result: Any) -> None:
        try:
            payload = protocol.reply(req.id, req.verb, result)
        except TypeError as exc:
            log.error("the result of %s is not JSON-encodable: %s", req.verb, exc)
            self._send_error(client, req.id, req.verb, GatewayError("internal error (unencodable result)"))
            return
        if self._enqueue(client, payload, is_event=False):
            self.counters["replies"] += 1

    def _send_error(self, client: Client, request_id: Any, verb: str | None, exc: GatewayError) -> None:
        self.counters["errors"] += 1
        self._enqueue(client, protocol.error(request_id, verb, exc), is_event=False)

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


def _remote(ws: ServerConnection) -> str:
    addr = ws.remote_address
    if isinstance(addr, tuple) and len(addr) >= 2:
        return f"{addr[0]}:{addr[1]}"
    return str(addr)
