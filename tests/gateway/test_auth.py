"""Auth before the upgrade (401/404/503), the settings, and that the token is never logged."""

from __future__ import annotations

import json
import logging

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from oa_actors.config import Config
from oa_actors.gateway import GatewaySettings
from tests.gateway.conftest import TOKEN, call, open_client, url


async def _status_of(uri: str, **kwargs: object) -> int:
    with pytest.raises(InvalidStatus) as info:
        async with connect(uri, **kwargs):  # type: ignore[arg-type]
            pass
    return info.value.response.status_code


async def test_missing_and_wrong_tokens_get_401_before_upgrade(make_server):
    server = await make_server()
    assert await _status_of(url(server)) == 401
    assert await _status_of(url(server, "wrong-token-wrong-token")) == 401
    assert await _status_of(url(server, "")) == 401
    assert await _status_of(url(server), additional_headers={"Authorization": "Bearer nope-nope-nope"}) == 401
    assert await _status_of(url(server), additional_headers={"Authorization": f"Basic {TOKEN}"}) == 401
    assert await _status_of(url(server, TOKEN[:-1])) == 401  # a prefix is not the token
    assert server.counters["authFailures"] == 6
    assert server.clients == 0


async def test_token_in_header_or_query(make_server):
    server = await make_server()
    async with connect(url(server, TOKEN)) as ws:
        assert json.loads(await ws.recv())["event"] == "bridge.hello"
        assert (await call(ws, "ping"))["result"]["pong"] is True
    async with connect(url(server), additional_headers={"Authorization": f"bearer {TOKEN}"}) as ws:
        hello = json.loads(await ws.recv())
        assert hello["data"]["protocol"] == 1 and "run.submit" in hello["data"]["verbs"]


async def test_other_paths_are_404(make_server):
    server = await make_server()
    assert await _status_of(url(server, TOKEN, path="/other")) == 404
    assert await _status_of(url(server, TOKEN, path="/ws/")) == 404


async def test_max_clients_gets_503(make_server):
    server = await make_server(max_clients=2)
    a, b = await open_client(server), await open_client(server)
    assert await _status_of(url(server, TOKEN)) == 503
    assert server.counters["rejectedFull"] == 1
    await a.close()
    await a.wait_closed()
    while server.clients > 1:  # the server notices the close
        await __import__("asyncio").sleep(0.01)
    c = await open_client(server)  # a slot is free again
    await b.close()
    await c.close()


async def test_token_never_logged(make_server, caplog):
    caplog.set_level(logging.DEBUG)
    server = await make_server()
    async with connect(url(server, TOKEN)) as ws:
        await ws.recv()
    async with connect(url(server), additional_headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
        await ws.recv()
    await _status_of(url(server, "bad-token-in-the-logs"))
    # The server's records (the test's own client logs its request line; that is not the server).
    server_text = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith("websockets.client")
    )
    assert "GET /ws?token=<redacted>" in server_text and "Bearer <redacted>" in server_text
    assert TOKEN not in server_text
    assert "bad-token-in-the-logs" not in server_text
    assert TOKEN not in repr(server.settings)


def test_settings_from_config(tmp_path):
    env = {
        "OPENAGENTS_HOME": str(tmp_path),
        "OPENAGENTS_BRIDGE_BIND": "127.0.0.1:9999",
        "OPENAGENTS_BRIDGE_TOKEN": "env-token-env-token-1234",
    }
    s = GatewaySettings.from_config(Config.from_env(env))
    assert (s.host, s.port, s.path, s.token) == ("127.0.0.1", 9999, "/ws", "env-token-env-token-1234")
    assert s.devices_path == tmp_path / "devices.json" and not (tmp_path / "bridge.json").exists()
    assert "env-token" not in repr(s)
    s2 = GatewaySettings.from_config(Config.from_env({"OPENAGENTS_HOME": str(tmp_path)}), max_clients=3)
    assert (s2.host, s2.port, s2.max_clients) == ("0.0.0.0", 8787, 3)
    with pytest.raises(ValueError):
        GatewaySettings(token="short")
    with pytest.raises(ValueError):
        GatewaySettings(token=TOKEN, max_request=2, max_frame=1)
