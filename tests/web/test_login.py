"""Login by the pair link's one-time code in a real browser (once only; nothing in Chromium's
history database but a spent code), expired codes and the `?token=` link, 401 without it, the
Origin check on cookie WebSocket upgrades, and the apps' bearer-token path (issue 17, "Login")."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import websockets
from websockets.asyncio.client import connect

from oa_actors.gateway.devices import DeviceRegistry
from tests.support.browser import chromium
from tests.web.conftest import LOAD_TIMEOUT_MS, App

PAGES = ["/", "/t/some-thread", "/search?q=x", "/status", "/usage", "/projects"]


def history_urls(profile: Path) -> list[str]:
    """Every URL in Chromium's history database on disk (a copy: the browser may hold a lock)."""
    copy = profile.parent / "History-copy.sqlite"
    shutil.copyfile(profile / "Default" / "History", copy)
    with contextlib.closing(sqlite3.connect(copy)) as db:
        return [str(row[0]) for row in db.execute("SELECT url FROM urls")]


def test_code_link_signs_in_once_and_leaves_no_token(app: App, tmp_path: Path) -> None:
    paired = app.pair()
    link, token = paired["webUrl"], paired["token"]
    code = link.split("?code=", 1)[1]
    assert token not in link and len(code) >= 32
    profile = tmp_path / "profile"
    with chromium(profile) as ctx:
        page = ctx.new_page()
        page.set_default_timeout(LOAD_TIMEOUT_MS)
        page.goto(f"{app.base}/favicon.ico")  # a public URL first: "back" must not find the link
        resp = page.goto(link)
        assert resp is not None and resp.status == 200
        assert page.url == f"{app.base}/", page.url  # redirected without the code
        # The request chain: a 303 from the code link, which set the cookie.
        first = resp.request.redirected_from
        assert first is not None and "code=" in first.url
        redirect = first.response()
        assert redirect is not None and redirect.status == 303
        assert "code" not in redirect.headers["location"]
        cookies = {c["name"]: c for c in ctx.cookies(app.base)}
        c = cookies["oa_session"]
        assert c["httpOnly"] and c["sameSite"] == "Strict" and c["path"] == "/"
        assert code not in c["value"] and token not in c["value"]
        # The app runs on the cookie: the thread list fills from /ws.
        page.wait_for_selector(".trow")
        assert page.locator(".conn").inner_text().startswith("live")  # then " · <machine>"
        seen = page.evaluate("document.documentElement.outerHTML + location.href")
        assert code not in seen and token not in seen
        assert page.evaluate("document.cookie") == ""  # HttpOnly: scripts cannot read the session
        page.go_back()  # the entry before is the page opened before: the link is not an entry
        assert page.url == f"{app.base}/favicon.ico"
        page.go_forward()
        assert page.url == f"{app.base}/"
        # Deep links work with the cookie alone.
        page.goto(f"{app.base}/status")
        page.wait_for_selector("table.actors")
        # The code works once: the same link again is the "open the pairing link" page.
        again = ctx.new_page()
        resp = again.goto(link)
        assert resp is not None and resp.status == 401
        assert again.locator("h1").inner_text() == "Open the pairing link"
    # Chromium's history database keeps the link that was opened (the start of the redirect
    # chain), as it does for any URL: now that is only a spent code, never the device token.
    urls = history_urls(profile)
    assert any(f"code={code}" in u for u in urls), urls  # the database is really read
    assert not any(token in u for u in urls)
    assert not any(token.encode() in p.read_bytes() for p in profile.rglob("*") if p.is_file())
    # Nor does the supervisor's log hold the token or the code.
    logged = app.sup.log.read_text(errors="replace")
    assert token not in logged and code not in logged


def test_expired_code_and_the_token_link(app: App) -> None:
    """An expired code gets 401; the older `?token=` link still signs a browser in."""
    paired = app.pair()
    registry = DeviceRegistry.open(app.sup.home)
    expired, _ = registry.login_code(paired["device"], ttl=0.0)
    with chromium() as ctx:
        page = ctx.new_page()
        page.set_default_timeout(LOAD_TIMEOUT_MS)
        resp = page.goto(f"{app.base}/?code={expired}")
        assert resp is not None and resp.status == 401
        assert not [c for c in ctx.cookies(app.base) if c["name"] == "oa_session"]
        resp = page.goto(f"{app.base}/status?token={paired['token']}")
        assert resp is not None and resp.status == 200 and page.url == f"{app.base}/status"
        assert [c for c in ctx.cookies(app.base) if c["name"] == "oa_session"]
        page.wait_for_selector("table.actors")


