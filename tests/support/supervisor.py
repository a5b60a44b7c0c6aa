"""Run a real `oa-supervisor run` (all actors, real processes) in a temp home, for end-to-end tests."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from oa_actors.store import Store

ROOT = Path(__file__).resolve().parents[2]


class Supervisor:
    """`python -m oa_actors run` with OPENAGENTS_HOME/CODEX_HOME in `tmp`, the bridge on 127.0.0.1:0."""

    def __init__(
        self,
        tmp: Path,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        umask: int = -1,
    ) -> None:
        self.home = tmp / "oa-home"
        self.codex_home = tmp / "codex-home"
        self.codex_home.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "OPENAGENTS_HOME": str(self.home),
            "CODEX_HOME": str(self.codex_home),
            "OPENAGENTS_BRIDGE_BIND": "127.0.0.1:0",
            "HOME": str(tmp),  # nothing may fall back to the real ~/.openagents or ~/.claude
            # The admin device "desktop": tokens rest hashed in devices.json, so tests know it here.
            "OPENAGENTS_BRIDGE_TOKEN": secrets.token_urlsafe(24),
            **(env or {}),
        }
        self.args = args or []
        self.umask = umask  # the umask the supervisor starts with (-1: this process's)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tmp / "supervisor.log"

    def start(self, timeout: float = 60.0, wait: bool = True) -> Supervisor:
        """Start it; with `wait`, return once every actor runs (else as soon as status answers)."""
        self._log = open(self.log, "wb")  # noqa: SIM115 - handed to the child, closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "oa_actors", "run", *self.args],
            env=self.env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            umask=self.umask,
        )
        deadline = time.monotonic() + timeout
        while True:
            st = self.status()
            if st and st.get("actors") and (not wait or all(a["state"] == "running" for a in st["actors"])):
                return self
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"supervisor did not come up; log:\n{self.log.read_text()[-4000:]}")
            time.sleep(0.1)

    def status(self) -> dict[str, Any] | None:
        out = subprocess.run(
            [sys.executable, "-m", "oa_actors", "status", "--json"],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if out.returncode != 0:
            return None
        return json.loads(out.stdout)

    def actor(self, name: str) -> dict[str, Any]:
        st = self.status() or {}
        return next(a for a in st.get("actors", []) if a["name"] == name)

    def wait_actor_restarted(self, name: str, old_pid: int, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            a = self.actor(name)
            if a["state"] == "running" and a["pid"] != old_pid:
                return a
            time.sleep(0.1)
        raise TimeoutError(f"{name} was not restarted")

    @property
    def bridge_url(self) -> str:
        # Health details arrive with the actor's next pong after it started: wait for them.
        deadline = time.monotonic() + 15
        while True:
            url = self.actor("ws_gateway").get("health", {}).get("url")
            if url or time.monotonic() > deadline:
                return str(url)
            time.sleep(0.1)

    @property
    def token(self) -> str:
        """The "desktop" device's token (OPENAGENTS_BRIDGE_TOKEN of the supervisor)."""
        return self.env["OPENAGENTS_BRIDGE_TOKEN"]

    def store(self) -> Store:
        return Store.open(self.home / "store.sqlite3", readonly=True)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; then check that no process of the tree is left."""
        assert self.proc is not None
        children = []
        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            pass
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        _gone, alive = psutil.wait_procs(children, timeout=10)
        for p in alive:
            p.kill()
        self._log.close()
        assert not alive, f"processes left after shutdown: {alive}"
        return code
