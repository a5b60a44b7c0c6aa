"""This installation's machine identity (docs/convex.md, "Several desktops, one Convex").

Each `OPENAGENTS_HOME` has a stable machine id, made once in `$OPENAGENTS_HOME/machine.json`
(`{"id": ...}`, 128 random bits), and a name (`machine_name`, default the host name). Rows the
writer sends to Convex (threads, projects) carry both, and the runner lists and claims only the
Convex runs enqueued for its machine, so two desktops mirroring into one deployment never overwrite
each other's projects and never run each other's runs.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from oa_actors.config import Config, write_secret

log = logging.getLogger(__name__)

MACHINE_FILE = "machine.json"


@dataclass(frozen=True)
class Machine:
    """A machine's id (stable across restarts) and its display name."""

    id: str
    name: str

    def stamp(self) -> dict[str, str]:
        """The fields a Convex row carries."""
        return {"machineId": self.id, "machineName": self.name}


def _read_id(path: Path) -> str | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None


def machine(config: Config) -> Machine:
    """This installation's machine (its id is made once, with mode 0600). Several actors ask at
    start at the same moment: the file is created with a hard link, so exactly one id wins."""
    path = config.home / MACHINE_FILE
    mid = _read_id(path)
    if mid is None:
        if path.exists():
            log.warning("%s is unreadable: making a new machine id", path)
            path.unlink()
        tmp = path.with_name(f"{MACHINE_FILE}.{secrets.token_hex(4)}.tmp")
        write_secret(tmp, json.dumps({"id": secrets.token_hex(16)}) + "\n")
        try:
            os.link(tmp, path)  # fails if another process created it first: then its id is used
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        mid = _read_id(path)
        if mid is None:  # pragma: no cover - the file just written is unreadable
            raise OSError(f"cannot read back {path}")
    return Machine(mid, config.machine_name or socket.gethostname() or "desktop")
