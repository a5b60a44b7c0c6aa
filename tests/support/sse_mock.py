"""The HTTP side shared by the scripted model mocks (OpenAI Responses, Anthropic Messages).

Test infrastructure: binds 127.0.0.1 on an ephemeral port, records every request, and streams the
Server-Sent Events a subclass scripts. Subclasses implement `route(path, body)`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Events = Iterator[tuple[str, dict[str, Any]]]


@dataclass
class Reply:
    """What to answer: an SSE stream (`events`), or a JSON body, or an empty body."""

    status: int = 200
    events: Events | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class SSEMock:
    """Base of the mocks: the server, the request log, ids; use as a context manager."""

    name = "mock"

    def __init__(self) -> None:
        self.log: list[dict[str, Any]] = []  # {"method", "path", "body"}
        self._counter = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name=self.name, daemon=True)

    def __enter__(self) -> Any:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def next_number(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def route(self, path: str, body: dict[str, Any]) -> Reply:
        """Answer a POST (path without the query string)."""
        raise NotImplementedError

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        mock = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if reply.events is None:
                    raw = b"" if reply.body is None else json.dumps(reply.body).encode()
                    if raw:
                        self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                    return
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    for event, data in reply.events:
                        self.wfile.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

            def do_HEAD(self) -> None:
                mock.log.append({"method": "HEAD", "path": self.path, "body": None})
                self._send(Reply(200))

            def do_GET(self) -> None:
                mock.log.append({"method": "GET", "path": self.path, "body": None})
                self._send(Reply(404))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b"{}"
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {}
                mock.log.append({"method": "POST", "path": self.path, "body": body})
                self._send(mock.route(self.path.split("?", 1)[0].rstrip("/"), body))

        return Handler
