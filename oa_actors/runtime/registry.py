"""Actor specs: which actors exist, how to import them, their restart type and start order.

The supervisor reads the list from `DEFAULT_SPECS`, or from another module named by `--specs` /
`OA_ACTOR_SPECS` (`Config.actor_specs`) (`"package.module:ATTR"`), which is how tests and
benchmarks run their own actors. `--actors a,b` selects a subset by name.
"""

from __future__ import annotations

import enum
import importlib
from dataclasses import dataclass

from oa_actors.runtime.actor import Actor


class Restart(enum.StrEnum):
    """OTP restart types."""

    PERMANENT = "permanent"  # always restarted
    TRANSIENT = "transient"  # restarted only after an abnormal exit (non-zero, signal, health)
    TEMPORARY = "temporary"  # never restarted


@dataclass(frozen=True)
class ActorSpec:
    """How to run one actor. `target` is `"module:ClassName"`, imported in the actor's process."""

    name: str
    target: str
    restart: Restart = Restart.PERMANENT
    order: int = 0
    inbox_size: int = 1024

    def load(self) -> type[Actor]:
        """Import the actor class."""
        module, _, attr = self.target.partition(":")
        cls = getattr(importlib.import_module(module), attr)
        if not (isinstance(cls, type) and issubclass(cls, Actor)):
            raise TypeError(f"actor spec {self.name!r}: {self.target} is not an Actor subclass")
        return cls

    @property
    def module(self) -> str:
        return self.target.partition(":")[0]


# The actors of docs/architecture.md, in start order: the backend first (the writer needs it), the
# gateway last (clients connect only once everything behind it is up). Shutdown runs in reverse.
DEFAULT_SPECS: tuple[ActorSpec, ...] = (
    ActorSpec("convex_backend", "oa_actors.actors.convex_backend:ConvexBackend", order=10),
    ActorSpec("convex_writer", "oa_actors.actors.convex_writer:ConvexWriter", order=20),
    ActorSpec("sessions_tailer", "oa_actors.actors.sessions_tailer:SessionsTailer", order=30),
    ActorSpec("fs_syncer", "oa_actors.actors.fs_syncer:FsSyncer", order=40),
    ActorSpec("codex_runner", "oa_actors.actors.codex_runner:CodexRunner", order=50),
    # Embeds messages at low priority for semantic search; idle when off or without the model.
    ActorSpec("indexer", "oa_actors.actors.indexer:Indexer", order=55),
    ActorSpec("ws_gateway", "oa_actors.actors.ws_gateway:WsGateway", order=60),
)


def load_specs(source: str | None = None, names: str | None = None) -> list[ActorSpec]:
    """The specs to run, sorted by start order.

    `source` is `"module:ATTR"` (`Config.actor_specs`; default `DEFAULT_SPECS`); `names` a
    comma-separated subset. Unknown names raise `ValueError`.
    """
    if source:
        module, _, attr = source.partition(":")
        specs = list(getattr(importlib.import_module(module), attr or "SPECS"))
    else:
        specs = list(DEFAULT_SPECS)
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen or spec.name == "supervisor":
            raise ValueError(f"duplicate or reserved actor name: {spec.name!r}")
        seen.add(spec.name)
    if names:
        wanted = [n.strip() for n in names.split(",") if n.strip()]
        unknown = sorted(set(wanted) - seen)
        if unknown:
            raise ValueError(f"unknown actor(s): {', '.join(unknown)} (known: {', '.join(sorted(seen))})")
        specs = [s for s in specs if s.name in wanted]
    return sorted(specs, key=lambda s: (s.order, s.name))