def test_without_a_session_every_page_and_asset_answers_401(app: App) -> None:
    with chromium() as ctx:
        page = ctx.new_page()
        page.set_default_timeout(LOAD_TIMEOUT_MS)
        for path in PAGES:
            resp = page.goto(app.base + path)
            assert resp is not None and resp.status == 401, path
            assert page.locator("h1").inner_text() == "Open the pairing link"
        bad = page.goto(f"{app.base}/?token=not-the-token")
        assert bad is not None and bad.status == 401
        assert not [c for c in ctx.cookies(app.base) if c["name"] == "oa_session"]
        # The bundles are not public either (only the PWA manifest and icons are).
        signed = chromium_asset_names(app)
        for name in signed:
            r = ctx.request.get(f"{app.base}/assets/{name}")
            assert r.status == 401, name
        assert ctx.request.get(f"{app.base}/manifest.webmanifest").status == 200


def chromium_asset_names(app: App) -> list[str]:
    """The hashed bundle names the shell page references (read with the bearer token)."""
    import re
    import urllib.request

    req = urllib.request.Request(app.base + "/", headers={"Authorization": f"Bearer {app.token}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        html = r.read().decode()
    names = re.findall(r"/assets/([\w.-]+)", html)
    assert len(names) >= 2 and any(n.endswith(".css") for n in names), html
    return names


def session_cookie(app: App, ctx: Any) -> str:
    return next(c["value"] for c in ctx.cookies(app.base) if c["name"] == "oa_session")


async def ws_status(app: App, headers: dict[str, str]) -> int | dict[str, Any]:
    """Open /ws with `headers` and ask bridge.status: the reply, or the refused upgrade's status."""
    try:
        async with connect(
            app.base.replace("http", "ws") + "/ws", additional_headers=headers, open_timeout=30
        ) as ws:
            await ws.send(json.dumps({"control": "bridge.status", "id": 1}))
            while True:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if msg.get("id") == 1:
                    return dict(msg)
    except websockets.InvalidStatus as exc:
        return int(exc.response.status_code)


def test_cookie_upgrades_check_origin_and_bearer_still_works(app: App, browser: Any) -> None:
    cookie = session_cookie(app, browser)
    host = urlsplit(app.base).netloc

    def run(headers: dict[str, str]) -> int | dict[str, Any]:
        # Playwright's sync API owns this thread's event loop: the client runs in a thread of its own.
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, ws_status(app, headers)).result(60)

    own = run({"Cookie": f"oa_session={cookie}", "Origin": app.base})
    assert isinstance(own, dict) and own["ok"], own
    for origin in ("http://evil.example", f"https://{host}", "null", f"http://{host}.evil.example"):
        assert run({"Cookie": f"oa_session={cookie}", "Origin": origin}) == 403, origin
    assert run({"Cookie": f"oa_session={cookie}"}) == 403  # no Origin with a cookie: refused
    assert run({"Cookie": "oa_session=forged", "Origin": app.base}) == 401
    # The phone app's path: a bearer token, no cookie, no Origin.
    phone = run({"Authorization": f"Bearer {app.token}"})
    assert isinstance(phone, dict) and phone["ok"], phone
    assert run({"Authorization": "Bearer wrong"}) == 401


def test_a_page_of_another_site_cannot_use_the_session(app: App, browser: Any) -> None:
    """A real cross-site page in the signed-in browser: its WebSocket to the bridge is refused."""
    page = browser.new_page()
    try:
        # Same host, other site: `localhost` vs 127.0.0.1 (the cookie is SameSite=Strict, and the
        # server refuses the foreign Origin anyway).
        other = app.base.replace("127.0.0.1", "localhost")
        page.goto(other + "/manifest.webmanifest")
        result = page.evaluate(
            """url => new Promise(done => {
                 const ws = new WebSocket(url);
                 ws.onopen = () => done("open");
                 ws.onerror = () => done("refused");
               })""",
            app.base.replace("http", "ws") + "/ws",
        )
        assert result == "refused"
    finally:
        page.close()


@pytest.mark.parametrize("path", ["/", "/status"])
def test_bearer_header_serves_pages(app: App, path: str) -> None:
    import urllib.request

    req = urllib.request.Request(app.base + path, headers={"Authorization": f"Bearer {app.token}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200
        body = r.read()
    assert b'<div id="app">' in body and app.token.encode() not in body
