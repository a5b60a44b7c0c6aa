"""`codex_runner`: owns Codex child processes.

Later issues add: on `run.submit`, spawn `codex exec --json [resume <id>] <prompt>` in the project
working dir, stream its stdout lines to the bus, track run state, interrupt a run on request.
"""

from __future__ import annotations

from typing import Any

from oa_actors.actors._base import LifecycleActor


class CodexRunner(LifecycleActor):
    """Lifecycle of the `codex_runner` actor (see the module docstring)."""

    def details(self) -> dict[str, Any]:
        return {"codex_bin": self.ctx.config.codex_bin or "codex", "runs": 0}
