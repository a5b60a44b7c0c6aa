"""One-time web login codes against a real bridge with plain HTTP clients: the code signs a browser
in once (303, cookie, no code in the redirect), a second use and an expired code get 401, the session
belongs to the device (revoking it closes the session's socket), failed codes are rate limited, and
neither the code nor the token reaches a log line or a file."""

from __future__ import annotations

import asyncio
import json
import logging
import stat
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from oa_actors.gateway import BridgeServer
from oa_actors.gateway.devices import DeviceRegistry
from oa_actors.gateway.logincodes import CODE_TTL, CODES_FILE
from oa_actors.gateway.ratelimit import FailedAuthLimiter
from tests.gateway.test_devices import closed_code, dev_server


async def get(port: int, target: str, local: str = "127.0.0.1") -> tuple[int, dict[str, str]]:
    """GET `target` with a raw HTTP/1.1 client: the status and the headers (lower-case names)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(local, 0))
    writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: test\r\n\r\n".encode())
    head = (await reader.read(65536)).decode()
    writer.close()
    lines = head.split("\r\n\r\n", 1)[0].splitlines()
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    return int(lines[0].split()[1]), headers


async def sessions_server(make_server: Any, home: Path) -> BridgeServer:
    return await dev_server(make_server, home, sessions_path=home / "web_sessions.json")


async def test_a_code_signs_in_once_as_its_device(make_server, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    home = tmp_path / "home"
    reg = DeviceRegistry.open(home)
    token = reg.pair("laptop")
    code, expires = reg.login_code("laptop")
    assert len(code) >= 32 and expires > 0  # 24 random bytes, urlsafe base64
    codes_file = home / CODES_FILE
    assert stat.S_IMODE(codes_file.stat().st_mode) == 0o600
    server = await sessions_server(make_server, home)
    status, headers = await get(server.port, f"/status?code={code}&tab=x")
    assert status == 303 and headers["location"] == "/status?tab=x"
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and code not in cookie
    session = cookie.split(";")[0]
    # Spent: the same link again answers the "open the pairing link" page.
    again, _ = await get(server.port, f"/?code={code}")
    assert again == 401
    assert json.loads(codes_file.read_text())["codes"] == {}
    # The session is the device's: the cookie opens /ws, and revoking the device closes it.
    base = f"127.0.0.1:{server.port}"
    ws = await connect(f"ws://{base}/ws", additional_headers={"Cookie": session}, origin=f"http://{base}")  # type: ignore[arg-type]
    assert json.loads(await ws.recv())["event"] == "bridge.hello"
    reg.revoke("laptop")
    assert await closed_code(ws) == 1008
    # Nothing kept the code or the token in plain text: not a file, not a log line.
    texts = [p.read_bytes() for p in home.rglob("*") if p.is_file()]
    assert not any(s.encode() in b for s in (code, token) for b in texts)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "signed in" in logged and code not in logged and token not in logged


async def test_expired_unknown_and_revoked_codes_get_401(make_server, tmp_path):
    home = tmp_path / "home"
    reg = DeviceRegistry.open(home)
    reg.pair("old")
    reg.pair("gone")
    expired, _ = reg.login_code("old", ttl=0.0)  # expires as it is minted
    orphan, _ = reg.login_code("gone")
    reg.revoke("gone")
    fresh, fresh_expiry = reg.login_code("old")
    assert 0 < fresh_expiry - time.time() <= CODE_TTL
    server = await sessions_server(make_server, home)
    for code in (expired, orphan, "not-a-code-0123456789abcdef0123"):
        status, headers = await get(server.port, f"/?code={code}")
        assert status == 401 and "set-cookie" not in headers, code
    assert server.counters["authFailures"] >= 3
    status, _ = await get(server.port, f"/?code={fresh}")
    assert status == 303  # the other device's and the expired codes did not disturb this one


async def test_code_guessing_is_rate_limited(make_server, tmp_path):
    home = tmp_path / "home"
    reg = DeviceRegistry.open(home)
    reg.pair("phone")
    code, _ = reg.login_code("phone")
    server = await sessions_server(make_server, home)
    server.limiter = FailedAuthLimiter(burst=20, rate=0.01)
    statuses = [(await get(server.port, f"/?code=guess-{n:04d}-0123456789abcdef"))[0] for n in range(40)]
    assert statuses[:20] == [401] * 20 and statuses[20:] == [429] * 20
    # While the address is limited even the right code is refused, before it is looked at: it is
    # not spent, and works from another address.
    assert (await get(server.port, f"/?code={code}"))[0] == 429
    assert (await get(server.port, f"/?code={code}", local="127.0.0.2"))[0] == 303
