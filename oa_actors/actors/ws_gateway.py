"""`ws_gateway`: owns client connections of the bridge WebSocket.

Later issues add: serve `ws://<host>:8787/ws` (`OPENAGENTS_BRIDGE_BIND`), control verbs,
per-request replies, live event fan-out (publish; a slow client may drop, counted) and live queries
on the local store.
"""

from __future__ import annotations

from typing import Any

from oa_actors.actors._base import LifecycleActor


class WsGateway(LifecycleActor):
    """Lifecycle of the `ws_gateway` actor (see the module docstring)."""

    def details(self) -> dict[str, Any]:
        c = self.ctx.config
        return {"bind": f"{c.bridge_host}:{c.bridge_port}", "clients": 0}
