"""Supervision with real processes: kill -9, in-flight messages, crash loops, health, restart types."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

from oa_actors.runtime.codec import Echo
from tests.runtime.fixture_actors import Cmd
from tests.runtime.helpers import Sup, alive, wait_until


def _seqs(sup: Sup, name: str) -> list[int]:
    path = sup.home / f"{name}.seqs"
    if not path.exists():
        return []
    return [int(x) for x in path.read_text().split()]


def _restarted(sup: Sup, name: str, old_pid: int) -> Callable[[], bool]:
    def check() -> bool:
        a = sup.actor(name)
        return a.state == "running" and a.pid not in (None, old_pid)

    return check


def test_kill_9_each_actor_in_turn(start_sup: Callable[..., Sup]) -> None:
    names = ["alpha", "beta", "prober", "sink"]
    sup = start_sup(",".join(names))
    for victim in names:
        before = sup.actor(victim)
        assert before.pid
        os.kill(before.pid, signal.SIGKILL)
        wait_until(_restarted(sup, victim, before.pid), 30, f"{victim} restarted")
        after = sup.actor(victim)
        assert after.restarts == before.restarts + 1
        assert "SIGKILL" in after.last_error
        # Every actor, the restarted one included, still answers.
        for name in names:
            assert sup.ask(name, Echo(n=5)) == Echo(n=5)
        assert sup.ask("prober", Cmd(op="count"), timeout=20)
    others = {a.name: a.restarts for a in sup.status().actors}
    assert others == dict.fromkeys(names, 1)
    sup.proc.send_signal(signal.SIGTERM)
    assert sup.wait_exit() == 0


def test_in_flight_data_is_delivered_at_least_once(start_sup: Callable[..., Sup]) -> None:
    """kill -9 the receiver in the middle of a reliable stream: after its restart every item arrives
    (duplicates allowed), because the sender retransmits what was not acknowledged."""
    sup = start_sup("prober,sink", env={"OA_TEST_SLOW_SINK": "1"})
    n = 5000
    assert sup.ask("prober", Cmd(op="start_stream", arg="sink", n=n)) == Cmd(op="started")
    wait_until(lambda: len(_seqs(sup, "sink")) > 200, 30, "part of the stream received")
    pid = sup.actor("sink").pid
    assert pid
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: sup.ask("prober", Cmd(op="stream_done")) == Cmd(op="unacked", n=0), 60, "all acked")
    seqs = _seqs(sup, "sink")
    assert set(seqs) == set(range(n))
    assert sup.actor("sink").restarts == 1
    sup.proc.send_signal(signal.SIGTERM)
    assert sup.wait_exit() == 0


def test_in_flight_data_over_a_direct_link(start_sup: Callable[..., Sup]) -> None:
    """Same contract when the stream uses a direct link: the link dies with the receiver, the
    sender falls back to the router and retransmits."""
    sup = start_sup("prober,sink", env={"OA_TEST_SLOW_SINK": "1"})
    assert sup.ask("prober", Cmd(op="link", arg="sink")) == Cmd(op="linked", n=1)
    n = 5000
    assert sup.ask("prober", Cmd(op="start_stream", arg="sink", n=n)) == Cmd(op="started")
    wait_until(lambda: len(_seqs(sup, "sink")) > 200, 30, "part of the stream received")
    routed_before = sup.actor("sink").msgs_out
    pid = sup.actor("sink").pid
    assert pid
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: sup.ask("prober", Cmd(op="stream_done")) == Cmd(op="unacked", n=0), 60, "all acked")
    assert set(_seqs(sup, "sink")) == set(range(n))
    assert routed_before < 200  # the first part went over the link, not the router


def test_tell_applies_backpressure_and_never_drops(start_sup: Callable[..., Sup]) -> None:
    sup = start_sup("prober,sink", env={"OA_TEST_SLOW_SINK": "1"})
    n = 3000  # the sink's inbox holds 64: the sender must wait, not drop
    assert sup.ask("prober", Cmd(op="flood", arg="sink", n=n), timeout=60) == Cmd(op="flooded", n=n)
    wait_until(lambda: sup.ask("sink", Cmd(op="items")) == Cmd(op="items", n=n), 60, "all items handled")
    assert _seqs(sup, "sink") == list(range(n))  # in order, exactly once


def test_a_slow_actor_with_a_full_inbox_is_not_taken_for_dead(start_sup: Callable[..., Sup]) -> None:
    """Its full inbox stops it reading (pings wait unread), but its heartbeats keep it alive."""
    env = {"OA_TEST_SLOW_SINK": "1", "OA_TEST_SLOW_SINK_DELAY": "0.05"}
    sup = start_sup("prober,sink", "--health-timeout", "1", env=env)
    n = 120  # 6 s of work; the inbox (64) stays full for longer than the health timeout
    assert sup.ask("prober", Cmd(op="flood", arg="sink", n=n), timeout=60) == Cmd(op="flooded", n=n)
    wait_until(lambda: sup.ask("sink", Cmd(op="items")) == Cmd(op="items", n=n), 60, "all items handled")
    assert sup.actor("sink").restarts == 0
    assert _seqs(sup, "sink") == list(range(n))


def test_crash_loop_marks_only_that_actor_failed(start_sup: Callable[..., Sup]) -> None:
    """Was `test_crash_loop_hits_the_intensity_limit` (exit 1). The budget is per actor now and the
    supervisor never gives up: the crash-looping actor is `failed`, the others keep running."""
    sup = start_sup("alpha,crasher", "--max-restarts", "3", "--restart-window", "30", wait=False)
    control_ok = wait_until(lambda: _state(sup, "crasher") == "failed", 60, "crasher failed")
    assert control_ok
    crasher = sup.actor("crasher")
    assert "boom from crasher" in crasher.last_error
    assert crasher.restarts == 4  # three restarts within the budget, the fourth one over it
    assert crasher.retry_at > 0
    assert sup.proc.poll() is None
    assert sup.ask("alpha", Echo(n=3)) == Echo(n=3)
    assert sup.actor("alpha").restarts == 0
    err = sup.log()
    assert "crasher failed: more than 3 quick failures in 30s" in err
    assert "boom from crasher" in err
    assert "restart intensity exceeded" not in err
    sup.proc.send_signal(signal.SIGTERM)
    assert sup.wait_exit() == 0
    assert "all actors stopped" in sup.log()


def _state(sup: Sup, name: str) -> str:
    return next((a.state for a in _try_status(sup) if a.name == name), "")


def test_unresponsive_actor_is_killed_and_restarted(start_sup: Callable[..., Sup]) -> None:
    sup = start_sup("alpha,beta", "--health-timeout", "1")
    pid = sup.actor("alpha").pid
    try:
        sup.ask("alpha", Cmd(op="hang"), timeout=0.5)
    except OSError:
        pass  # no reply: its loop is blocked
    wait_until(lambda: (a := sup.actor("alpha")).restarts == 1 and a.state == "running", 30, "restart")
    a = sup.actor("alpha")
    assert a.pid != pid
    assert a.last_error == "health check timeout"
    assert sup.ask("beta", Echo(n=1)) == Echo(n=1)
    assert sup.actor("beta").restarts == 0


def test_restart_types(start_sup: Callable[..., Sup]) -> None:
    sup = start_sup("alpha,temp", wait=True)
    # transient exiting normally: not restarted (started separately: it exits right after start)
    sup2 = start_sup("alpha,quitter", wait=False)
    control_wait = wait_until(
        lambda: any(a.name == "quitter" and a.state == "stopped" for a in _try_status(sup2)), 30, "quitter"
    )
    assert control_wait
    assert next(a for a in sup2.status().actors if a.name == "quitter").restarts == 0
    # temporary crashing: not restarted
    temp_pid = sup.actor("temp").pid
    assert temp_pid
    os.kill(temp_pid, signal.SIGKILL)
    wait_until(lambda: sup.actor("temp").state == "stopped", 30, "temp stopped")
    assert sup.actor("temp").restarts == 0
    # an actor crashing on a message (permanent): restarted
    try:
        sup.ask("alpha", Cmd(op="crash"), timeout=2)
    except (RuntimeError, OSError):
        pass
    wait_until(lambda: (a := sup.actor("alpha")).restarts == 1 and a.state == "running", 30, "alpha back")
    assert "crash requested" in sup.actor("alpha").last_error
    for s in (sup, sup2):
        s.proc.send_signal(signal.SIGTERM)
        assert s.wait_exit() == 0
        assert not alive(s.seen)


def _try_status(sup: Sup) -> list:
    try:
        return list(sup.status().actors)
    except (ConnectionError, OSError):
        return []


def test_an_exception_in_a_watch_thread_or_loop_callback_crashes_the_actor(
    start_sup: Callable[..., Sup], tmp_path: Path
) -> None:
    """No silent failure outside tasks either: a watchdog handler that raises in the observer's
    thread, or in the callback it hands to the event loop, crashes the actor (status shows it) where
    Python would only print it and carry on without the watch."""
    sup = start_sup("alpha,beta")
    for n, op in enumerate(("watch_raise_in_thread", "watch_raise_on_loop"), 1):
        folder = tmp_path / op
        folder.mkdir()
        before = sup.actor("alpha")
        assert sup.ask("alpha", Cmd(op=op, arg=str(folder))) == Cmd(op="watching")
        (folder / f"{op}.jsonl").write_text("{}\n")
        wait_until(_restarted(sup, "alpha", before.pid or 0), 30, f"alpha restarted after {op}")
        err = sup.actor("alpha").last_error
        kind = "thread 'Thread-" if op == "watch_raise_in_thread" else "callback '<"
        assert f"TaskFailed: {kind}" in err, err
        assert f"RuntimeError: handler bug on {op}.jsonl" in err
        assert sup.actor("alpha").restarts == n
    assert sup.actor("beta").restarts == 0
    assert sup.ask("alpha", Echo(n=9)) == Echo(n=9)
