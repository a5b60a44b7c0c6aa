"""Start, status, single instance, shutdown (SIGTERM, SIGKILL, double Ctrl-C), logging, bad frames."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable

import psutil

from oa_actors.runtime.codec import Echo
from oa_actors.runtime.registry import DEFAULT_SPECS
from tests.runtime.fixture_actors import Cmd
from tests.runtime.helpers import Sup, alive, wait_until

SEVEN = [
    "convex_backend",
    "codex_runner",
    "sessions_tailer",
    "fs_syncer",
    "convex_writer",
    "indexer",
    "ws_gateway",
]


def _cli(sup: Sup, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OPENAGENTS_HOME=str(sup.home))
    env.pop("OA_ACTOR_SPECS", None)
    return subprocess.run(
        [sys.executable, "-m", "oa_actors", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_product_actors_run_status_refuse_and_stop_in_order(start_sup: Callable[..., Sup]) -> None:
    assert sorted(s.name for s in DEFAULT_SPECS) == sorted(SEVEN)
    sup = start_sup(",".join(SEVEN), specs=False)
    tree = sup.tree()
    assert len(tree) >= 7

    out = _cli(sup, "status", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    rows = {a["name"]: a for a in data["actors"]}
    assert set(rows) == set(SEVEN)
    for a in rows.values():
        assert a["state"] == "running" and a["pid"] and a["restarts"] == 0
        assert {"uptime", "inbox", "msgs_in", "msgs_out"} <= set(a)
    text = _cli(sup, "status")
    assert text.returncode == 0 and "ws_gateway" in text.stdout and "RESTARTS" in text.stdout
    for name in SEVEN:  # each product actor has a live lifecycle
        assert sup.ask(name, Echo(n=2)) == Echo(n=2)

    sock = sup.run_dir / "supervisor.sock"
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600

    second = _cli(sup, "run", "--actors", "ws_gateway")
    assert second.returncode != 0
    assert "already running" in second.stderr and str(sup.home) in second.stderr

    sup.proc.send_signal(signal.SIGTERM)
    assert sup.wait_exit() == 0
    wait_until(lambda: not alive(sup.seen), 10, "every process gone")
    log = sup.log()
    missing = [n for n in SEVEN if f"[{n}] oa.actors.{n}: stopping" not in log]
    assert not missing, log
    stops = [log.index(f"[{n}] oa.actors.{n}: stopping") for n in SEVEN]
    start_order = [s.name for s in sorted(DEFAULT_SPECS, key=lambda s: s.order)]
    stop_order = [n for _, n in sorted(zip(stops, SEVEN, strict=True))]
    assert stop_order == list(reversed(start_order))
    assert not sock.exists()
    assert (sup.home / "logs" / "supervisor.log").exists()


def test_sigkill_of_the_supervisor_takes_every_actor_down(start_sup: Callable[..., Sup]) -> None:
    sup = start_sup("alpha,beta,prober,sink")
    children = {pid: p for pid, p in sup.seen.items() if pid != sup.proc.pid}
    assert len(children) >= 4
    sup.proc.send_signal(signal.SIGKILL)
    t0 = time.monotonic()
    sup.proc.wait(10)
    wait_until(lambda: not alive(children), 10, "actors gone after the supervisor's SIGKILL")
    print(f"actors gone {time.monotonic() - t0:.3f}s after SIGKILL of the supervisor")


def test_grace_period_then_sigkill(start_sup: Callable[..., Sup]) -> None:
    sup = start_sup("alpha,slowstop", "--grace-period", "0.5")
    sup.proc.send_signal(signal.SIGTERM)
    assert sup.wait_exit() == 0
    assert "slowstop did not stop within 0.5s: SIGKILL" in sup.log()
    wait_until(lambda: not alive(sup.seen), 10, "every process gone")


def test_second_ctrl_c_forces_exit(start_sup: Callable[..., Sup]) -> None:
    sup = start_sup("alpha,slowstop", "--grace-period", "120")
    sup.proc.send_signal(signal.SIGINT)
    wait_until(lambda: "received SIGINT" in sup.log(), 30, "first interrupt handled")
    sup.proc.send_signal(signal.SIGINT)
    assert sup.wait_exit(60) == 130
    assert "second interrupt" in sup.log()
    wait_until(lambda: not alive(sup.seen), 10, "every process gone")


def test_actors_ignore_sigint_sent_to_them(start_sup: Callable[..., Sup]) -> None:
    sup = start_sup("alpha")
    pid = sup.actor("alpha").pid
    assert pid
    os.kill(pid, signal.SIGINT)
    assert sup.ask("alpha", Echo(n=3)) == Echo(n=3)
    assert sup.actor("alpha").pid == pid and psutil.Process(pid).is_running()


def test_ask_timeout_and_unknown_actor(start_sup: Callable[..., Sup]) -> None:
    sup = start_sup("prober,alpha")
    assert sup.ask("prober", Cmd(op="ask_timeout", arg="alpha")) == Cmd(op="timeout")
    reply = sup.ask("prober", Cmd(op="ask_unknown"))
    assert isinstance(reply, Cmd) and reply.op == "unavailable" and "nobody" in reply.arg


def test_bad_frames_are_logged_and_dropped(start_sup: Callable[..., Sup]) -> None:
    sup = start_sup("prober,alpha")
    reply = sup.ask("prober", Cmd(op="bad_frames", arg="alpha"), timeout=60)
    assert isinstance(reply, Cmd) and reply.op == "bad_frames" and reply.arg == "refused"
    st = sup.status()
    assert st.bad_frames >= 3  # garbage header, non-msgpack payload, oversized frame (router side)
    alpha = next(a for a in st.actors if a.name == "alpha")
    wait_until(lambda: next(a for a in sup.status().actors if a.name == "alpha").dropped >= 2, 30, "drops")
    assert alpha.restarts == 0 and all(a.restarts == 0 for a in st.actors)
    log = sup.log()
    assert "malformed frame" in log and "oversized frame" in log and "no.such.type" in log
    assert sup.ask("alpha", Echo(n=9)) == Echo(n=9)


def test_publish_subscribe(start_sup: Callable[..., Sup]) -> None:
    sup = start_sup("prober,alpha,beta")
    assert sup.ask("prober", Cmd(op="publish", n=50)) == Cmd(op="published", n=50)

    def got_all(name: str) -> Callable[[], bool]:
        return lambda: sup.ask(name, Cmd(op="published")) == Cmd(op="published", n=50)

    for name in ("alpha", "beta"):
        wait_until(got_all(name), 30, name)


def test_json_logs_name_the_actor(start_sup: Callable[..., Sup]) -> None:
    sup = start_sup("alpha,beta", "--log-json")
    sup.proc.send_signal(signal.SIGTERM)
    assert sup.wait_exit() == 0
    lines = [json.loads(x) for x in sup.log().splitlines() if x.startswith("{")]
    assert {x["actor"] for x in lines} >= {"supervisor", "alpha", "beta"}
    file_lines = (sup.home / "logs" / "supervisor.log").read_text().splitlines()
    assert all(json.loads(x)["actor"] for x in file_lines)


def test_log_lines_from_worker_threads_all_reach_the_log(start_sup: Callable[..., Sup]) -> None:
    """A line logged from a thread (to_thread workers, watch and checkpoint threads) used to be
    written to the loop's connection from that thread: it raced with the loop's writes, and when no
    flush was pending it failed ("no running event loop", a "Logging error" on stderr) and was lost."""
    sup = start_sup("alpha,prober")
    assert sup.ask("prober", Cmd(op="log_from_threads", n=200), timeout=60) == Cmd(op="logged", n=200)
    assert sup.ask("prober", Echo(n=1)) == Echo(n=1)
    wait_until(lambda: "line 199 from the loop" in sup.log(), 30, "the last line logged")
    log = sup.log()
    for i in range(200):
        assert f"line {i} from a worker thread" in log and f"line {i} from the loop" in log
    assert "Logging error" not in log and "no running event loop" not in log
    sup.proc.send_signal(signal.SIGTERM)
    assert sup.wait_exit() == 0


def test_spawn_start_method(start_sup: Callable[..., Sup]) -> None:
    sup = start_sup("alpha,beta", "--start-method", "spawn")
    pid = sup.actor("alpha").pid
    assert pid
    assert psutil.Process(pid).ppid() == sup.proc.pid  # spawned by the supervisor itself
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: (a := sup.actor("alpha")).restarts == 1 and a.state == "running", 30, "restart")
    assert sup.ask("alpha", Echo(n=4)) == Echo(n=4)
    sup.proc.send_signal(signal.SIGTERM)
    assert sup.wait_exit() == 0
    wait_until(lambda: not alive(sup.seen), 10, "every process gone")
