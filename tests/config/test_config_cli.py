"""`oa-supervisor config`, and how every command treats a bad config file (as subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from oa_actors.config_table import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import gen_config_table  # noqa: E402


def cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAGENTS_", "OA_", "CODEX_"))}
    return subprocess.run(
        [sys.executable, "-m", "oa_actors", *args],
        env={**base, "OPENAGENTS_HOME": str(home), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_config_shows_values_sources_and_masks_secrets(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        'convex_port = 9001\nconvex_admin_key = "file-secret|123"\n[prices."gpt-x"]\ninput = 2\n'
    )
    token = "env-token-env-token-0123"
    out = cli(home, "config", "--json", OPENAGENTS_BRIDGE_TOKEN=token, CODEX_HOME=str(tmp_path / "cx"))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    by_name = {e["name"]: e for e in doc["settings"]}
    assert [e["name"] for e in doc["settings"]] == [s.name for s in SETTINGS]
    assert by_name["convex_port"] == {
        "name": "convex_port",
        "env": "OPENAGENTS_CONVEX_PORT",
        "value": 9001,
        "source": "file",
    }
    assert by_name["codex_home"]["value"] == str(tmp_path / "cx") and by_name["codex_home"]["source"] == "env"
    assert by_name["bridge_token"]["source"] == "env" and by_name["bridge_token"]["value"] == "********"
    assert by_name["convex_admin_key"]["source"] == "file"
    assert by_name["convex_deploy_key"]["value"] is None  # unset secrets say so
    assert by_name["bridge_bind"] == {
        "name": "bridge_bind",
        "env": "OPENAGENTS_BRIDGE_BIND",
        "value": "0.0.0.0:8787",
        "source": "default",
    }
    assert doc["prices"] == {"gpt-x": {"input": 2.0}} and doc["configFileExists"] is True
    assert token not in out.stdout and "file-secret" not in out.stdout
    # Flags win over everything; the human table has one line per setting plus the file line.
    human = cli(home, "config", "--home", str(tmp_path / "elsewhere"), OPENAGENTS_BRIDGE_TOKEN=token)
    assert human.returncode == 0, human.stderr
    lines = human.stdout.splitlines()
    assert lines[0].startswith(f"config file: {tmp_path / 'elsewhere' / 'config.toml'} (does not exist")
    assert any(line.split()[:2] == ["home", "flag"] for line in lines)
    assert any(line.split()[:3] == ["bridge_token", "env", "********"] for line in lines)
    assert len(lines) == 1 + len(SETTINGS) and token not in human.stdout


def test_bad_config_file_is_a_clear_error_for_commands_and_run(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('codex_home = "/x"\nbridge_port = 9000\n')
    for args in (["config"], ["export"], ["status"], ["search", "hello"], ["pair", "--json"]):
        out = cli(home, *args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert out.stderr.strip().splitlines() == [
            f"oa-supervisor: {home / 'config.toml'}, line 2: 'bridge_port' is not a setting "
            f"(known keys: {', '.join(s.name for s in SETTINGS if s.in_file)}, [prices])"
        ], args
    run = cli(home, "run")
    assert run.returncode == 2 and "oa-supervisor: not starting:" in run.stderr and "line 2" in run.stderr
    assert not (home / "run").exists()  # nothing was started
    broken = cli(tmp_path / "clean", "config", OPENAGENTS_CONVEX_PORT="lots")
    assert broken.returncode == 2
    assert broken.stderr.strip() == "oa-supervisor: OPENAGENTS_CONVEX_PORT: expected an integer, got 'lots'"


def test_readme_configuration_table_is_generated_from_the_settings() -> None:
    text = gen_config_table.README.read_text(encoding="utf-8")
    assert gen_config_table.with_table(text) == text, "run: python scripts/gen_config_table.py"
    for s in SETTINGS:
        assert f"| `{s.env}` |" in text
