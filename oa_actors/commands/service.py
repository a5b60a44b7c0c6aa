"""`oa-supervisor service install|uninstall|status`: keep `oa-supervisor run` up as a service.

Linux: a systemd user unit (`~/.config/systemd/user/oa-supervisor.service`), enabled and started
with `systemctl --user`; it starts at login and restarts after a crash (not after `oa-supervisor
stop`, which exits cleanly). macOS: a launchd agent (`~/Library/LaunchAgents/...plist`) with the
same behaviour. Where neither is available the file is still written and the command says so.
"""

from __future__ import annotations

import argparse
import plistlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from oa_actors.config import Config

UNIT = "oa-supervisor.service"
LABEL = "com.openagents.oa-supervisor"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "service",
        help="run the supervisor as a background service (systemd user unit / launchd agent)",
        description="Install, remove or inspect a service that keeps `oa-supervisor run` up across "
        "logins and crashes: a systemd user unit on Linux, a launchd agent on macOS. Settings come from "
        "$OPENAGENTS_HOME/config.toml (and OPENAGENTS_HOME itself from the environment of `install`).",
    )
    p.add_argument("action", choices=["install", "uninstall", "status"])
    p.add_argument("--print", action="store_true", help="install: print the file instead of writing it")
    p.add_argument(
        "--no-start", action="store_true", help="install: write the file but do not enable or start it"
    )
    p.add_argument(
        "--platform", choices=["linux", "macos"], help=argparse.SUPPRESS
    )  # tests: the other OS's file
    p.set_defaults(handler=run_service)


def _platform(args: argparse.Namespace) -> str:
    if args.platform:
        return str(args.platform)
    return "macos" if sys.platform == "darwin" else "linux"


def _home_dir(cfg: Config) -> Path:
    return Path(cfg.environ.get("HOME") or Path.home())


def service_file(cfg: Config, platform: str) -> Path:
    """Where the unit or agent goes."""
    if platform == "macos":
        return _home_dir(cfg) / "Library" / "LaunchAgents" / f"{LABEL}.plist"
    config_home = cfg.environ.get("XDG_CONFIG_HOME") or str(_home_dir(cfg) / ".config")
    return Path(config_home) / "systemd" / "user" / UNIT


def command() -> list[str]:
    """The command the service runs: this interpreter (its virtualenv) with the package."""
    return [sys.executable, "-m", "oa_actors", "run"]


def systemd_unit(cfg: Config) -> str:
    """The systemd user unit."""
    return "\n".join(
        [
            "# Written by `oa-supervisor service install`; remove with `oa-supervisor service uninstall`.",
            "[Unit]",
            "Description=oa-supervisor: mirrors coding-agent sessions to the local store and Convex",
            "After=network-online.target",
            "",
            "[Service]",
            "Type=simple",
            "ExecStart=" + " ".join(command()),
            f'Environment="OPENAGENTS_HOME={cfg.home}"',
            # A crash (non-zero exit, signal) restarts it; `oa-supervisor stop` (exit 0) does not.
            "Restart=on-failure",
            "RestartSec=5",
            "KillSignal=SIGTERM",
            "TimeoutStopSec=60",
            "",
            "[Install]",
            "WantedBy=default.target",
            "",
        ]
    )


def launchd_plist(cfg: Config) -> str:
    """The launchd agent."""
    doc = {
        "Label": LABEL,
        "ProgramArguments": command(),
        "EnvironmentVariables": {"OPENAGENTS_HOME": str(cfg.home)},
        "RunAtLoad": True,
        # Restarted when it exits with an error or is killed, not after `oa-supervisor stop`.
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 5,
        "StandardOutPath": str(cfg.logs_dir / "service.out.log"),
        "StandardErrorPath": str(cfg.logs_dir / "service.out.log"),
    }
    return plistlib.dumps(doc).decode()


def _run(cfg: Config, argv: list[str]) -> tuple[bool, str]:
    exe = shutil.which(argv[0], path=cfg.environ.get("PATH"))
    if exe is None:
        return False, f"{argv[0]} is not installed"
    try:
        out = subprocess.run(
            [exe, *argv[1:]], capture_output=True, text=True, timeout=60, env=dict(cfg.environ)
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    text = (out.stdout + out.stderr).strip()
    return out.returncode == 0, text.splitlines()[-1] if text else f"exit {out.returncode}"


def _manager(platform: str) -> list[list[str]]:
    if platform == "macos":
        return [["launchctl", "load", "-w"]]
    return [["systemctl", "--user", "daemon-reload"], ["systemctl", "--user", "enable", "--now", UNIT]]


def install(cfg: Config, platform: str, start: bool) -> int:
    path = service_file(cfg, platform)
    text = launchd_plist(cfg) if platform == "macos" else systemd_unit(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)
    print(f"wrote {path}")
    if not start:
        return 0
    steps = [["launchctl", "load", "-w", str(path)]] if platform == "macos" else _manager(platform)
    for argv in steps:
        ok, why = _run(cfg, argv)
        if not ok:
            name = "launchd" if platform == "macos" else "systemd (user session)"
            print(
                f"oa-supervisor service: {name} is not available here ({' '.join(argv)}: {why}); the file is "
                f"written but nothing was started: run `oa-supervisor run` yourself",
                file=sys.stderr,
            )
            return 1
    print("the service is enabled and running: `oa-supervisor status` shows it")
    if platform == "linux":
        print("to keep it running while you are logged out: loginctl enable-linger")
    return 0


def uninstall(cfg: Config, platform: str) -> int:
    path = service_file(cfg, platform)
    if not path.exists():
        print(f"oa-supervisor service: not installed (no {path})", file=sys.stderr)
        return 1
    if platform == "macos":
        ok, why = _run(cfg, ["launchctl", "unload", "-w", str(path)])
    else:
        ok, why = _run(cfg, ["systemctl", "--user", "disable", "--now", UNIT])
    path.unlink()
    if platform == "linux" and ok:
        _run(cfg, ["systemctl", "--user", "daemon-reload"])
    done = "the service is stopped and disabled" if ok else f"the service manager did not answer: {why}"
    print(f"removed {path} ({done})")
    return 0


def status(cfg: Config, platform: str) -> int:
    path = service_file(cfg, platform)
    if not path.exists():
        print(f"not installed (no {path}); `oa-supervisor service install` installs it")
        return 1
    print(f"installed: {path}")
    if platform == "macos":
        ok, why = _run(cfg, ["launchctl", "list", LABEL])
        print(f"launchd: {'loaded' if ok else 'not loaded'} ({why})")
        return 0
    active = _run(cfg, ["systemctl", "--user", "is-active", UNIT])
    enabled = _run(cfg, ["systemctl", "--user", "is-enabled", UNIT])
    print(f"systemd: {active[1]}, {enabled[1]}")
    return 0


def run_service(args: argparse.Namespace) -> int:
    cfg = Config.load()
    platform = _platform(args)
    if args.action == "install" and args.print:
        print(launchd_plist(cfg) if platform == "macos" else systemd_unit(cfg), end="")
        return 0
    if args.action == "install":
        return install(cfg, platform, start=not args.no_start)
    if args.action == "uninstall":
        return uninstall(cfg, platform)
    return status(cfg, platform)
