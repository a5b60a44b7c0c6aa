"""`convex_backend`: the Convex deployment the writer talks to.

Local mode (a `convex-local-backend` binary was found): start it with its instance secret and
admin key, wait for `GET /instance_name` (long enough for a cold start), deploy `convex/` when
the functions' content hash changed, watch it, and restart it with backoff if it dies. Remote mode
(OPENAGENTS_CONVEX_URL): no process, only health checks and deploys. Neither: status says so and
the writer keeps the backlog in the outbox. Set OPENAGENTS_CONVEX_DEPLOY=0 to never deploy.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import Any

import httpx

from oa_actors import messages as m
from oa_actors.actors._base import LifecycleActor
from oa_actors.convex import backend
from oa_actors.convex.drain import backoff_delay
from oa_actors.runtime.actor import Context
from oa_actors.runtime.codec import Message

HEALTH_SECONDS = 2.0


class ConvexBackend(LifecycleActor):
    """Keeps the configured Convex deployment up and its functions deployed."""

    async def setup(self, ctx: Context) -> None:
        cfg = ctx.config
        self.mode = "none"
        self.state = "absent"
        self.url: str | None = None
        self.last_error: str | None = None
        self.restarts = 0
        self.healthy = False
        self.deployed_hash: str | None = None
        self.local: backend.LocalBackend | None = None
        self._task: asyncio.Task[None] | None = None
        if cfg.convex_url:
            self.mode, self.url = "remote", cfg.convex_url.rstrip("/")
            self._task = asyncio.create_task(self._remote_loop(), name="convex-remote")
        elif (binary := backend.find_binary(cfg)) is not None:
            self.mode = "local"
            self.local = backend.LocalBackend(cfg, binary)
            self.url = self.local.url
            self._task = asyncio.create_task(self._local_loop(), name="convex-local")
        else:
            ctx.log.info("no convex-local-backend binary and no OPENAGENTS_CONVEX_URL: running on the local store only")

    async def on_stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.local is not None:
            await self.local.stop()  # only ever the process this actor started
        await super().on_stop()

    def _fail(self, exc: Exception) -> None:
        self.last_error = str(exc)
        self.healthy = False
        self.ctx.log.warning("convex backend: %s", exc)

    async def _local_loop(self) -> None:
        assert self.local is not None
        attempt = 0
        while True:
            try:
                self.state = "starting"
                await self.local.start()
                await self.local.wait_healthy()
                self.state, self.healthy, attempt = "running", True, 0
                await self._maybe_deploy()
                while self.local.running:
                    await asyncio.sleep(HEALTH_SECONDS)
                self._fail(RuntimeError(f"the backend exited with code {self.local.proc.returncode if self.local.proc else '?'}"))
            except backend.BackendError as exc:
                self._fail(exc)
                await self.local.stop()
            self.state = "restarting"
            self.restarts += 1
            await asyncio.sleep(backoff_delay(attempt))
            attempt = min(attempt + 1, 8)

    async def _remote_loop(self) -> None:
        assert self.url is not None
        async with httpx.AsyncClient(timeout=5.0) as http:
            while True:
                try:
                    r = await http.get(self.url + "/instance_name")
                    ok = r.status_code == 200
                except httpx.HTTPError as exc:
                    ok = False
                    self.last_error = f"{self.url} unreachable: {exc}"
                if ok and not self.healthy:
                    self.healthy, self.state = True, "reachable"
                    with contextlib.suppress(backend.BackendError):
                        await self._maybe_deploy()
                elif not ok:
                    self.healthy, self.state = False, "unreachable"
                await asyncio.sleep(HEALTH_SECONDS * 2.5)

    async def _maybe_deploy(self) -> None:
        if os.environ.get("OPENAGENTS_CONVEX_DEPLOY", "1") in ("0", "false", "no"):
            return
        folder = backend.functions_dir()
        if not folder.is_dir():
            return
        digest = backend.functions_hash(folder)
        marker = backend.secrets_dir(self.ctx.config) / "deployed_hash"
        with contextlib.suppress(FileNotFoundError):
            self.deployed_hash = marker.read_text().strip()
        if digest == self.deployed_hash:
            return
        key = backend.target(self.ctx.config)
        assert self.url is not None
        try:
            await backend.deploy(self.url, key.admin_key if key else None, folder)
        except backend.BackendError as exc:
            self._fail(exc)
            raise
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(digest + "\n")
        self.deployed_hash = digest
        self.ctx.log.info("deployed the Convex functions (%s)", digest[:12])

    def backend_status(self) -> dict[str, Any]:
        proc = self.local.proc if self.local is not None else None
        return {
            "mode": self.mode, "state": self.state, "url": self.url, "healthy": self.healthy,
            "pid": proc.pid if proc is not None and proc.returncode is None else None,
            "restarts": self.restarts, "lastError": self.last_error, "deployedHash": self.deployed_hash,
            "uptime": round(time.monotonic() - self.local.started_at, 1) if self.local and self.local.running else None,
        }

    async def on_message(self, msg: Message, sender: str) -> Message | None:
        if isinstance(msg, m.VerbRequest):
            self.messages += 1
            if msg.verb in ("convex.status", "convex.backend"):
                return m.ok(**self.backend_status())
            return m.fail("unknown_verb", f"{msg.verb} is not handled by the backend actor")
        return await super().on_message(msg, sender)

    def details(self) -> dict[str, Any]:
        return self.backend_status()
