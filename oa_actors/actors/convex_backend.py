"""`convex_backend`: owns the local Convex backend process.

Later issues add: find the `convex-local-backend` binary (`OPENAGENTS_CONVEX_BIN`), keep its instance
secret and admin key under OPENAGENTS_HOME, start and health-check it on `OPENAGENTS_CONVEX_PORT`,
deploy `convex/` functions when they change, and in remote mode (`OPENAGENTS_CONVEX_URL`) only check
the configured deployment.
"""

from __future__ import annotations

from typing import Any

from oa_actors.actors._base import LifecycleActor


class ConvexBackend(LifecycleActor):
    """Lifecycle of the `convex_backend` actor (see the module docstring)."""

    def details(self) -> dict[str, Any]:
        c = self.ctx.config
        mode = "remote" if c.convex_url else "local"
        return {"mode": mode, "url": c.convex_url or f"http://{c.convex_interface}:{c.convex_port}"}
