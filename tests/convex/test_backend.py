"""The `convex_backend` actor and `LocalBackend` with real processes.

`tests/support/fake_convex_backend` stands in for `convex-local-backend`: it takes the real binary's
command line (and `keygen admin-key`) and execs the Convex HTTP emulator (the real `convex/`
functions under convex-test), so the binary's code path is exercised end to end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from oa_actors.config import Config
from oa_actors.convex import backend
from oa_actors.convex.client import ConvexHttpClient
from tests.support import convex_emulator
from tests.support.convex_emulator import ConvexEmulator
from tests.support.gen import write_sessions
from tests.support.supervisor import Supervisor

pytestmark = pytest.mark.skipif(
    not convex_emulator.available(), reason="node_modules missing: run `make test` (npm ci)"
)

STAND_IN = Path(__file__).resolve().parents[1] / "support" / "fake_convex_backend"
CONVEX_ENV = (
    "OPENAGENTS_CONVEX_BIN",
    "OPENAGENTS_CONVEX_PORT",
    "OPENAGENTS_CONVEX_URL",
    "OPENAGENTS_CONVEX_ADMIN_KEY",
    "OPENAGENTS_CONVEX_INTERFACE",
    "OPENAGENTS_CONVEX_DEPLOY",
    "CONVEX_DEPLOY_KEY",
    "OPENAGENTS_CONVEX_FUNCTIONS",
)


@pytest.fixture(autouse=True)
def _clean_convex_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CONVEX_ENV:
        monkeypatch.delenv(name, raising=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(fn: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(StopIteration, KeyError):
            last = fn()
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def health(sup: Supervisor, actor: str = "convex_backend") -> dict[str, Any]:
    return dict(sup.actor(actor).get("health") or {})


def local_env(port: int, **extra: str) -> dict[str, str]:
    return {
        "OPENAGENTS_CONVEX_BIN": str(STAND_IN),
        "OPENAGENTS_CONVEX_PORT": str(port),
        "OPENAGENTS_CONVEX_DEPLOY": "0",
        **extra,
    }


@contextlib.contextmanager
def running(sup: Supervisor) -> Iterator[Supervisor]:
    sup.start()
    try:
        yield sup
    finally:
        sup.stop()


def store_counts(sup: Supervisor) -> dict[str, int]:
    store = sup.store()
    try:
        counts = dict(
            store.conn.execute("SELECT thread_id, COUNT(*) FROM messages GROUP BY thread_id").fetchall()
        )
        return {t["threadId"]: int(counts.get(t["threadId"], 0)) for t in store.all_threads()}
    finally:
        store.close()


def convex_counts(url: str, key: str, thread_ids: list[str]) -> dict[str, int]:
    async def go() -> dict[str, int]:
        async with ConvexHttpClient(url, key, timeout=10) as c:
            return {t: await c.query("messages:countForThread", {"threadId": t}) for t in thread_ids}

    return asyncio.run(go())


def wait_drained(
    sup: Supervisor, url: str, key: str, expected_threads: int, timeout: float = 90
) -> dict[str, int]:
    def done() -> dict[str, int] | None:
        want = store_counts(sup)
        if len(want) < expected_threads or not all(want.values()):
            return None
        try:
            got = convex_counts(url, key, list(want))
        except Exception:  # not reachable yet
            return None
        return want if got == want else None

    return wait_for(done, timeout, "the writer to drain every row into Convex", interval=0.5)


# --- discovery and secrets ---------------------------------------------------------------------


def test_discovery_order_and_missing_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    home = tmp_path / "oa"
    cfg = Config.from_env().with_overrides(home=home)
    assert backend.find_binary(cfg) is None and backend.target(cfg) is None
    assert backend.target(cfg.with_overrides(convex_bin=str(tmp_path / "nope"))) is None

    def exe(p: Path) -> Path:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("#!/bin/sh\nexit 1\n")
        p.chmod(0o755)
        return p

    old = exe(tmp_path / ".cache" / "convex" / "binaries" / "0.1" / backend.BINARY_NAME)
    new = exe(tmp_path / ".cache" / "convex" / "binaries" / "0.2" / backend.BINARY_NAME)
    os.utime(old, (1, 1))
    assert backend.find_binary(cfg) == new  # the CLI cache, newest first
    own = exe(home / "bin" / backend.BINARY_NAME)
    assert backend.find_binary(cfg) == own  # $OPENAGENTS_HOME/bin before the cache
    assert backend.find_binary(cfg.with_overrides(convex_bin=str(STAND_IN))) == STAND_IN  # the variable first


def test_local_backend_start_health_stop(tmp_path: Path) -> None:
    cfg = Config.from_env().with_overrides(
        home=tmp_path / "oa", convex_bin=str(STAND_IN), convex_port=free_port()
    )
    key = backend.admin_key(cfg, STAND_IN)  # `keygen admin-key` of the binary
    name, secret = backend.instance_credentials(cfg)
    assert key and key.startswith(name + "|") and len(bytes.fromhex(secret)) == 32
    assert backend.instance_credentials(cfg) == (name, secret)  # kept
    for f in ("instance_name", "instance_secret", "admin_key"):
        assert stat.S_IMODE((backend.secrets_dir(cfg) / f).stat().st_mode) == 0o600
    t = backend.target(cfg)
    assert (
        t is not None
        and t.mode == "local"
        and t.url == f"http://127.0.0.1:{cfg.convex_port}"
        and t.admin_key == key
    )

    async def go() -> None:
        local = backend.LocalBackend(cfg, STAND_IN)
        await local.start()
        try:
            await local.wait_healthy(timeout=60)
            assert local.proc is not None
            cmd = psutil.Process(local.proc.pid).cmdline()
            assert any(a.endswith("server.ts") for a in cmd), cmd  # exec: our pid is the server itself
            async with ConvexHttpClient(local.url, key) as c:
                assert await c.instance_name() == name
                assert await c.query("threads:list", {}) == []
        finally:
            await local.stop()
        assert not local.running and not backend.port_in_use("127.0.0.1", cfg.convex_port)

    asyncio.run(go())


# --- the actor on a real supervisor ------------------------------------------------------------


def test_missing_binary_status_says_so(tmp_path: Path) -> None:
    sup = Supervisor(
        tmp_path,
        env={"OPENAGENTS_CONVEX_BIN": str(tmp_path / "no-such-binary")},
        args=["--actors", "convex_backend,convex_writer"],
    )
    with running(sup):
        h = wait_for(lambda: health(sup) if "mode" in health(sup) else None, 20, "backend health")
        assert h["mode"] == "none" and h["pid"] is None and h["healthy"] is False
        assert "OPENAGENTS_CONVEX_BIN" in h["detail"] and "outbox" in h["detail"]
        w = wait_for(lambda: health(sup, "convex_writer").get("convex"), 20, "writer health")
        assert w["configured"] is False and w["mode"] == "none"


def test_actor_runs_drains_and_restarts_the_backend(tmp_path: Path) -> None:
    write_sessions(tmp_path / "codex-home" / "sessions", 6, turns=3)
    port = free_port()
    sup = Supervisor(
        tmp_path, env=local_env(port), args=["--actors", "convex_backend,convex_writer,sessions_tailer"]
    )
    with running(sup):
        h = wait_for(lambda: (h := health(sup)).get("healthy") and h, 90, "the backend to be healthy")
        assert h["mode"] == "local" and h["state"] == "running" and h["url"] == f"http://127.0.0.1:{port}"
        assert h["deploy"] == "disabled"
        pid = h["pid"]
        assert pid and any(a.endswith("server.ts") for a in psutil.Process(pid).cmdline())

        secrets = sup.home / "convex"
        for f in ("instance_name", "instance_secret", "admin_key"):
            assert stat.S_IMODE((secrets / f).stat().st_mode) == 0o600, f
        key = (secrets / "admin_key").read_text().strip()
        expected = wait_drained(sup, h["url"], key, expected_threads=6)
        assert sum(expected.values()) > 0

        os.kill(pid, signal.SIGKILL)
        h2 = wait_for(
            lambda: (h := health(sup)).get("healthy") and h.get("pid") not in (None, pid) and h,
            90,
            "the backend to be restarted",
        )
        assert h2["restarts"] >= 1 and "exited" in (h2["lastError"] or "")
        # The stand-in keeps its data beside the sqlite path: nothing acknowledged was lost.
        assert convex_counts(h2["url"], key, list(expected)) == expected

        # The actor process itself is SIGKILLed: its backend dies with it (parent-death signal), so
        # the restarted actor finds the port free and starts a fresh backend.
        actor_pid = sup.actor("convex_backend")["pid"]
        os.kill(actor_pid, signal.SIGKILL)
        sup.wait_actor_restarted("convex_backend", actor_pid, timeout=30)
        wait_for(lambda: not psutil.pid_exists(h2["pid"]), 30, "the orphaned backend to exit")
        h3 = wait_for(
            lambda: (h := health(sup)).get("healthy") and h.get("pid") not in (None, pid, h2["pid"]) and h,
            90,
            "a new backend under the restarted actor",
        )
        assert convex_counts(h3["url"], key, list(expected)) == expected
        new_pid = h3["pid"]

        logs = sup.log.read_text(errors="replace") + "".join(
            p.read_text(errors="replace") for p in (sup.home / "logs").glob("*") if p.is_file()
        )
        assert (
            key not in logs and (secrets / "instance_secret").read_text().strip() not in sup.log.read_text()
        )
    assert not psutil.pid_exists(new_pid) or psutil.Process(new_pid).status() == psutil.STATUS_ZOMBIE
    assert not backend.port_in_use("127.0.0.1", port)


def test_port_held_by_another_program_is_reported_not_killed(tmp_path: Path) -> None:
    foreign = socket.socket()
    foreign.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    foreign.bind(("127.0.0.1", 0))
    foreign.listen(8)
    port = foreign.getsockname()[1]
    try:
        sup = Supervisor(tmp_path, env=local_env(port), args=["--actors", "convex_backend,convex_writer"])
        with running(sup):
            h = wait_for(
                lambda: (h := health(sup)).get("lastError") and h, 30, "the port conflict to be reported"
            )
            assert f"port {port}" in h["lastError"] and "already in use" in h["lastError"]
            assert h["healthy"] is False and h["pid"] is None
        # The foreign listener is untouched: it still accepts connections.
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            conn, _ = foreign.accept()
            conn.close()
    finally:
        foreign.close()


def test_remote_mode_no_process_health_drain_and_failed_deploy_reported(tmp_path: Path) -> None:
    write_sessions(tmp_path / "codex-home" / "sessions", 3, turns=2)
    # A failing `npx` first on PATH: the deploy step must report the failure, not crash or hide it.
    fake_bin = tmp_path / "fakebin"
    fake_bin.mkdir()
    npx = fake_bin / "npx"
    npx.write_text(
        '#!/bin/sh\necho "pushing with key $CONVEX_SELF_HOSTED_ADMIN_KEY"\necho "error: push refused" '
        ">&2\nexit 3\n"
    )
    npx.chmod(0o755)
    key = "remote-admin-key|0123"
    with ConvexEmulator(admin_key=key) as emu:
        env = {
            "OPENAGENTS_CONVEX_URL": emu.url,
            "OPENAGENTS_CONVEX_ADMIN_KEY": key,
            "OPENAGENTS_CONVEX_BIN": str(STAND_IN),  # ignored: a URL means remote mode
            "PATH": f"{fake_bin}:{os.environ.get('PATH', '')}",
        }
        sup = Supervisor(tmp_path, env=env, args=["--actors", "convex_backend,convex_writer,sessions_tailer"])
        with running(sup):
            h = wait_for(
                lambda: (h := health(sup)).get("healthy") and h.get("deploy") == "failed" and h,
                60,
                "remote health and the deploy failure",
            )
            assert (
                h["mode"] == "remote"
                and h["state"] == "reachable"
                and h["pid"] is None
                and h["url"] == emu.url
            )
            assert "exit 3" in h["deployError"] and "push refused" in h["deployError"]
            assert key not in h["deployError"] and "<admin key>" in h["deployError"]
            wait_drained(sup, emu.url, key, expected_threads=3)
            assert sup.actor("convex_backend")["state"] == "running"
            assert health(sup, "convex_writer")["convex"]["mode"] == "remote"
            assert sup.proc is not None
            kids = psutil.Process(sup.proc.pid).children(recursive=True)
            assert not [p for p in kids if "node" in p.name()], "remote mode must not start a process"
        assert not (sup.home / "convex" / "instance_secret").exists()
