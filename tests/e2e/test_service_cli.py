"""`oa-supervisor service` as a subprocess: the generated systemd unit and launchd agent, install
and uninstall with a recording `systemctl` stand-in (so no test ever enables a real service), and
the message when systemd is absent."""

from __future__ import annotations

import os
import plistlib
import stat
import subprocess
import sys
from pathlib import Path

from tests.support.supervisor import ROOT


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oa_actors", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def base_env(tmp: Path, path: str) -> dict[str, str]:
    return {**os.environ, "OPENAGENTS_HOME": str(tmp / "oa home"), "HOME": str(tmp), "PATH": path,
            "XDG_CONFIG_HOME": str(tmp / "xdg")}  # fmt: skip


def fake_systemctl(tmp: Path, exit_code: int, message: str = "") -> Path:
    """A `systemctl` that appends its arguments to calls.log and exits with `exit_code`."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "systemctl"
    script.write_text(f'#!/bin/sh\necho "$@" >> {tmp}/calls.log\necho "{message}" >&2\nexit {exit_code}\n')
    script.chmod(0o755)
    return bin_dir


def test_the_systemd_unit(tmp_path: Path) -> None:
    out = cli(base_env(tmp_path, os.environ["PATH"]), "service", "install", "--print")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert f"ExecStart={sys.executable} -m oa_actors run" in lines
    assert f'Environment="OPENAGENTS_HOME={tmp_path / "oa home"}"' in lines
    assert {"[Unit]", "[Service]", "[Install]", "Restart=on-failure", "WantedBy=default.target"} <= set(lines)
    assert not (tmp_path / "xdg").exists()  # --print writes nothing


def test_the_launchd_agent(tmp_path: Path) -> None:
    out = cli(base_env(tmp_path, os.environ["PATH"]), "service", "install", "--print", "--platform", "macos")
    assert out.returncode == 0, out.stderr
    doc = plistlib.loads(out.stdout.encode())
    assert doc["ProgramArguments"] == [sys.executable, "-m", "oa_actors", "run"]
    assert doc["RunAtLoad"] is True and doc["KeepAlive"] == {"SuccessfulExit": False}
    assert doc["EnvironmentVariables"] == {"OPENAGENTS_HOME": str(tmp_path / "oa home")}


def test_install_status_uninstall_through_systemctl(tmp_path: Path) -> None:
    env = base_env(tmp_path, str(fake_systemctl(tmp_path, 0, "active")))
    unit = tmp_path / "xdg" / "systemd" / "user" / "oa-supervisor.service"
    out = cli(env, "service", "install")
    assert out.returncode == 0, out.stderr
    assert unit.is_file() and stat.S_IMODE(unit.stat().st_mode) == 0o600
    assert "enabled and running" in out.stdout
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls == ["--user daemon-reload", "--user enable --now oa-supervisor.service"]
    st = cli(env, "service", "status")
    assert st.returncode == 0 and f"installed: {unit}" in st.stdout
    gone = cli(env, "service", "uninstall")
    assert gone.returncode == 0 and not unit.exists() and "stopped and disabled" in gone.stdout
    assert "--user disable --now oa-supervisor.service" in (tmp_path / "calls.log").read_text()
    again = cli(env, "service", "uninstall")
    assert again.returncode == 1 and "not installed" in again.stderr
    assert cli(env, "service", "status").returncode == 1


def test_without_systemd_it_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    out = cli(base_env(tmp_path, str(empty)), "service", "install")
    assert out.returncode == 1
    assert (
        "systemd (user session) is not available here" in out.stderr
        and "systemctl is not installed" in out.stderr
    )
    assert (tmp_path / "xdg" / "systemd" / "user" / "oa-supervisor.service").is_file()
    no_bus = tmp_path / "nobus"
    no_bus.mkdir()
    env = base_env(no_bus, str(fake_systemctl(no_bus, 1, "Failed to connect to bus: No medium found")))
    out = cli(env, "service", "install")
    assert out.returncode == 1 and "Failed to connect to bus" in out.stderr and "Traceback" not in out.stderr
    bad = cli(env, "service", "restart")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
