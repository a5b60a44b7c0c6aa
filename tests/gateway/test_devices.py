"""Paired devices against a real bridge with real WebSocket clients: revocation while connected
(by the CLI and by the WS verb), web sessions of a revoked device, expiry, admin-only verbs, the
failed-auth rate limit, and no plaintext token under OPENAGENTS_HOME."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from oa_actors.gateway import BridgeServer
from oa_actors.gateway.devices import DeviceRegistry
from oa_actors.gateway.ratelimit import FailedAuthLimiter
from tests.gateway.conftest import TOKEN, call

ROOT = Path(__file__).resolve().parents[2]


async def dev_server(make_server: Any, home: Path, **kw: Any) -> BridgeServer:
    server: BridgeServer = await make_server(devices_path=home / "devices.json", device_poll=0.05, **kw)
    return server


async def open_as(server: BridgeServer, token: str, **kw: Any) -> ClientConnection:
    ws = await connect(
        f"ws://127.0.0.1:{server.port}/ws", additional_headers={"Authorization": f"Bearer {token}"}, **kw
    )
    assert json.loads(await ws.recv())["event"] == "bridge.hello"
    return ws


async def status_of(server: BridgeServer, token: str) -> int:
    with pytest.raises(InvalidStatus) as info:
        await open_as(server, token)
    return info.value.response.status_code


async def closed_code(ws: ClientConnection) -> int | None:
    """Read until the server closes; the close code it sent."""
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(30):
            while True:
                await ws.recv()
    return ws.close_code


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAGENTS_")}
    env["OPENAGENTS_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "oa_actors", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_revoke_by_cli_closes_that_device_only(make_server, tmp_path):
    home = tmp_path / "home"
    reg = DeviceRegistry.open(home)
    phone, tablet = reg.pair("phone"), reg.pair("tablet")
    server = await dev_server(make_server, home)
    ws_phone, ws_tablet = await open_as(server, phone), await open_as(server, tablet)
    assert (await call(ws_phone, "ping"))["ok"] is True
    out = await asyncio.to_thread(cli, home, "devices", "revoke", "phone")
    assert out.returncode == 0, out.stderr
    assert await closed_code(ws_phone) == 1008
    assert await status_of(server, phone) == 401
    assert (await call(ws_tablet, "ping", 2))["ok"] is True  # the other device is unaffected
    again = await open_as(server, tablet)
    await again.close()
    await ws_tablet.close()
    # The desktop token (settings.token) is the admin device "desktop", migrated into the file.
    assert {d["name"]: d["state"] for d in DeviceRegistry.open(home).list()} == {
        "desktop": "active",
        "phone": "revoked",
        "tablet": "active",
    }
    texts = [p.read_bytes() for p in home.rglob("*") if p.is_file()]
    assert not any(t.encode() in b for t in (phone, tablet, TOKEN) for b in texts)


async def test_web_session_of_revoked_device_ends(make_server, tmp_path):
    home = tmp_path / "home"
    phone = DeviceRegistry.open(home).pair("phone-browser")
    server = await dev_server(make_server, home, sessions_path=home / "web_sessions.json")
    base = f"127.0.0.1:{server.port}"
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(f"GET /?token={phone} HTTP/1.1\r\nHost: {base}\r\n\r\n".encode())
    head = (await reader.read(65536)).decode()
    writer.close()
    assert head.startswith("HTTP/1.1 303")
    cookie = next(
        line.split(":", 1)[1].split(";")[0].strip()
        for line in head.splitlines()
        if line.startswith("Set-Cookie")
    )
    ws = await connect(
        f"ws://{base}/ws",
        additional_headers={"Cookie": cookie},
        origin=f"http://{base}",  # type: ignore[arg-type]
    )
    assert json.loads(await ws.recv())["event"] == "bridge.hello"
    admin = await open_as(server, TOKEN)
    reply = await call(admin, "devices.revoke", 1, name="phone-browser")
    assert reply["ok"] is True and reply["result"] == {"name": "phone-browser", "closed": 1}
    assert await closed_code(ws) == 1008
    with pytest.raises(InvalidStatus) as info:
        await connect(f"ws://{base}/ws", additional_headers={"Cookie": cookie}, origin=f"http://{base}")  # type: ignore[arg-type]
    assert info.value.response.status_code == 401
    await admin.close()


async def test_expiry_closes_and_refuses(make_server, tmp_path):
    home = tmp_path / "home"
    short = DeviceRegistry.open(home).pair("visitor", expires=1.0)
    server = await dev_server(make_server, home)
    ws = await open_as(server, short)
    assert await closed_code(ws) == 1008  # closed by the device watch once it expired
    assert await status_of(server, short) == 401
    rows = {d["name"]: d for d in DeviceRegistry.open(home).list()}
    assert rows["visitor"]["state"] == "expired" and rows["visitor"]["lastSeenAt"] is not None


async def test_device_verbs_are_for_admins(make_server, tmp_path):
    home = tmp_path / "home"
    phone = DeviceRegistry.open(home).pair("phone")
    server = await dev_server(make_server, home)
    ws = await open_as(server, phone)
    for verb, args in (("devices.list", {}), ("devices.revoke", {"name": "desktop"})):
        reply = await call(ws, verb, 1, **args)
        assert reply["ok"] is False and reply["error"]["code"] == "forbidden"
    admin = await open_as(server, TOKEN)
    listed = await call(admin, "devices.list")
    assert listed["result"]["you"] == "desktop"
    assert sorted(d["name"] for d in listed["result"]["devices"]) == ["desktop", "phone"]
    assert phone not in json.dumps(listed) and "hash" not in json.dumps(listed)
    missing = await call(admin, "devices.revoke", 2, name="nobody")
    assert missing["error"]["code"] == "not_found"
    await ws.close()
    await admin.close()


async def _guess(port: int, token: str, local: str = "127.0.0.1") -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(local, 0))
    writer.write(
        (
            f"GET /ws?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    line = await reader.readline()
    writer.close()
    return int(line.split()[1])


async def test_token_guessing_is_rate_limited_and_logged_once(make_server, tmp_path, caplog):
    home = tmp_path / "home"
    server = await dev_server(make_server, home)
    assert (server.limiter.burst, server.limiter.rate) == (20, 1.0)  # the documented defaults
    # A slower refill than the default, so that "still limited after the burst" below does not
    # depend on how fast this machine sends the guesses.
    server.limiter = FailedAuthLimiter(burst=20, rate=0.01)
    caplog.set_level(logging.WARNING, logger="oa_actors.gateway.ratelimit")
    sem = asyncio.Semaphore(64)

    async def one(n: int) -> int:
        async with sem:
            return await _guess(server.port, f"guess-{n:06d}-0123456789abcdef")

    codes = await asyncio.gather(*(one(n) for n in range(10_000)))
    checked = codes.count(401)
    # Only the burst and the refill over the run were compared at all; the rest got 429 unchecked.
    assert codes.count(429) + checked == 10_000
    assert checked <= 20 + 1 + 600 * 0.01  # the burst, then the refill (the run takes < 10 min)
    assert server.counters["authLimited"] == codes.count(429)
    # While limited, even the right token from that address is refused; another address is not.
    assert await _guess(server.port, TOKEN) == 429
    assert await _guess(server.port, TOKEN, local="127.0.0.2") == 101
    warnings = [r for r in caplog.records if "too many failed auth attempts" in r.getMessage()]
    assert len(warnings) == 1 and "127.0.0.1" in warnings[0].getMessage()
