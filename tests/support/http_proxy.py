"""A reverse HTTP proxy on 127.0.0.1 for tests: forwards to a target, or answers on its own.

Stands for what can sit between the writer and Convex (a corporate proxy, an auth gateway, nginx
with a body-size limit). `answer` makes it reply itself (e.g. an HTML 404 or a JSON 400) instead of
forwarding; `max_body` refuses larger requests with 413 like nginx's `client_max_body_size`.
Test infrastructure only.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class ProxyAnswer:
    """A canned reply: status, content type and body."""

    def __init__(self, status: int, body: str, content_type: str = "application/json") -> None:
        self.status = status
        self.body = body.encode()
        self.content_type = content_type


class ReverseProxy:
    """`with ReverseProxy(target_url) as p:` serves on `p.url` until the block ends."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.target_host = parts.hostname or "127.0.0.1"
        self.target_port = parts.port or 80
        self.answer: ProxyAnswer | None = None
        self.max_body: int | None = None
        self.requests = 0
        self.refused_413 = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _relay(self) -> None:
                proxy.requests += 1
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size) if size else b""
                canned = proxy.answer
                if canned is None and proxy.max_body is not None and size > proxy.max_body:
                    proxy.refused_413 += 1
                    canned = ProxyAnswer(
                        413, "<html><body><h1>413 Request Entity Too Large</h1></body></html>", "text/html"
                    )
                if canned is not None:
                    self.send_response(canned.status)
                    self.send_header("Content-Type", canned.content_type)
                    self.send_header("Content-Length", str(len(canned.body)))
                    self.end_headers()
                    self.wfile.write(canned.body)
                    return
                conn = http.client.HTTPConnection(proxy.target_host, proxy.target_port, timeout=60)
                try:
                    headers = {
                        k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
                    }
                    conn.request(self.command, self.path, body=body, headers=headers)
                    r = conn.getresponse()
                    data = r.read()
                except OSError:
                    self.send_error(502, "Bad Gateway")
                    return
                finally:
                    conn.close()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _relay
            do_POST = _relay

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="test-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ReverseProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
