"""No silent failure: every long-lived task of every actor is supervised (issue 11).

The whole product runs (`oa-supervisor run`, every actor, Convex in remote mode on the HTTP
emulator) with the actors of `tests/runtime/faulty_actors.py`: the real actors plus a test-only
hook that makes one named task fail inside its own loop. For each long-lived task of each actor
the test injects a failure and sees the actor crash and restart, with the task and the error in
`status` and one traceback in the log; the same for the long-lived threads (the store's WAL
checkpointer, the folder watches); it also checks that no other long-lived task runs
unsupervised. Then the restarted product still mirrors a new session.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from oa_actors.runtime import control
from tests.runtime.faulty_actors import InjectFault, ListTasks
from tests.support import convex_emulator
from tests.support.convex_emulator import ConvexEmulator
from tests.support.gen import write_sessions
from tests.support.supervisor import Supervisor

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not convex_emulator.available(), reason="node_modules missing: run `make test`"),
]

# Every long-lived task each actor starts (with ctx.spawn). The gateway's only one is the device
# watch (revocations and expiry); its per-client and per-request tasks report errors to their
# client (docs/runtime.md).
LONG_LIVED = {
    "convex_backend": ["convex-remote"],
    "convex_writer": ["convex-drain", "search-index-merge"],
    "sessions_tailer": ["tailer-read", "tailer-rescan"],
    "fs_syncer": ["fs-syncer-debounce", "fs-syncer-rescan"],
    "codex_runner": ["convex-runs"],
    "indexer": ["indexer-loop", "indexer-searcher"],
    "ws_gateway": ["device watch"],
}
RUNTIME_TASKS = {"oa-actor", "oa-consume", "oa-stop"}  # the runtime's own (main, messages, stop)
# Long-lived threads of the actors: a failure there crashes the actor too (catch_stray_errors).
LONG_LIVED_THREADS = {
    "convex_writer": ["store-checkpoint"],
    "sessions_tailer": ["folder-watch"],
    "fs_syncer": ["folder-watch"],
}


def wait_for(fn: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def tasks_of(sup: Supervisor, actor: str) -> ListTasks:
    reply = control.ask(sup.home / "run", actor, ListTasks(), timeout=20)
    assert isinstance(reply, ListTasks)
    return reply


def stored_threads(sup: Supervisor) -> int:
    try:
        with sup.store() as st:
            return st.count("threads")
    except Exception:
        return 0


def test_a_failure_in_any_long_lived_task_crashes_and_restarts_its_actor(tmp_path: Path) -> None:
    sessions = tmp_path / "codex-home" / "sessions"
    write_sessions(sessions, 3, turns=2)
    with ConvexEmulator(admin_key="fault-key") as emu:
        env = {
            "OPENAGENTS_CONVEX_URL": emu.url,
            "OPENAGENTS_CONVEX_ADMIN_KEY": "fault-key",
            "OPENAGENTS_CONVEX_DEPLOY": "0",
            "CLAUDE_CONFIG_DIR": str(tmp_path / "claude"),
        }
        sup = Supervisor(tmp_path, env=env, args=["--specs", "tests.runtime.faulty_actors:SPECS"]).start()
        try:
            wait_for(lambda: stored_threads(sup) == 3, 60, "the first sessions mirrored")
            for actor, names in LONG_LIVED.items():
                t = tasks_of(sup, actor)
                assert t.supervised == sorted(names), actor
                assert set(t.other) <= RUNTIME_TASKS, f"{actor} runs unsupervised tasks: {t.other}"

            for actor, names in LONG_LIVED.items():
                for task in names:
                    before = sup.actor(actor)
                    reply = control.ask(sup.home / "run", actor, InjectFault(task=task), timeout=20)
                    assert reply == InjectFault(task=task, found=True)
                    after = wait_for(
                        lambda a=actor, b=before: (
                            (s := sup.actor(a))["restarts"] == b["restarts"] + 1
                            and s["state"] == "running"
                            and s["pid"] != b["pid"]
                            and s
                        ),
                        60,
                        f"{actor} restarted after a fault in {task}",
                    )
                    assert (
                        f"TaskFailed: background task '{task}' failed: InjectedFault: "
                        f"fault injected into {task}" in after["last_error"]
                    )
                    # Back with every task running again.
                    wait_for(lambda a=actor: tasks_of(sup, a).supervised == sorted(LONG_LIVED[a]), 30, actor)

            for actor, names in LONG_LIVED_THREADS.items():
                for thread in names:
                    assert thread in tasks_of(sup, actor).threads, (actor, thread)
                    before = sup.actor(actor)
                    reply = control.ask(sup.home / "run", actor, InjectFault(task=thread), timeout=20)
                    assert reply == InjectFault(task=thread, found=True)
                    if thread == "folder-watch":
                        # A watch thread sleeps until an event: give it one, so it steps (and fails).
                        folder = sessions if actor == "sessions_tailer" else sup.home / "skills"
                        (folder / f"poke-{actor}").write_text("x")
                    after = wait_for(
                        lambda a=actor, b=before: (
                            (s := sup.actor(a))["restarts"] == b["restarts"] + 1
                            and s["state"] == "running"
                            and s["pid"] != b["pid"]
                            and s
                        ),
                        60,
                        f"{actor} restarted after a fault in its thread {thread}",
                    )
                    assert f"TaskFailed: thread '{thread}' failed: InjectedFault" in after["last_error"]
                    wait_for(lambda a=actor, n=thread: n in tasks_of(sup, a).threads, 30, "thread back")

            log = sup.log.read_text(errors="replace")
            for names in LONG_LIVED.values():
                for task in names:
                    crashed = f"actor crashed: TaskFailed: background task '{task}' failed"
                    assert log.count(crashed) == 1, task  # logged once, with its traceback:
                    tb = log[log.index(crashed) :]
                    assert "Traceback (most recent call last)" in tb[:4000]
                    assert f"InjectedFault: fault injected into {task}" in tb[:4000]
            statuses = (sup.status() or {})["actors"]
            assert {a["name"]: a["restarts"] for a in statuses} == {
                actor: len(names) + len(LONG_LIVED_THREADS.get(actor, []))
                for actor, names in LONG_LIVED.items()
            }

            # Everything restarted still works together: a new session is mirrored.
            write_sessions(tmp_path / "more", 4, turns=1)
            newest = sorted((tmp_path / "more").rglob("*.jsonl"))[-1]
            target = sessions / "2026" / "12" / "01"
            target.mkdir(parents=True)
            newest.rename(target / newest.name)
            wait_for(lambda: stored_threads(sup) == 4, 60, "a new session mirrored after the restarts")
        finally:
            assert sup.stop() == 0
