"""`codex_runner`: runs agent turns requested over the WS (`run.submit`) or enqueued in Convex.

Stdout lines are published on `runs.events` as they arrive (the gateway broadcasts them, tagged
with run and thread); run states go to the writer (local store) and, for runs with a Convex id,
to Convex `runs`. The rows of a run come from its rollout through the tailer, so there is one
source of rows. Verbs: `run.submit`, `interrupt`, `runs.list`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, ClassVar

import msgspec

from oa_actors import messages as m
from oa_actors.actors._base import LifecycleActor
from oa_actors.convex import backend
from oa_actors.convex.client import ConvexHttpClient
from oa_actors.runner import workdir
from oa_actors.runner.convex_runs import ConvexRuns
from oa_actors.runner.errors import RunError
from oa_actors.runner.manager import RunManager
from oa_actors.runtime.actor import ActorUnavailable, AskTimeout, Context
from oa_actors.runtime.codec import Message
from oa_actors.verbs import catalog as c
from oa_actors.verbs import events as ev
from oa_actors.verbs.dispatch import VerbFailure, VerbTable, ask_verb
from oa_actors.verbs.registry import ArgsError, ErrorCode, NoArgs


class CodexRunner(LifecycleActor):
    """Owns every agent child process (see the module docstring)."""

    verbs: ClassVar[VerbTable[CodexRunner]] = VerbTable(m.RUNNER)
    manager: RunManager | None = None
    convex: ConvexRuns | None = None

    async def setup(self, ctx: Context) -> None:
        sessions: dict[str, str] = {}
        with contextlib.suppress(AskTimeout, ActorUnavailable):
            reply = await ctx.ask(m.WRITER, m.GetSessions(), timeout=10.0)
            if isinstance(reply, m.Sessions):
                sessions = dict(reply.items)
        self.manager = RunManager(
            self._event,
            logs_dir=ctx.config.logs_dir / "runs",
            sessions=sessions,
            thread_folder=workdir.store_thread_folder(ctx.config.store_path),  # resumes run where they ran
            umask=ctx.config.user_umask,
            config=ctx.config,
        )
        self._client: ConvexHttpClient | None = None
        self._poll: asyncio.Task[None] | None = None
        target = backend.target(ctx.config)
        if target is not None:
            self._client = ConvexHttpClient(target.url, target.admin_key)
            self.convex = ConvexRuns(self._client, self._start_convex_run)
            self._poll = ctx.spawn(self.convex.poll_forever(), "convex-runs")

    async def on_stop(self) -> None:
        if self._poll is not None:
            self._poll.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll
        if self.manager is not None:
            await self.manager.stop()
        if self._client is not None:
            await self._client.close()
        await super().on_stop()

    async def _event(self, event: dict[str, Any]) -> None:
        if event["event"] == ev.RUN_STATE.name:
            await self.ctx.publish(
                m.TOPIC_RUNS, m.RunChanged(data=msgspec.convert(event["data"], ev.RunState))
            )
            await self.ctx.deliver(m.WRITER, m.RunUpdate(run=event["data"]))
            if self.convex is not None:
                await self.convex.mirror(event["data"])
        else:
            await self.ctx.publish(
                m.TOPIC_RUNS, m.RunOutput(data=msgspec.convert(event["data"], ev.RunStdout))
            )

    async def _start_convex_run(self, run: dict[str, Any]) -> None:
        fields = {k: run.get(k) for k in ("threadDocId", "text", "projectId", "resumeId")}
        try:
            await self._submit(c.RUN_SUBMIT.parse({**fields, "runId": run.get("_id")}))
        except (ArgsError, VerbFailure) as exc:
            self.ctx.log.warning("convex run %s not started: %s", run.get("_id"), exc)

    async def _project(self, project_id: str) -> dict[str, Any] | None:
        try:
            return (await ask_verb(self.ctx, c.PROJECT_GET, c.ProjectGet(id=project_id))).project
        except (AskTimeout, ActorUnavailable, VerbFailure):
            return None

    @verbs.handles(c.RUN_SUBMIT)
    async def _submit(self, args: c.RunSubmit) -> c.RunSubmitted:
        assert self.manager is not None
        project_id = args.projectId
        cwd = None
        provider = args.provider or "codex"
        if project_id:
            project = await self._project(project_id)
            if project is None:
                raise VerbFailure(ErrorCode.BAD_REQUEST, f"unknown project {project_id!r}")
            cwd = project.get("workingDir")
            if not args.provider and "claude" in str(project.get("agentFile") or "").lower():
                provider = "claude"
        run_id = args.runId
        if isinstance(run_id, str) and self.convex is not None:
            await self.convex.adopt(run_id)
        try:
            run = await self.manager.submit(
                args.threadDocId,
                args.text,
                cwd=cwd,
                project_id=project_id,
                resume_id=args.resumeId,
                provider=provider,
                run_id=run_id if isinstance(run_id, str) else None,
            )
        except RunError as exc:
            raise VerbFailure(ErrorCode.BAD_REQUEST, str(exc)) from None
        return c.RunSubmitted(
            runId=run.runId, threadDocId=run.threadDocId, status=run.status, provider=run.provider
        )

    @verbs.handles(c.INTERRUPT)
    async def _interrupt(self, args: c.Interrupt) -> c.Interrupted:
        assert self.manager is not None
        run = await self.manager.interrupt(run_id=args.runId, thread_doc_id=args.threadId)
        if run is None:
            raise VerbFailure(ErrorCode.NOT_FOUND, "no such run")
        return c.Interrupted(runId=run.runId, status=run.status)

    @verbs.handles(c.RUNS_LIST)
    async def _runs_list(self, args: NoArgs) -> c.RunsListed:
        assert self.manager is not None
        runs = [msgspec.convert(r.public(), ev.RunState) for r in self.manager.runs.values()]
        return c.RunsListed(runs=runs, **self.manager.status())

    async def on_message(self, msg: Message, sender: str) -> Message | None:
        if isinstance(msg, m.VerbRequest) and self.manager is not None:
            self.messages += 1
            return await self.verbs.dispatch(self, msg)
        return await super().on_message(msg, sender)

    def details(self) -> dict[str, Any]:
        d = self.manager.status() if self.manager is not None else {}
        if self.convex is not None:
            d["convex"] = {
                "claimed": self.convex.claimed,
                "errors": self.convex.errors,
                "lastError": self.convex.last_error,
            }
        return d
