"""Never give up (issue 11): the restart budget is per actor, a failing actor is retried later with
capped backoff, every other actor keeps running, and the supervisor exits only when asked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from oa_actors.commands.parse import rows_of
from oa_actors.runtime import control
from oa_actors.runtime.codec import Echo
from tests.runtime.fixture_actors import Cmd
from tests.runtime.helpers import ROOT, Sup, wait_until
from tests.support.gen import write_sessions
from tests.support.supervisor import Supervisor


def _restarted(sup: Sup, name: str, old_pid: int) -> Callable[[], bool]:
    def check() -> bool:
        a = sup.actor(name)
        return a.state == "running" and a.pid not in (None, old_pid)

    return check


def _cli_status(sup: Sup, *args: str) -> str:
    env = {**os.environ, "OPENAGENTS_HOME": str(sup.home)}
    out = subprocess.run(
        [sys.executable, "-m", "oa_actors", "status", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_six_kills_over_five_actors_within_14s_keep_the_supervisor_running(
    start_sup: Callable[..., Sup],
) -> None:
    """Issue 11 point 5: with the old global budget (5 restarts in 30 s) the sixth kill stopped
    everything with exit 1. Each actor now has its own budget, so nothing is even `failed`."""
    names = ["alpha", "beta", "gamma", "delta", "prober"]
    sup = start_sup(",".join(names))
    victims = [*names, "alpha"]
    began = time.monotonic()
    for victim in victims:
        pid = sup.actor(victim).pid
        assert pid
        os.kill(pid, signal.SIGKILL)
        wait_until(_restarted(sup, victim, pid), 30, f"{victim} restarted")
        time.sleep(max(0.0, 2.0 - (time.monotonic() - began) % 2.0))  # about one kill every 2 s
    assert time.monotonic() - began < 30  # all six inside one restart window
    assert sup.proc.poll() is None, sup.log()[-3000:]
    restarts = {a.name: a.restarts for a in sup.status().actors}
    assert restarts == {"alpha": 2, "beta": 1, "gamma": 1, "delta": 1, "prober": 1}
    assert {a.state for a in sup.status().actors} == {"running"}
    for name in names:
        assert sup.ask(name, Echo(n=7)) == Echo(n=7)
    sup.proc.send_signal(signal.SIGTERM)
    assert sup.wait_exit() == 0


def test_repeated_kills_of_a_running_actor_never_make_it_failed(start_sup: Callable[..., Sup]) -> None:
    """The soak kills a random actor every 2 s, about one kill per actor per 12 s, yet random
    kills used to push actors to `failed` (30-60 s down). Only quick failures (the incarnation was
    never ready, or ran less than --quick-failure) count towards the budget now: eight kills in a
    row, each after the actor had run a little, stay within a budget of 5; a crash loop does not
    (test_supervision.py::test_crash_loop_marks_only_that_actor_failed)."""
    sup = start_sup("alpha,prober", "--quick-failure", "1")
    for _ in range(8):
        pid = sup.actor("alpha").pid
        assert pid
        time.sleep(1.3)  # it has run longer than --quick-failure since it was ready
        os.kill(pid, signal.SIGKILL)
        wait_until(_restarted(sup, "alpha", pid), 30, "alpha restarted")
    alpha = sup.actor("alpha")
    assert alpha.state == "running" and alpha.restarts == 8  # the old budget: failed at the sixth
    assert "failed:" not in sup.log()
    assert sup.ask("alpha", Echo(n=5)) == Echo(n=5)
    sup.proc.send_signal(signal.SIGTERM)
    assert sup.wait_exit() == 0


def test_a_crash_looping_actor_is_failed_then_retried_while_the_others_work(
    start_sup: Callable[..., Sup], tmp_path: Path
) -> None:
    """A broken actor goes `failed` (status says why and when it is retried), is retried later with
    a doubling delay, comes back once the cause is fixed; meanwhile the others answer and move data."""
    home = tmp_path / "home0"  # the first home `start_sup` creates: the fault must exist before start
    home.mkdir()
    (home / "flaky.broken").write_text("its binary is missing\n")
    sup = start_sup(
        "prober,sink,flaky",
        "--max-restarts",
        "2",
        "--failed-retry",
        "8",  # long enough that a loaded machine reads status before the first retry fires
        "--failed-retry-max",
        "16",
        wait=False,
    )
    assert sup.home == home
    control.wait_for_status(sup.run_dir, 30)
    wait_until(lambda: sup.actor("flaky").state == "failed", 60, "flaky failed")
    first = sup.actor("flaky")
    assert "boom from flaky: its binary is missing" in first.last_error
    assert time.time() < first.retry_at <= time.time() + 8.5
    assert first.pid is None and first.restarts == 3

    # Status shows it, for humans and machines.
    text = _cli_status(sup)
    row = next(line for line in text.splitlines() if line.startswith("flaky"))
    assert "failed" in row
    assert "last error: exited with code 1: RuntimeError: boom from flaky: its binary is missing" in text
    assert "next retry in " in text
    doc = json.loads(_cli_status(sup, "--json"))
    flaky = next(a for a in doc["actors"] if a["name"] == "flaky")
    assert flaky["state"] == "failed" and flaky["retry_at"] > 0 and "boom from flaky" in flaky["last_error"]

    # The others keep working: a reliable stream between two actors, and asks.
    assert sup.ask("prober", Cmd(op="stream", arg="sink", n=2000), timeout=60) == Cmd(op="streamed", n=2000)
    assert sup.ask("sink", Cmd(op="items")) == Cmd(op="items", n=2000)

    # Retried after the delay: it fails again (still broken) and the next delay doubles.
    wait_until(lambda: sup.actor("flaky").restarts > first.restarts, 30, "flaky retried")
    wait_until(
        lambda: (a := sup.actor("flaky")).state == "failed" and a.retry_at > first.retry_at, 30, "again"
    )
    second = sup.actor("flaky")
    assert second.retry_at - first.retry_at > 8.0  # 8 s, then 16 s (+ the time the retry took)
    log = sup.log()
    assert "retrying it in 8s" in log and "retrying it in 16s" in log

    # Fixed: the next retry brings it back, and it answers.
    (home / "flaky.broken").unlink()
    wait_until(lambda: sup.actor("flaky").state == "running", 60, "flaky running again")
    assert sup.ask("flaky", Echo(n=1)) == Echo(n=1)
    assert sup.actor("flaky").retry_at == 0
    assert {a.name: a.restarts for a in sup.status().actors if a.name != "flaky"} == {"prober": 0, "sink": 0}
    assert sup.proc.poll() is None
    sup.proc.send_signal(signal.SIGTERM)
    assert sup.wait_exit() == 0


def test_an_actor_that_cannot_be_started_does_not_stop_startup(start_sup: Callable[..., Sup]) -> None:
    """Starting an actor can fail in the supervisor itself (fork fails: no memory, no pids). That
    used to abort the whole supervisor; now it is a failure of that actor, restarted like a crash,
    and the actors after it in start order start anyway."""
    env = {"OA_TEST_START_FAULT_ACTOR": "beta", "OA_TEST_START_FAULTS": "2"}
    sup = start_sup("alpha,beta,gamma", env=env, module="tests.runtime.start_fault_main", wait=False)
    wait_until(lambda: _all_running(sup, "alpha", "beta", "gamma"), 60, "every actor running")
    beta = sup.actor("beta")
    assert beta.restarts == 2
    assert "start failed: BlockingIOError" in beta.last_error and "injected fork failure" in beta.last_error
    assert "could not start beta" in sup.log()
    for name in ("alpha", "beta", "gamma"):
        assert sup.ask(name, Echo(n=2)) == Echo(n=2)
    sup.proc.send_signal(signal.SIGTERM)
    assert sup.wait_exit() == 0


def _all_running(sup: Sup, *names: str) -> bool:
    try:
        acts = {a.name: a for a in sup.status().actors}
    except (ConnectionError, OSError):
        return False
    return all(acts[n].state == "running" and acts[n].pid for n in names)


def test_a_failed_store_writer_loses_nothing(tmp_path: Path) -> None:
    """The store writer crash-loops (its store path is a folder: it cannot open it) and goes
    `failed` while sessions keep being written; the supervisor keeps running; once the cause is
    gone the writer's retry opens the store and every row arrives, exactly once."""
    sessions = tmp_path / "codex-home" / "sessions"
    first = write_sessions(sessions, 4, turns=2)
    sup = Supervisor(
        tmp_path,
        args=[
            "--actors",
            "convex_writer,sessions_tailer",
            "--max-restarts",
            "2",
            "--failed-retry",
            "2",
            "--failed-retry-max",
            "4",
        ],
    )
    blocker = sup.home / "store.sqlite3"
    blocker.mkdir(parents=True)
    sup.start(wait=False)
    try:
        wait_until(lambda: sup.actor("convex_writer")["state"] == "failed", 60, "the writer failed")
        writer = sup.actor("convex_writer")
        assert "IsADirectoryError" in writer["last_error"] and writer["retry_at"] > 0
        more = write_sessions(tmp_path / "later", 7, turns=1)[4:]  # three more, written live
        day = sessions / "2026" / "12" / "01"
        day.mkdir(parents=True)
        paths = first + [p.rename(day / p.name) for p in more]
        assert sup.proc is not None and sup.proc.poll() is None
        blocker.rmdir()  # the cause is fixed: the next retry opens the store
        want = {r["key"] for p in paths for r in rows_of(p)[0] if r["table"] == "messages"}

        def stored() -> set[str]:
            try:
                with sup.store() as st:
                    return {k for (k,) in st.conn.execute("SELECT key FROM messages")}
            except Exception:
                return set()

        wait_until(lambda: stored() == want, 120, "every row stored")
        with sup.store() as st:
            assert st.count("messages") == len(want) and st.count("threads") == len(paths)
        assert sup.actor("convex_writer")["state"] == "running"
        assert sup.proc.poll() is None
    finally:
        assert sup.stop() == 0
