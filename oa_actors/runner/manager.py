"""`RunManager`: spawns agent CLIs for runs and tracks them (used by the `codex_runner` actor).

- Each run is its own process group, so `interrupt` signals exactly that run (never a stale pid:
  a finished run is never signalled).
- Runs of one thread queue; runs of different threads go in parallel up to `max_parallel`.
- Resume is per thread: the app's thread id maps to the agent's session id learnt from the run's
  own output (`thread.started` for Codex); there is no global "last" session.
- A run works in its project's folder, else where its thread ran (earlier runs, or the mirrored
  thread's `cwd` from the store), else in $HOME, with a warning when a resumed thread's folder is
  unknown or gone (oa_actors/runner/workdir.py).
- Stdout lines are handed to `on_event` as they arrive; stderr goes to the run's log file.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from oa_actors.config import Config
from oa_actors.runner import workdir
from oa_actors.runner.errors import RunError
from oa_actors.runner.providers import Provider, provider_for

log = logging.getLogger("oa.runner")

TERMINAL = frozenset({"done", "failed", "interrupted"})
INTERRUPT_GRACE = 3.0


@dataclass
class Run:
    """One agent turn requested by a client."""

    runId: str
    threadDocId: str
    text: str
    provider: str = "codex"
    projectId: str | None = None
    cwd: str | None = None
    resumeId: str | None = None
    sessionId: str | None = None
    status: str = "pending"
    exitCode: int | None = None
    error: str | None = None
    pid: int | None = None
    warning: str | None = None
    createdAt: int = field(default_factory=lambda: int(time.time() * 1000))
    updatedAt: int = field(default_factory=lambda: int(time.time() * 1000))
    lines: int = 0

    def public(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("pid", None)
        return d


def session_key(provider: str, thread_doc_id: str) -> str:
    """Key of the session map: sessions belong to one agent CLI and one app thread."""
    return f"{provider}:{thread_doc_id}"


EventSink = Callable[[dict[str, Any]], Awaitable[None]]


class RunManager:
    """Owns every agent child process of this supervisor."""

    def __init__(
        self,
        on_event: EventSink,
        *,
        logs_dir: Path,
        sessions: dict[str, str] | None = None,
        max_parallel: int = 4,
        env: dict[str, str] | None = None,
        thread_folder: workdir.ThreadFolder | None = None,
        umask: int = 0o022,
        config: Config | None = None,
    ) -> None:
        self._on_event = on_event
        self.umask = umask  # the user's own: the agent writes in the user's project, not our home
        self.logs_dir = logs_dir
        # "<provider>:<threadDocId>" -> that agent's session id: a thread that switches agents never
        # hands one agent's session id to the other's --resume.
        self.sessions: dict[str, str] = dict(sessions or {})
        self.thread_dirs: dict[str, str] = {}  # threadDocId -> working dir of its last run
        self.max_parallel = max_parallel
        self.env = env
        self.config = config
        self.thread_folder = thread_folder  # a mirrored thread's own folder (its cwd in the store)
        self.runs: dict[str, Run] = {}
        self._queues: dict[str, list[str]] = {}  # threadDocId -> waiting run ids (FIFO)
        self._active: dict[str, str] = {}  # threadDocId -> running run id
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._interrupted: set[str] = set()

    # -- requests -----------------------------------------------------------------------------------
    async def submit(
        self,
        thread_doc_id: str,
        text: str,
        *,
        cwd: str | None = None,
        project_id: str | None = None,
        resume_id: str | None = None,
        provider: str = "codex",
        run_id: str | None = None,
    ) -> Run:
        """Queue a run; it starts when its thread is free and a slot is available."""
        if not isinstance(thread_doc_id, str) or not thread_doc_id:
            raise RunError("threadDocId must be a non-empty string")
        if not isinstance(text, str) or not text.strip():
            raise RunError("text must be a non-empty string")
        provider_for(provider)  # raises RunError for an unknown provider
        if cwd and not Path(cwd).is_dir():
            raise RunError(f"working directory {cwd!r} does not exist")
        # A resumed session must run where it started: the thread's earlier runs, else the mirrored
        # thread's own folder; never the supervisor's cwd.
        session = resume_id or self.sessions.get(session_key(provider, thread_doc_id))
        where = await asyncio.to_thread(
            workdir.choose,
            project_dir=cwd,
            earlier_dir=self.thread_dirs.get(thread_doc_id),
            thread_ids=[t for t in (session, thread_doc_id) if t],
            thread_folder=self.thread_folder,
            resuming=session is not None,
        )
        if where.warning:
            log.warning("run for thread %s: %s", thread_doc_id, where.warning)
        cwd = where.path
        if where.warning is None:  # a fallback is not the thread's folder: look again next time
            self.thread_dirs[thread_doc_id] = cwd
        run = Run(
            runId=run_id or uuid.uuid4().hex,
            threadDocId=thread_doc_id,
            text=text,
            provider=provider,
            projectId=project_id,
            cwd=cwd,
            resumeId=resume_id,
            warning=where.warning,
        )
        if run.runId in self.runs:
            return self.runs[run.runId]  # the same request delivered twice
        self.runs[run.runId] = run
        self._queues.setdefault(thread_doc_id, []).append(run.runId)
        await self._emit_state(run)
        self._schedule()
        return run

    async def interrupt(self, run_id: str | None = None, thread_doc_id: str | None = None) -> Run | None:
        """Interrupt one run (by id, or the running run of a thread); pending runs are cancelled."""
        run = self.runs.get(run_id) if run_id else None
        if run is None and thread_doc_id:
            active = self._active.get(thread_doc_id)
            run = self.runs.get(active) if active else None
            if run is None:
                queued = self._queues.get(thread_doc_id) or []
                run = self.runs.get(queued[0]) if queued else None
        if run is None or run.status in TERMINAL:
            return run
        if run.status == "pending":
            queue = self._queues.get(run.threadDocId, [])
            if run.runId in queue:
                queue.remove(run.runId)
            run.status = "interrupted"
            await self._emit_state(run)
            return run
        proc = self._procs.get(run.runId)
        if proc is not None and proc.returncode is None:
            self._interrupted.add(run.runId)
            self._signal(proc, signal.SIGINT)
            task = asyncio.create_task(self._escalate(run.runId, proc))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return run

    def _signal(self, proc: asyncio.subprocess.Process, sig: int) -> None:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)  # the run's own group: its children too

    async def _escalate(self, run_id: str, proc: asyncio.subprocess.Process) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                await asyncio.wait_for(asyncio.shield(proc.wait()), INTERRUPT_GRACE)
                return
            except TimeoutError:
                self._signal(proc, sig)

    async def stop(self) -> None:
        """Interrupt every running run and wait for them (supervisor shutdown)."""
        for run_id, proc in list(self._procs.items()):
            if proc.returncode is None:
                self._interrupted.add(run_id)
                self._signal(proc, signal.SIGTERM)
        for proc in list(self._procs.values()):
            try:
                await asyncio.wait_for(proc.wait(), INTERRUPT_GRACE)
            except TimeoutError:
                self._signal(proc, signal.SIGKILL)
        for t in list(self._tasks):
            t.cancel()

    # -- scheduling ---------------------------------------------------------------------------------
    def _schedule(self) -> None:
        for thread, queue in list(self._queues.items()):
            if len(self._active) >= self.max_parallel:
                return
            if thread in self._active or not queue:
                continue
            run_id = queue.pop(0)
            self._active[thread] = run_id
            task = asyncio.create_task(self._execute(self.runs[run_id]), name=f"run-{run_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _execute(self, run: Run) -> None:
        try:
            await self._run_process(run)
        except Exception as exc:  # a spawn failure fails the run, never the actor
            log.exception("run %s failed to start", run.runId)
            run.status, run.error = "failed", f"{type(exc).__name__}: {exc}"
            await self._emit_state(run)
        finally:
            self._active.pop(run.threadDocId, None)
            self._procs.pop(run.runId, None)
            self._schedule()

    async def _run_process(self, run: Run) -> None:
        provider: Provider = provider_for(run.provider)
        session = run.resumeId or self.sessions.get(session_key(run.provider, run.threadDocId))
        # The supervisor's Config; a manager built without one (tests) loads it when a run starts.
        config = self.config or Config.from_env()
        argv = provider.argv(session_id=session, cwd=run.cwd, config=config)
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.logs_dir / f"run-{run.runId}.log"
        with open(log_path, "ab") as stderr:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                cwd=run.cwd or None,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                start_new_session=True,
                # `umask=` is refused by uvloop (the actors' loop); preexec_fn only makes the call.
                preexec_fn=functools.partial(os.umask, self.umask),
                env=provider.env(self.env, config),
                limit=64 * 1024 * 1024,
            )
        self._procs[run.runId] = proc
        run.pid, run.status = proc.pid, "running"
        await self._emit_state(run)
        assert proc.stdin is not None and proc.stdout is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.write(provider.stdin(run.text))
            await proc.stdin.drain()
            proc.stdin.close()
        while True:
            try:
                raw = await proc.stdout.readline()
            except ValueError:  # a line over the limit: skip it, keep streaming
                log.warning("run %s: skipped an oversized stdout line", run.runId)
                continue
            if not raw:
                break
            await self._on_line(run, provider, raw)
        code = await proc.wait()
        run.exitCode = code
        if run.runId in self._interrupted:
            run.status = "interrupted"
        elif code == 0:
            run.status = "done"
        else:
            run.status = "failed"
            run.error = run.error or f"exited with code {code}"
        await self._emit_state(run)

    async def _on_line(self, run: Run, provider: Provider, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not text:
            return
        try:
            event: Any = json.loads(text)
        except ValueError:
            event = text  # banners and non-JSON noise are still shown, as text
        run.lines += 1
        session = provider.session_id(event)
        if session and run.sessionId != session:
            run.sessionId = session
            self.sessions[session_key(run.provider, run.threadDocId)] = session
            await self._emit_state(run)
        await self._on_event(
            {
                "event": "run.stdout",
                "data": {
                    "runId": run.runId,
                    "threadDocId": run.threadDocId,
                    "provider": run.provider,
                    "line": event,
                },
            }
        )

    async def _emit_state(self, run: Run) -> None:
        run.updatedAt = int(time.time() * 1000)
        await self._on_event({"event": "run.state", "data": run.public()})

    def status(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for r in self.runs.values():
            counts[r.status] = counts.get(r.status, 0) + 1
        return {
            "active": len(self._active),
            "queued": sum(len(q) for q in self._queues.values()),
            "byStatus": counts,
            "maxParallel": self.max_parallel,
        }
