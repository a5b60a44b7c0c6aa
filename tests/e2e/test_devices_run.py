"""Issue 18 through `oa-supervisor run`: two devices paired with the CLI while the supervisor runs,
one revoked with the CLI while connected (its socket closed with 1008, its token then refused with
401), the other unaffected; no plaintext token under OPENAGENTS_HOME afterwards."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support.supervisor import ROOT, Supervisor

pytestmark = pytest.mark.e2e


def cli(sup: Supervisor, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oa_actors", *args],
        env=sup.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_pair_and_revoke_against_a_running_supervisor(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path).start()
    try:
        base = sup.bridge_url.split("?")[0]
        tokens = {}
        for name in ("phone", "tablet"):
            out = cli(sup, "pair", "--device", name, "--json")
            assert out.returncode == 0, out.stderr
            data = json.loads(out.stdout)
            tokens[name] = data["token"]
            assert not any("no supervisor" in w for w in data["warnings"])
            assert any("127.0.0.1 only" in w for w in data["warnings"])
        phone = await connect(f"{base}?token={tokens['phone']}")
        tablet = await connect(f"{base}?token={tokens['tablet']}")
        for ws in (phone, tablet):
            assert json.loads(await ws.recv())["event"] == "bridge.hello"
        assert cli(sup, "devices", "revoke", "phone").returncode == 0
        with pytest.raises(ConnectionClosed):
            async with asyncio.timeout(30):
                while True:
                    await phone.recv()
        assert phone.close_code == 1008
        with pytest.raises(InvalidStatus) as info:
            await connect(f"{base}?token={tokens['phone']}")
        assert info.value.response.status_code == 401
        await tablet.send(json.dumps({"control": "ping", "id": 1}))
        assert json.loads(await tablet.recv())["ok"] is True
        await tablet.close()
        listed = {d["name"]: d for d in json.loads(cli(sup, "devices", "--json").stdout)}
        assert listed["phone"]["state"] == "revoked" and listed["tablet"]["state"] == "active"
        assert listed["desktop"]["admin"] is True  # OPENAGENTS_BRIDGE_TOKEN, migrated
    finally:
        assert sup.stop() == 0
    secrets_ = [*tokens.values(), sup.token]
    for path in [*sup.home.rglob("*"), sup.log]:  # every file, and the supervisor's output
        if path.is_file():
            data = path.read_bytes()
            assert not any(t.encode() in data for t in secrets_), path
