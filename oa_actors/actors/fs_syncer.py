"""`fs_syncer`: owns the projects and skills folders under OPENAGENTS_HOME.

Later issues add: watch `projects/` and `skills/` (and each project's `skills/`), parse them, and
emit upserts and removals.
"""

from __future__ import annotations

from typing import Any

from oa_actors.actors._base import LifecycleActor


class FsSyncer(LifecycleActor):
    """Lifecycle of the `fs_syncer` actor (see the module docstring)."""

    def details(self) -> dict[str, Any]:
        h = self.ctx.config.home
        return {"projects": str(h / "projects"), "skills": str(h / "skills")}
