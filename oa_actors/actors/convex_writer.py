"""`convex_writer`: owns the local store and its outbox.

Later issues add: apply row batches to the local SQLite store idempotently (so at-least-once
delivery is harmless), acknowledge them, and drain the outbox into Convex in batches with retries.
"""

from __future__ import annotations

from typing import Any

from oa_actors.actors._base import LifecycleActor


class ConvexWriter(LifecycleActor):
    """Lifecycle of the `convex_writer` actor (see the module docstring)."""

    def details(self) -> dict[str, Any]:
        return {"store": str(self.ctx.config.store_path)}
