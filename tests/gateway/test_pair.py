"""`oa-supervisor pair`: the URL with the token, the QR code, the token file created once."""

from __future__ import annotations

import json
import stat

from oa_actors.cli import main
from oa_actors.commands.pair import pair_url, web_url


def test_pair_prints_url_and_qr(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENAGENTS_HOME", str(tmp_path))
    monkeypatch.delenv("OPENAGENTS_BRIDGE_TOKEN", raising=False)
    monkeypatch.delenv("OPENAGENTS_BRIDGE_BIND", raising=False)
    assert main(["pair", "--host", "192.168.1.20"]) == 0
    out = capsys.readouterr().out
    token = json.loads((tmp_path / "bridge.json").read_text())["token"]
    assert stat.S_IMODE((tmp_path / "bridge.json").stat().st_mode) == 0o600
    assert f"ws://192.168.1.20:8787/ws?token={token}" in out
    assert f"http://192.168.1.20:8787/?token={token}" in out  # the web app's pair link
    assert "█" in out or "▀" in out  # the QR code
    assert main(["pair", "--no-qr", "--host", "h", "--port", "9000"]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == f"ws://h:9000/ws?token={token}"  # same token: created once
    assert "█" not in out


def test_pair_json_and_bind_host(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENAGENTS_HOME", str(tmp_path))
    monkeypatch.setenv("OPENAGENTS_BRIDGE_BIND", "10.0.0.7:8800")
    monkeypatch.setenv("OPENAGENTS_BRIDGE_TOKEN", "env-token-env-token-1234")
    assert main(["pair", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["url"] == "ws://10.0.0.7:8800/ws?token=env-token-env-token-1234"
    assert data["webUrl"] == "http://10.0.0.7:8800/?token=env-token-env-token-1234"
    assert data["tokenSource"] == "OPENAGENTS_BRIDGE_TOKEN" and not (tmp_path / "bridge.json").exists()
    monkeypatch.setenv("OPENAGENTS_BRIDGE_BIND", "0.0.0.0:8787")
    assert main(["pair", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["host"] not in ("0.0.0.0", "")


def test_pair_url_quotes_and_brackets():
    assert pair_url("::1", 1, "a+b/c") == "ws://[::1]:1/ws?token=a%2Bb%2Fc"
    assert web_url("::1", 1, "a+b/c") == "http://[::1]:1/?token=a%2Bb%2Fc"
