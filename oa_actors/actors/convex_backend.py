"""`convex_backend`: the Convex deployment the writer talks to.

Local mode (a `convex-local-backend` binary was found): start it with its instance secret and
admin key, wait for `GET /instance_name` (long enough for a cold start), deploy the Convex functions
(oa_actors/convex/functions) when their content hash changed, watch it, and restart it with backoff
if it dies. Remote mode (OPENAGENTS_CONVEX_URL): no process, only health checks and deploys.
Neither: status says so and
the writer keeps the backlog in the outbox. Set OPENAGENTS_CONVEX_DEPLOY=0 to never deploy.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, ClassVar

import httpx
import msgspec

from oa_actors import messages as m
from oa_actors.actors._base import LifecycleActor
from oa_actors.config import write_secret
from oa_actors.convex import backend
from oa_actors.convex.drain import BACKOFF_MAX, BACKOFF_START
from oa_actors.runtime.actor import Context
from oa_actors.runtime.backoff import equal_jitter_delay
from oa_actors.runtime.codec import Message
from oa_actors.verbs import catalog as c
from oa_actors.verbs.dispatch import VerbTable
from oa_actors.verbs.registry import NoArgs

HEALTH_SECONDS = 2.0
DEPLOY_CHECK_SECONDS = 10.0
SETUP_RECHECK_SECONDS = 30.0  # a refused set-up (secret only in argv) is checked again this often


class ConvexBackend(LifecycleActor):
    """Keeps the configured Convex deployment up and its functions deployed."""

    verbs: ClassVar[VerbTable[ConvexBackend]] = VerbTable(m.BACKEND)

    async def setup(self, ctx: Context) -> None:
        cfg = ctx.config
        self.mode = "none"
        self.state = "absent"
        self.url: str | None = None
        self.detail: str | None = None
        self.last_error: str | None = None
        self.restarts = 0
        self.healthy = False
        self.deployed_hash: str | None = None
        self.deploy_state = "pending" if cfg.convex_deploy else "disabled"
        self.deploy_error: str | None = None
        self._deploy_failures = 0
        self._next_deploy_at = 0.0
        self._last_deploy_check = 0.0
        self.local: backend.LocalBackend | None = None
        self._task: asyncio.Task[None] | None = None
        if cfg.convex_url:
            self.mode, self.url = "remote", cfg.convex_url.rstrip("/")
            self.state = "connecting"
            self._task = ctx.spawn(self._remote_loop(), "convex-remote")
        elif (binary := backend.find_binary(cfg)) is not None:
            self.mode = "local"
            self.local = backend.LocalBackend(cfg, binary)
            self.url = self.local.url
            self._task = ctx.spawn(self._local_loop(), "convex-local")
        else:
            if cfg.convex_bin:
                self.detail = (
                    f"OPENAGENTS_CONVEX_BIN={cfg.convex_bin} is not an executable file; "
                    "rows wait in the local store's outbox"
                )
            else:
                self.detail = (
                    "no convex-local-backend binary (OPENAGENTS_CONVEX_BIN, $OPENAGENTS_HOME/bin/, "
                    "~/.cache/convex/binaries/) and no OPENAGENTS_CONVEX_URL: rows wait in the local "
                    "store's outbox"
                )
            self.deploy_state = "none"
            ctx.log.info("convex backend: %s", self.detail)

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
                self.ctx.log.info(
                    "convex backend healthy on %s (pid %s)",
                    self.local.url,
                    self.local.proc.pid if self.local.proc else "?",
                )
                await self._watch()
                code = self.local.proc.returncode if self.local.proc else "?"
                self._fail(
                    backend.BackendError(f"{self.local.binary.name} exited with code {code}; restarting")
                )
                await self.local.stop()  # reaps what is left of its process group
            except backend.SecretOnCommandLine as exc:
                # Not a crash: nothing was started and a restart would refuse the same way.
                self._fail(exc)
                self.state = "misconfigured"
                await asyncio.sleep(SETUP_RECHECK_SECONDS)
                continue
            except backend.BackendError as exc:
                self._fail(exc)
                await self.local.stop()
            self.state = "restarting"
            self.restarts += 1
            await asyncio.sleep(equal_jitter_delay(attempt, BACKOFF_START, BACKOFF_MAX))
            attempt = min(attempt + 1, 8)

    async def _watch(self) -> None:
        """While our process lives: check `GET /instance_name` and deploy when the functions change."""
        assert self.local is not None
        async with httpx.AsyncClient(timeout=5.0) as http:
            while self.local.running:
                await self._maybe_deploy()
                await asyncio.sleep(HEALTH_SECONDS)
                if not self.local.running:
                    return
                try:
                    ok = (await http.get(self.local.url + "/instance_name")).status_code == 200
                except httpx.HTTPError as exc:
                    ok = False
                    self.last_error = f"{self.local.url} did not answer: {exc}"
                self.healthy = ok
                self.state = "running" if ok else "unresponsive"

    async def _remote_loop(self) -> None:
        assert self.url is not None
        async with httpx.AsyncClient(timeout=5.0) as http:
            while True:
                try:
                    r = await http.get(self.url + "/instance_name")
                    ok = r.status_code == 200
                    if not ok:
                        self.last_error = f"{self.url}/instance_name answered HTTP {r.status_code}"
                except httpx.HTTPError as exc:
                    ok = False
                    self.last_error = f"{self.url} unreachable: {exc}"
                if ok and not self.healthy:
                    self.ctx.log.info("convex deployment %s reachable", self.url)
                self.healthy, self.state = ok, ("reachable" if ok else "unreachable")
                if ok:
                    await self._maybe_deploy()
                await asyncio.sleep(HEALTH_SECONDS * 2.5)

    async def _maybe_deploy(self) -> None:
        """Deploy `convex/` when its content hash differs from the last deployed one.

        Never raises: a failed deploy is reported (`deploy`, `deployError`, `lastError`) and tried
        again later with backoff; the backend keeps running.
        """
        if not self.ctx.config.convex_deploy:
            self.deploy_state = "disabled"
            return
        now = time.monotonic()
        if now < self._next_deploy_at or (
            self.deploy_state == "ok" and now - self._last_deploy_check < DEPLOY_CHECK_SECONDS
        ):
            return
        self._last_deploy_check = now
        folder = backend.functions_dir(self.ctx.config)
        if not folder.is_dir():
            self.deploy_state, self.deploy_error = "failed", f"no functions folder at {folder}"
            return
        digest = await asyncio.to_thread(backend.functions_hash, folder)
        marker = backend.secrets_dir(self.ctx.config) / "deployed_hash"
        # "<hash> <url>": switching deployments (local -> remote) deploys again.
        deployed_to: str | None = None
        with contextlib.suppress(FileNotFoundError, ValueError):
            self.deployed_hash, deployed_to = marker.read_text().split()
        if digest == self.deployed_hash and deployed_to == self.url:
            self.deploy_state = "ok"
            return
        self.deploy_state = "deploying"
        target = backend.target(self.ctx.config)
        assert self.url is not None
        try:
            await backend.deploy(self.ctx.config, self.url, target.admin_key if target else None, folder)
        except backend.BackendError as exc:
            self._deploy_failures += 1
            self._next_deploy_at = time.monotonic() + max(
                equal_jitter_delay(min(self._deploy_failures + 3, 8), BACKOFF_START, BACKOFF_MAX), 5.0
            )
            self.deploy_state, self.deploy_error, self.last_error = "failed", str(exc), str(exc)
            self.ctx.log.error("convex deploy failed (the backend keeps running; retrying later): %s", exc)
            return
        write_secret(marker, f"{digest} {self.url}\n")  # 0600 like its neighbours (not a secret)
        self.deployed_hash, self.deploy_state, self.deploy_error = digest, "ok", None
        self._deploy_failures = 0
        self.ctx.log.info("deployed the Convex functions (%s)", digest[:12])

    def backend_status(self) -> dict[str, Any]:
        proc = self.local.proc if self.local is not None else None
        return {
            "mode": self.mode,
            "state": self.state,
            "url": self.url,
            "healthy": self.healthy,
            "pid": proc.pid if proc is not None and proc.returncode is None else None,
            "restarts": self.restarts,
            "lastError": self.last_error,
            "detail": self.detail,
            "deploy": self.deploy_state,
            "deployError": self.deploy_error,
            "deployedHash": self.deployed_hash,
            "uptime": round(time.monotonic() - self.local.started_at, 1)
            if self.local and self.local.running
            else None,
        }

    @verbs.handles(c.CONVEX_BACKEND)
    async def _convex_backend(self, args: NoArgs) -> c.BackendStatus:
        return msgspec.convert(self.backend_status(), c.BackendStatus)

    async def on_message(self, msg: Message, sender: str) -> Message | None:
        if isinstance(msg, m.VerbRequest):
            self.messages += 1
            return await self.verbs.dispatch(self, msg)
        return await super().on_message(msg, sender)

    def details(self) -> dict[str, Any]:
        return self.backend_status()
