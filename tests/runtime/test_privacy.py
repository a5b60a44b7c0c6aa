"""Private by default (issue 11 point 6): OPENAGENTS_HOME 0700, every file in it 0600."""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from oa_actors.messages import VerbReply, VerbRequest
from oa_actors.runtime import control
from oa_actors.runtime.logs import PrivateRotatingFileHandler
from oa_actors.runtime.privacy import secure_home
from oa_actors.store import Store
from tests.support import convex_emulator
from tests.support.gen import write_sessions
from tests.support.supervisor import Supervisor

STAND_IN = Path(__file__).resolve().parents[1] / "support" / "fake_convex_backend"


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """What many desktops use: new files readable by everyone (0644 / 0755)."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def shared(root: Path) -> list[str]:
    """Every file or folder below `root` (and `root`) that group or others may access."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [".", *dirnames, *filenames]:
            path = Path(dirpath) / name
            st = path.lstat()
            if not stat.S_ISLNK(st.st_mode) and stat.S_IMODE(st.st_mode) & 0o077:
                out.append(f"{path.relative_to(root.parent)} {stat.S_IMODE(st.st_mode):o}")
    return sorted(out)


def test_the_store_and_its_wal_and_shm_are_private_whatever_the_umask(
    tmp_path: Path, loose_umask: None
) -> None:
    store = Store.open(tmp_path / "home" / "store.sqlite3")
    try:
        store.conn.execute("BEGIN IMMEDIATE")
        store.conn.execute("CREATE TABLE t (x)")
        store.conn.execute("COMMIT")
        names = sorted(p.name for p in (tmp_path / "home").iterdir())
        assert names == ["store.sqlite3", "store.sqlite3-shm", "store.sqlite3-wal"]
        assert shared(tmp_path / "home") == []
    finally:
        store.close()


def test_log_files_and_rotated_ones_are_private_whatever_the_umask(tmp_path: Path, loose_umask: None) -> None:
    handler = PrivateRotatingFileHandler(tmp_path / "x.log", maxBytes=200, backupCount=3, encoding="utf-8")
    logger = logging.getLogger("oa.test.privacy")
    logger.addHandler(handler)
    try:
        for i in range(40):
            logger.warning("line %d with some session text", i)
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.log", "x.log.1", "x.log.2", "x.log.3"]
    assert shared(tmp_path) == []


def test_secure_home_tightens_a_home_left_readable_by_an_older_version(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "logs").mkdir(parents=True)
    (home / "convex").mkdir()
    os.chmod(home, 0o755)
    os.chmod(home / "logs", 0o755)
    os.chmod(home / "convex", 0o750)
    for f, mode in (("store.sqlite3", 0o644), ("logs/supervisor.log", 0o644), ("convex/admin_key", 0o640)):
        (home / f).write_text("private\n")
        os.chmod(home / f, mode)
    (home / "elsewhere").symlink_to(tmp_path)  # links are never followed nor changed
    changed = {str(p.relative_to(tmp_path)): mode for p, mode in secure_home(home)}
    assert changed == {
        "home": 0o755,
        "home/store.sqlite3": 0o644,
        "home/logs": 0o755,
        "home/logs/supervisor.log": 0o644,
        "home/convex": 0o750,
        "home/convex/admin_key": 0o640,
    }
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "store.sqlite3").stat().st_mode) == 0o600
    assert secure_home(home) == []  # nothing left to do


@pytest.mark.skipif(not convex_emulator.available(), reason="node_modules missing: run `make test`")
def test_nothing_the_running_product_creates_is_readable_by_others(tmp_path: Path) -> None:
    """`oa-supervisor run` started with a loose umask (0022), every actor, a local Convex backend
    (the stand-in binary: its secrets, data and log), sessions mirrored into the store and Convex, a
    project saved: no file or folder under OPENAGENTS_HOME has a group or other permission bit."""
    sessions = tmp_path / "codex-home" / "sessions"
    write_sessions(sessions, 5, turns=2)
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = {
        "OPENAGENTS_CONVEX_BIN": str(STAND_IN),
        "OPENAGENTS_CONVEX_PORT": str(free_port()),
        "OPENAGENTS_CONVEX_DEPLOY": "0",
        "CLAUDE_CONFIG_DIR": str(tmp_path / "claude"),
    }
    sup = Supervisor(tmp_path, env=env, umask=0o022).start(timeout=90)
    try:
        home = sup.home
        deadline = time.monotonic() + 90
        while _count(home, "threads") < 5 or _convex_rows(sup) == 0:
            assert time.monotonic() < deadline, "the sessions were not mirrored into the store and Convex"
            time.sleep(0.2)
        reply = control.ask(
            home / "run",
            "fs_syncer",
            VerbRequest(
                verb="project.save", args={"project": {"id": "p1", "name": "P", "workingDir": str(workdir)}}
            ),
        )
        assert isinstance(reply, VerbReply) and reply.ok, reply
        assert (home / "projects" / "p1" / "PROJECT.md").exists()
        assert (home / "store.sqlite3-wal").exists() and (home / "logs" / "supervisor.log").exists()
        assert (home / "convex" / "admin_key").exists() and (home / "devices.json").exists()
        assert (home / "machine.json").exists() and not (home / "bridge.json").exists()
        assert (home / "run" / "supervisor.sock").exists()
        assert shared(home) == []
    finally:
        assert sup.stop() == 0
    assert shared(sup.home) == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _count(home: Path, table: str) -> int:
    try:
        with sqlite3.connect(f"file:{home / 'store.sqlite3'}?mode=ro", uri=True) as db:
            return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.Error:
        return 0


def _convex_rows(sup: Supervisor) -> int:
    h = (sup.actor("convex_writer").get("health") or {}).get("convex") or {}
    return int(h.get("sentRows") or 0)
