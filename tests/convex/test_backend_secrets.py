"""The instance secret never reaches a command line (issue 11 point 6): not the backend's, not its
key generator's. /proc/<pid>/cmdline is what `ps` shows every local user.

The stand-in (tests/support/fake_convex_backend) reads INSTANCE_SECRET from its environment the
way a clap `env` source does, or, with FAKE_CONVEX_ARGV_ONLY=1, only `--instance-secret` like
today's real binary; FAKE_CONVEX_RECORD_ARGV records each invocation's /proc/<pid>/cmdline.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from oa_actors.config import Config
from oa_actors.convex import backend, instance_secret
from oa_actors.convex.client import ConvexHttpClient
from tests.convex.test_backend import (
    STAND_IN,
    free_port,
    health,
    local_env,
    running,
    wait_for,
)
from tests.convex.test_backend import _clean_convex_env as _clean_convex_env
from tests.support import convex_emulator
from tests.support.supervisor import Supervisor

pytestmark = pytest.mark.skipif(
    not convex_emulator.available(), reason="node_modules missing: run `make test` (npm ci)"
)


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "argv.log"
    monkeypatch.setenv("FAKE_CONVEX_RECORD_ARGV", str(path))
    instance_secret.forget()  # the --help probe is remembered per binary: not across tests
    yield path
    instance_secret.forget()


def config(tmp_path: Path, **over: object) -> Config:
    return Config.from_env().with_overrides(
        home=tmp_path / "oa", convex_bin=str(STAND_IN), convex_port=free_port(), **over
    )


def test_secret_goes_through_the_environment_never_argv(tmp_path: Path, record: Path) -> None:
    cfg = config(tmp_path)
    key = backend.admin_key(cfg, STAND_IN)
    name, secret = backend.instance_credentials(cfg)
    # The key generator really got the secret (the key is derived from it)...
    assert key == f"{name}|{hashlib.sha256(f'{name}:{secret}'.encode()).hexdigest()}"
    # ...and no command line it ran with held it: only the --help probe and the keygen itself.
    invocations = record.read_text().splitlines()
    assert any("keygen admin-key --instance-name" in line for line in invocations)
    assert all(secret not in line for line in invocations)

    async def go() -> None:
        local = backend.LocalBackend(cfg, STAND_IN)
        await local.start()
        try:
            await local.wait_healthy(timeout=60)
            assert local.proc is not None
            cmdline = Path(f"/proc/{local.proc.pid}/cmdline").read_bytes()
            assert b"server.ts" in cmdline  # exec: the pid we started is the server itself
            assert secret.encode() not in cmdline and key.encode() not in cmdline
            assert all(secret not in line and key not in line for line in record.read_text().splitlines())
            async with ConvexHttpClient(local.url, key) as c:  # the server derived the same key
                assert await c.instance_name() == name
                assert await c.query("threads:list", {}) == []
        finally:
            await local.stop()

    asyncio.run(go())


def test_a_binary_that_takes_the_secret_only_in_argv_is_refused_unless_accepted(
    tmp_path: Path, record: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_CONVEX_ARGV_ONLY", "1")  # exactly like today's convex-local-backend
    cfg = config(tmp_path)
    assert backend.admin_key(cfg, STAND_IN) is None  # no key generator was given the secret
    _, secret = backend.instance_credentials(cfg)
    assert all(secret not in line for line in record.read_text().splitlines())

    async def refused() -> None:
        local = backend.LocalBackend(cfg, STAND_IN)
        with pytest.raises(backend.SecretOnCommandLine, match="OPENAGENTS_CONVEX_SECRET_IN_ARGV=1"):
            await local.start()
        assert local.proc is None and not backend.port_in_use("127.0.0.1", cfg.convex_port)

    asyncio.run(refused())
    assert all(secret not in line for line in record.read_text().splitlines())

    # The user accepts the exposure: the old command line, and it works.
    accepted = cfg.with_overrides(convex_secret_in_argv=True)
    key = backend.admin_key(accepted, STAND_IN)
    assert key is not None and key.startswith(accepted_name(accepted) + "|")

    async def started() -> None:
        local = backend.LocalBackend(accepted, STAND_IN)
        await local.start()
        try:
            await local.wait_healthy(timeout=60)
            async with ConvexHttpClient(local.url, key) as c:
                assert await c.query("threads:list", {}) == []
        finally:
            await local.stop()

    asyncio.run(started())
    assert any(secret in line for line in record.read_text().splitlines())  # what was accepted


def accepted_name(cfg: Config) -> str:
    return backend.instance_credentials(cfg)[0]


def test_actor_reports_a_refused_binary_and_starts_a_private_one(tmp_path: Path) -> None:
    port = free_port()
    sup = Supervisor(
        tmp_path / "argv-only",
        env=local_env(port, FAKE_CONVEX_ARGV_ONLY="1"),
        args=["--actors", "convex_backend,convex_writer"],
    )
    with running(sup):
        h = wait_for(lambda: (h := health(sup)).get("state") == "misconfigured" and h, 60, "the refusal")
        assert h["pid"] is None and h["restarts"] == 0 and h["healthy"] is False
        assert "only on the command line" in h["lastError"]
        assert not backend.port_in_use("127.0.0.1", port)
    sup = Supervisor(
        tmp_path / "private", env=local_env(port), args=["--actors", "convex_backend,convex_writer"]
    )
    with running(sup):
        h = wait_for(lambda: (h := health(sup)).get("healthy") and h, 90, "the backend to be healthy")
        secret = (sup.home / "convex" / "instance_secret").read_text().strip()
        key = (sup.home / "convex" / "admin_key").read_text().strip()
        cmdline = " ".join(psutil.Process(h["pid"]).cmdline())
        assert secret not in cmdline and key not in cmdline
        writer = wait_for(
            lambda: (c := health(sup, "convex_writer").get("convex")) and c["state"] == "connected" and c,
            60,
            "the writer to connect",
        )
        assert writer["connected"] is True
