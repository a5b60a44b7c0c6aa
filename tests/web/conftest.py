"""Fixtures of the web app's browser tests: a real `oa-supervisor run` (every actor, real processes)
whose homes hold the repository's corpus (Codex rollouts and Claude Code projects), the mock model
server for the real Codex CLI, and a headless Chromium (Debian's) signed in by the pair URL.

One supervisor serves a whole module (starting one takes seconds); each test opens its own pages.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import codex
from tests.support.browser import chromium, ensure_web_built
from tests.support.mock_openai import MockResponses
from tests.support.supervisor import Supervisor

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
CODEX_SESSIONS = CORPUS / "codex-0.169.0" / "sessions"
CLAUDE_PROJECTS = CORPUS / "claude-2.1.197" / "projects"
LOAD_TIMEOUT_MS = 30_000  # generous: the machine is shared and loaded; never a timed assertion

#: The desktop's name (setting machine_name): the header shows it (a phone may know several).
MACHINE = "desk-under-test"


@dataclass
class App:
    """A running supervisor and how a browser reaches it."""

    sup: Supervisor
    mock: MockResponses
    tmp: Path
    base: str  # http://127.0.0.1:PORT
    token: str

    def pair(self) -> dict[str, Any]:
        """`oa-supervisor pair --json` for this bridge's port: a new device, its token and its web
        link (with a one-time login code)."""
        port = self.base.rsplit(":", 1)[1]
        out = subprocess.run(
            [sys.executable, "-m", "oa_actors", "pair", "--json", "--host", "127.0.0.1", "--port", port],
            env=self.sup.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        doc: dict[str, Any] = json.loads(out.stdout)
        return doc

    @property
    def pair_url(self) -> str:
        """The web pair link as `oa-supervisor pair` prints it (for this bridge's port)."""
        return str(self.pair()["webUrl"])

    @property
    def sessions(self) -> Path:
        """Where Codex rollouts are watched (the tailer's root)."""
        return self.sup.codex_home / "sessions"


def start_app(tmp: Path, mock: MockResponses, corpus: bool = True) -> App:
    """A supervisor with the corpus in its homes (copied before start: the tailer backfills it)."""
    claude = tmp / "claude"
    (claude / "projects").mkdir(parents=True)
    codex_home = tmp / "codex-home"
    codex_home.mkdir(parents=True, exist_ok=True)
    if corpus:
        shutil.copytree(CODEX_SESSIONS, codex_home / "sessions")
        shutil.copytree(CLAUDE_PROJECTS, claude / "projects", dirs_exist_ok=True)
    env = {
        **codex.codex_env(mock, codex_home),
        "CLAUDE_CONFIG_DIR": str(claude),
        "OPENAGENTS_MACHINE_NAME": MACHINE,
    }
    sup = Supervisor(tmp, env=env).start()
    ws = sup.bridge_url  # ws://127.0.0.1:PORT/ws
    base = "http" + ws.removeprefix("ws").removesuffix("/ws")
    return App(sup, mock, tmp, base, sup.token)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    ensure_web_built()
    tmp = tmp_path_factory.mktemp("web")
    with MockResponses(slow_delay=0.3) as mock:
        a = start_app(tmp, mock)
        try:
            yield a
        finally:
            assert a.sup.stop() == 0


@pytest.fixture(scope="module")
def browser(app: App) -> Iterator[Any]:
    """A Chromium context signed in once by the pair URL (its cookie serves every page)."""
    with chromium() as ctx:
        page = ctx.new_page()
        page.goto(app.pair_url)
        page.close()
        yield ctx


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh tab of the signed-in browser; console errors of the page fail the test."""
    p = browser.new_page()
    p.set_default_timeout(LOAD_TIMEOUT_MS)
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    yield p
    p.close()
    assert not errors, f"uncaught errors in the page: {errors}"
