"""TLS: the self-signed certificate made on first start (key 0600), the fingerprint in the pair
URL pinned by a Python client and by a Node client (`ws`), a wrong pin refused, user-provided
certificates accepted, and the warning for an unencrypted link on the network."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from websockets.asyncio.client import connect

from oa_actors.config import Config
from oa_actors.gateway import GatewaySettings
from oa_actors.gateway.devices import DeviceRegistry
from oa_actors.gateway.tls import PinMismatch, fingerprint, make_self_signed, pinned_context, tls_files
from tests.gateway.test_pair import cli

ROOT = Path(__file__).resolve().parents[2]
NODE = Path(__file__).with_name("node_pinned_client.cjs")


def tls_config(home: Path, **extra: str) -> Config:
    return Config.from_env({"OPENAGENTS_HOME": str(home), "OPENAGENTS_BRIDGE_TLS": "1", **extra})


def test_self_signed_certificate_made_once_key_private(tmp_path, caplog):
    cfg = tls_config(tmp_path / "home")
    cert, key = tls_files(cfg) or (None, None)
    assert cert is not None and key is not None
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    fp = fingerprint(cert)
    assert tls_files(cfg) == (cert, key) and fingerprint(cert) == fp  # made once
    assert "PRIVATE KEY" not in caplog.text and key.read_text() not in caplog.text
    off = Config.from_env({"OPENAGENTS_HOME": str(tmp_path / "other")})
    assert tls_files(off) is None


async def _pair_and_serve(make_server, home: Path, **env: str):
    out = cli(
        home, "pair", "--device", "phone", "--json", "--host", "127.0.0.1", OPENAGENTS_BRIDGE_TLS="1", **env
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    settings = GatewaySettings.from_config(tls_config(home, **env))
    server = await make_server(
        devices_path=home / "devices.json", tls_cert=settings.tls_cert, tls_key=settings.tls_key
    )
    return data, server


async def test_python_client_pins_the_fingerprint(make_server, tmp_path):
    home = tmp_path / "home"
    data, server = await _pair_and_serve(make_server, home)
    assert data["tls"] is True and data["url"].startswith("wss://")
    pin = parse_qs(urlsplit(data["url"]).query)["certSha256"][0]
    assert pin == data["certSha256"] == fingerprint(home / "tls" / "bridge.crt")
    url = f"wss://127.0.0.1:{server.port}/ws?token={data['token']}"
    ctx = await asyncio.to_thread(pinned_context, "127.0.0.1", server.port, pin)
    async with connect(url, ssl=ctx) as ws:
        assert json.loads(await ws.recv())["event"] == "bridge.hello"
    with pytest.raises(PinMismatch):
        await asyncio.to_thread(pinned_context, "127.0.0.1", server.port, "00" * 32)
    # A client that does not trust the certificate cannot connect at all.
    with pytest.raises(ssl.SSLCertVerificationError):
        async with connect(url, ssl=ssl.create_default_context()):
            pass


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.skipif(not (ROOT / "node_modules" / "ws").is_dir(), reason="npm package ws is not installed")
async def test_node_client_pins_the_fingerprint(make_server, tmp_path):
    home = tmp_path / "home"
    data, server = await _pair_and_serve(make_server, home)

    async def node(url: str) -> dict:
        proc = await asyncio.create_subprocess_exec(
            "node", str(NODE), url, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
        assert stdout, stderr.decode()
        return json.loads(stdout.decode().splitlines()[0])

    url = data["url"].replace(f":{data['port']}/", f":{server.port}/")
    assert await node(url) == {"ok": True, "event": "bridge.hello"}
    wrong = url.replace(data["certSha256"], "11" * 32)
    refused = await node(wrong)
    assert refused["ok"] is False and "is not the pinned" in refused["error"]


async def test_user_certificate_accepted(make_server, tmp_path):
    own = tmp_path / "own"
    make_self_signed(own / "c.pem", own / "k.pem", hosts=["127.0.0.1"])
    home = tmp_path / "home"
    env = {"OPENAGENTS_BRIDGE_TLS_CERT": str(own / "c.pem"), "OPENAGENTS_BRIDGE_TLS_KEY": str(own / "k.pem")}
    data, server = await _pair_and_serve(make_server, home, **env)
    assert data["certSha256"] == fingerprint(own / "c.pem") and not (home / "tls").exists()
    ctx = ssl.create_default_context(cafile=str(own / "c.pem"))
    async with connect(f"wss://127.0.0.1:{server.port}/ws?token={data['token']}", ssl=ctx) as ws:
        assert json.loads(await ws.recv())["event"] == "bridge.hello"
    assert DeviceRegistry.open(home).list()[0]["lastSeenAt"] is not None
