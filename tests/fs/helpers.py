"""Small builders for project and skill files in a temp OPENAGENTS_HOME."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path


def write_project(
    home: Path, pid: str, name: str, working_dir: Path | str, extra: str = "", body: str = ""
) -> Path:
    folder = home / "projects" / pid
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "PROJECT.md"
    path.write_text(f"---\nname: {name}\nworkingDir: {working_dir}\n{extra}---\n{body}")
    return path


def write_skill(
    root: Path, sid: str, description: str = "does a thing", name: str | None = None, extra: str = ""
) -> Path:
    folder = root / sid
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "SKILL.md"
    path.write_text(f"---\nname: {name or sid}\ndescription: {description}\n{extra}---\n# {sid}\n")
    return path


def listing(folder: Path) -> list[str]:
    """Every path under `folder` (to prove nothing was written outside the temp home)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


async def wait_for(cond: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    """Poll `cond` until true; fail after a generous deadline (no timed assertions)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
