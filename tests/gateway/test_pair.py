"""`oa-supervisor pair` and `devices` as subprocesses: one token per device, stored hashed, the
link and QR code, warnings (loopback, no supervisor, unencrypted), JSON keys matching --help."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from oa_actors.commands.pair import JSON_KEYS, pair_url, web_url

ROOT = Path(__file__).resolve().parents[2]


def cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OPENAGENTS_")}
    base.update({"OPENAGENTS_HOME": str(home), "HOME": str(home.parent), **env})
    return subprocess.run(
        [sys.executable, "-m", "oa_actors", *args],
        env=base,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_pair_prints_links_and_qr_and_stores_only_a_hash(tmp_path):
    home = tmp_path / "home"
    out = cli(home, "pair", "--device", "phone", "--host", "192.168.1.20")
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if "ws://" in x)
    token = line.split("token=", 1)[1]
    assert line.strip() == f"app:     ws://192.168.1.20:8787/ws?token={token}"
    assert f"?token={token}" not in out.stdout.replace(line, "")  # only the app link has the token
    browser = next(x for x in out.stdout.splitlines() if "browser:" in x).split()[-1]
    code = browser.split("?code=", 1)[1]
    assert browser == f"http://192.168.1.20:8787/?code={code}" and len(code) >= 32  # >= 192 bits
    assert "works once" in out.stdout
    assert "Scan" in out.stdout and ("█" in out.stdout or "▀" in out.stdout)
    # The default bind is 0.0.0.0 without TLS: unencrypted; no supervisor runs here.
    assert "unencrypted" in out.stderr and "no supervisor is running" in out.stderr
    files = [p for p in home.rglob("*") if p.is_file()]
    assert files and all(token not in p.read_text(errors="replace") for p in files)
    assert all(code not in p.read_text(errors="replace") for p in files)  # the code: hashed too
    devices, codes = home / "devices.json", home / "login_codes.json"
    assert stat.S_IMODE(devices.stat().st_mode) == 0o600
    assert stat.S_IMODE(codes.stat().st_mode) == 0o600 and len(json.loads(codes.read_text())["codes"]) == 1
    assert not (home / "bridge.json").exists()
    # Pairing the same name again is refused (exit 2) unless --replace.
    again = cli(home, "pair", "--device", "phone", "--no-qr")
    assert again.returncode == 2 and "already paired" in again.stderr
    replaced = cli(home, "pair", "--device", "phone", "--no-qr", "--replace")
    assert replaced.returncode == 0 and token not in replaced.stdout
    assert "Scan" not in replaced.stdout and "█" not in replaced.stdout


def test_pair_json_keys_match_help_and_loopback_warns(tmp_path):
    home = tmp_path / "home"
    helptext = " ".join(cli(home, "pair", "--help").stdout.split())
    assert "{" + ", ".join(JSON_KEYS) + "}" in helptext
    out = cli(home, "pair", "--json", "--expires", "30d", "--admin", OPENAGENTS_BRIDGE_BIND="127.0.0.1:8800")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert tuple(data) == JSON_KEYS
    assert data["device"] == "device-1" and data["admin"] is True and data["tls"] is False
    assert data["url"] == f"ws://127.0.0.1:8800/ws?token={data['token']}"
    assert data["expiresAt"] is not None and any("127.0.0.1 only" in w for w in data["warnings"])
    assert "127.0.0.1 only" in out.stderr
    listed = cli(home, "devices", "--json")
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["admin"], r["state"]) for r in rows] == [("device-1", True, "active")]
    assert data["token"] not in listed.stdout
    assert cli(home, "pair", "--expires", "soon").returncode == 2
    assert cli(home, "pair", "--device", "bad name!").returncode == 2
    assert cli(home, "devices", "revoke", "nobody").returncode == 2
    revoked = cli(home, "devices", "revoke", "device-1")
    assert revoked.returncode == 0
    assert json.loads(cli(home, "devices", "--json").stdout)[0]["state"] == "revoked"


def test_legacy_token_file_migrates_to_desktop(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    legacy = "legacy-token-legacy-token-0123"
    (home / "bridge.json").write_text(json.dumps({"token": legacy}))
    rows = json.loads(cli(home, "devices", "--json").stdout)
    assert [(r["name"], r["admin"]) for r in rows] == [("desktop", True)]
    assert not (home / "bridge.json").exists()
    assert all(legacy not in p.read_text() for p in home.rglob("*") if p.is_file())


def test_pair_url_quotes_and_brackets():
    assert pair_url("::1", 1, "a+b/c") == "ws://[::1]:1/ws?token=a%2Bb%2Fc"
    assert pair_url("h", 2, "t", tls=True, cert_sha256="ab") == "wss://h:2/ws?token=t&certSha256=ab"
    assert web_url("::1", 1, "a+b/c") == "http://[::1]:1/?code=a%2Bb%2Fc"
    assert web_url("h", 2, "c", tls=True, cert_sha256="ab") == "https://h:2/?code=c&certSha256=ab"


def test_devices_link_mints_a_new_code_for_a_paired_device(tmp_path):
    home = tmp_path / "home"
    first = json.loads(cli(home, "pair", "--json", "--device", "laptop", "--host", "h").stdout)
    assert first["webUrl"].startswith("http://h:8787/?code=")
    assert first["webUrlExpiresAt"] > 0 and first["token"] not in first["webUrl"]
    out = cli(home, "devices", "link", "laptop", "--json", "--host", "h", "--port", "9")
    assert out.returncode == 0, out.stderr
    link = json.loads(out.stdout)
    assert link["device"] == "laptop" and link["webUrl"].startswith("http://h:9/?code=")
    assert link["webUrl"].split("=", 1)[1] != first["webUrl"].split("=", 1)[1]
    # Within 10 minutes (give or take the time the CLI took to start).
    assert 0 < link["webUrlExpiresAt"] - first["webUrlExpiresAt"] < 600_000
    text = cli(home, "devices", "link", "laptop")
    assert text.returncode == 0 and "works once" in text.stdout and "?code=" in text.stdout
    assert cli(home, "devices", "link", "nobody").returncode == 2
    assert cli(home, "devices", "revoke", "laptop").returncode == 0
    assert cli(home, "devices", "link", "laptop").returncode == 2  # revoked: no new code
