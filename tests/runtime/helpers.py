"""Helpers for the runtime tests: a supervisor subprocess handle, process-table checks, polling."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from oa_actors.runtime import codec, control

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def wait_until(pred: Callable[[], object], deadline: float = 30.0, what: str = "condition") -> object:
    """Poll `pred` until it returns a truthy value (generous deadlines; no timing assertions)."""
    end = time.monotonic() + deadline
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Sup:
    """A running supervisor subprocess plus helpers to inspect and drive it."""

    def __init__(self, home: Path, proc: subprocess.Popen[bytes], log_path: Path) -> None:
        self.home = home
        self.proc = proc
        self.log_path = log_path
        self.run_dir = home / "run"
        # Every process ever observed in the tree (psutil objects notice pid reuse).
        self.seen: dict[int, psutil.Process] = {}

    def status(self) -> codec.StatusReply:
        reply = control.request_status(self.run_dir)
        for a in reply.actors:
            if a.pid and a.pid not in self.seen:
                with contextlib.suppress(psutil.NoSuchProcess):
                    self.seen[a.pid] = psutil.Process(a.pid)
        return reply

    def actor(self, name: str) -> codec.ActorStatus:
        return next(a for a in self.status().actors if a.name == name)

    def ask(self, actor: str, msg: codec.Message, timeout: float = 20.0) -> codec.Message:
        return control.ask(self.run_dir, actor, msg, timeout)

    def wait_running(self, *names: str, deadline: float = 30.0) -> None:
        def ok() -> bool:
            acts = {a.name: a for a in self.status().actors}
            return all(acts[n].state == "running" and acts[n].pid for n in names)

        wait_until(ok, deadline, f"{names} running")

    def tree(self) -> set[int]:
        """Pids of the supervisor and all its descendants (also remembered in `seen`)."""
        try:
            p = psutil.Process(self.proc.pid)
            procs = [p, *p.children(recursive=True)]
        except psutil.NoSuchProcess:
            return set()
        for c in procs:
            self.seen.setdefault(c.pid, c)
        return {c.pid for c in procs}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_exit(self, deadline: float = 60.0) -> int:
        return self.proc.wait(deadline)


def alive(procs: dict[int, psutil.Process]) -> set[int]:
    """The pids that still exist as the same real (non-zombie) processes."""
    out = set()
    for pid, p in procs.items():
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.add(pid)
        except psutil.NoSuchProcess:
            pass
    return out


class FakeConn:
    """Just enough of FrameProtocol for the router."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.write_paused = False
        self.closed = False
        self.reading = True

    def send(self, frame: bytes | memoryview) -> None:
        self.sent.append(bytes(frame))

    send_now = send

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True
