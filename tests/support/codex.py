"""Running the real Codex CLI (npm `@openai/codex`, pinned in package.json) against the mock server."""

from __future__ import annotations

import shlex
from pathlib import Path

from tests.support.mock_openai import MockResponses

ROOT = Path(__file__).resolve().parents[2]
CODEX = ROOT / "node_modules" / ".bin" / "codex"


def available() -> bool:
    return CODEX.exists()


def codex_env(mock: MockResponses, codex_home: Path) -> dict[str, str]:
    """Environment for oa-supervisor (and its runner) to drive Codex offline against `mock`."""
    return {
        "CODEX_HOME": str(codex_home),
        "CODEX_BIN": str(CODEX),
        "MOCK_API_KEY": "dummy",
        "OPENAGENTS_CODEX_ARGS": shlex.join([*mock.codex_args(), "-s", "danger-full-access"]),
    }
