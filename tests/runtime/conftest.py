"""Fixtures that run a real `oa-supervisor run` in a temp OPENAGENTS_HOME and clean up every process."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from oa_actors.runtime import control
from tests.runtime.helpers import ROOT, Sup, alive, wait_until


def _none_alive(procs: dict[int, psutil.Process]) -> Callable[[], bool]:
    return lambda: not alive(procs)


@pytest.fixture
def start_sup(tmp_path: Path) -> Iterator[Callable[..., Sup]]:
    """Factory: `start_sup("alpha,beta", "--grace-period", "1", env={...})` -> a running `Sup`
    (`module`: what `python -m` runs instead of `oa_actors`, e.g. a wrapper that injects faults)."""
    started: list[Sup] = []

    def start(
        actors: str,
        *args: str,
        env: dict[str, str] | None = None,
        specs: bool = True,
        wait: bool = True,
        module: str = "oa_actors",
    ) -> Sup:
        home = tmp_path / f"home{len(started)}"
        home.mkdir(exist_ok=True)  # a test may prepare it (e.g. a fault present from the start)
        e = dict(os.environ)
        e.pop("OA_ACTOR_SPECS", None)
        e.update(OPENAGENTS_HOME=str(home), CODEX_HOME=str(home / "codex"))
        e["PYTHONPATH"] = os.pathsep.join([str(ROOT), e.get("PYTHONPATH", "")])
        if specs:
            e["OA_ACTOR_SPECS"] = "tests.runtime.fixture_actors:SPECS"
        e.update(env or {})
        log_path = home / "stderr.log"
        cmd = [
            sys.executable,
            "-m",
            module,
            "run",
            "--actors",
            actors,
            "--health-interval",
            "0.2",
            *args,
        ]
        with open(log_path, "wb") as err:
            proc = subprocess.Popen(cmd, env=e, stdout=subprocess.DEVNULL, stderr=err, cwd=home)
        sup = Sup(home, proc, log_path)
        started.append(sup)
        if wait:
            control.wait_for_status(sup.run_dir, 30)
            sup.wait_running(*actors.split(","))
            sup.tree()
        return sup

    yield start
    for sup in started:
        sup.tree()
        if sup.proc.poll() is None:
            sup.proc.send_signal(signal.SIGKILL)
            sup.proc.wait(10)
        # Whatever happened, no process of the tree may survive.
        try:
            wait_until(_none_alive(sup.seen), 10, "no leftover processes")
        finally:
            for pid in alive(sup.seen):
                with contextlib.suppress(psutil.NoSuchProcess):
                    sup.seen[pid].kill()
