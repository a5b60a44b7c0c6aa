"""`sessions_tailer`: owns file offsets and watches of `$CODEX_HOME/sessions`.

Later issues add: watch the sessions folder recursively, tail appended lines through the native hot
path, emit row batches with `ctx.deliver` (at-least-once), checkpoint offsets only after the store
acknowledges, and run startup / on-demand backfill.
"""

from __future__ import annotations

from typing import Any

from oa_actors.actors._base import LifecycleActor


class SessionsTailer(LifecycleActor):
    """Lifecycle of the `sessions_tailer` actor (see the module docstring)."""

    def details(self) -> dict[str, Any]:
        d = self.ctx.config.sessions_dir
        return {"sessions_dir": str(d), "exists": d.is_dir()}
