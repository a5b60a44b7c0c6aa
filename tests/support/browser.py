"""A real headless Chromium (Debian's `chromium`) driven by Playwright for Python, and a bridge
server on its own event loop thread, for the web app's tests and benches.

Chromium is started with the flags this closed network needs (no background networking, no
component updates, no sync: otherwise its own connections are refused and it stalls) and a fresh
`--user-data-dir` per context. Playwright's bundled browsers are never used (`executable_path`).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from oa_actors.gateway import BridgeServer, GatewaySettings, VerbHandler

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DIST = ROOT / "oa_actors" / "web" / "dist"


def ensure_web_built() -> None:
    """Build the web app (web/build.mjs) when its output is missing or older than its sources:
    `make test` builds it first; this keeps a direct `pytest tests/web` honest too."""
    manifest = DIST / "manifest.json"
    sources = [p for p in (ROOT / "web").rglob("*") if p.is_file()]
    newest = max(p.stat().st_mtime for p in sources)
    if manifest.exists() and manifest.stat().st_mtime >= newest:
        return
    subprocess.run(["node", str(ROOT / "web" / "build.mjs")], cwd=ROOT, check=True, timeout=120)


@contextlib.contextmanager
def chromium(profile: Path | None = None, **context_options: Any) -> Iterator[Any]:
    """A Playwright persistent context of a fresh headless Chromium: its own user-data-dir
    (`profile`, kept afterwards when given, e.g. to read the browser's history; else temporary)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError("chromium is not installed: `make chromium` (apt-get install chromium)")
    keep = profile is not None
    profile = profile or Path(tempfile.mkdtemp(prefix="oa-chromium-"))
    try:
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=FLAGS,
                **{"viewport": {"width": 1100, "height": 900}, **context_options},
            )
            try:
                yield ctx
            finally:
                ctx.close()
    finally:
        if not keep:
            shutil.rmtree(profile, ignore_errors=True)


class ServerThread:
    """A `BridgeServer` on 127.0.0.1:0 running in a thread of its own (for sync browser tests)."""

    def __init__(
        self,
        settings: GatewaySettings,
        store_path: Path | None,
        handler: VerbHandler | None = None,
        **server_options: Any,
    ) -> None:
        """`server_options` go to `BridgeServer` (e.g. `verbs`: the verbs clients may send)."""
        self.loop = asyncio.new_event_loop()
        self.server = BridgeServer(settings, handler, store_path, **server_options)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ServerThread:
        self._thread.start()
        self.call(self.server.start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    def call(self, coro: Any, timeout: float = 30.0) -> Any:
        fut: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)

    def run(self, fn: Any, *args: Any) -> Any:
        """Run a plain function on the server's loop (its methods must be called there)."""

        async def wrap() -> Any:
            return fn(*args)

        return self.call(wrap())

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


def wait_until(pred: Any, timeout: float = 10.0, step: float = 0.05) -> Any:
    """Poll `pred` until it returns something truthy (or raise TimeoutError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(step)


def wait_js(page: Any, expression: str, timeout: float = 30.0) -> Any:
    """Poll a JavaScript expression in `page` until it is truthy (or raise TimeoutError).

    Playwright's `wait_for_function` re-evaluates its predicate with `eval` inside the page, which
    the app's Content-Security-Policy (no 'unsafe-eval') refuses; `page.evaluate` goes through the
    DevTools protocol instead, so this works under the real CSP."""
    return wait_until(lambda: page.evaluate(expression), timeout=timeout, step=0.05)
