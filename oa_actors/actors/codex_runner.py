"""`codex_runner`: runs agent turns requested over the WS (`run.submit`) or enqueued in Convex.

Stdout lines are published on `runs.events` as they arrive (the gateway broadcasts them, tagged
with run and thread); run states go to the writer (local store) and, for runs with a Convex id,
to Convex `runs`. The rows of a run come from its rollout through the tailer, so there is one
source of rows. Verbs: `run.submit`, `interrupt`, `runs.list`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from oa_actors import messages as m
from oa_actors.actors._base import LifecycleActor
from oa_actors.convex import backend
from oa_actors.convex.client import ConvexHttpClient
from oa_actors.runner import workdir
from oa_actors.runner.convex_runs import ConvexRuns
from oa_actors.runner.manager import RunError, RunManager
from oa_actors.runtime.actor import ActorUnavailable, AskTimeout, Context
from oa_actors.runtime.codec import Message


class CodexRunner(LifecycleActor):
    """Owns every agent child process (see the module docstring)."""

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
        await self.ctx.publish(m.TOPIC_RUNS, m.RunEvent(event=event["event"], data=event["data"]))
        if event["event"] == "run.state":
            await self.ctx.deliver(m.WRITER, m.RunUpdate(run=event["data"]))
            if self.convex is not None:
                await self.convex.mirror(event["data"])

    async def _start_convex_run(self, run: dict[str, Any]) -> None:
        await self._submit(
            {
                "threadDocId": run.get("threadDocId"),
                "text": run.get("text"),
                "projectId": run.get("projectId"),
                "resumeId": run.get("resumeId"),
                "runId": run.get("_id"),
            }
        )

    async def _project(self, project_id: str) -> dict[str, Any] | None:
        try:
            reply = await self.ctx.ask(
                m.FS, m.VerbRequest(verb="project.get", args={"id": project_id}), timeout=10.0
            )
        except (AskTimeout, ActorUnavailable):
            return None
        return reply.result.get("project") if isinstance(reply, m.VerbReply) and reply.ok else None

    async def _submit(self, args: dict[str, Any]) -> m.VerbReply:
        assert self.manager is not None
        project_id = args.get("projectId")
        cwd = None
        provider = args.get("provider") or "codex"
        if project_id:
            project = await self._project(str(project_id))
            if project is None:
                return m.fail("bad_request", f"unknown project {project_id!r}")
            cwd = project.get("workingDir")
            if not args.get("provider") and "claude" in str(project.get("agentFile") or "").lower():
                provider = "claude"
        run_id = args.get("runId")
        if isinstance(run_id, str) and self.convex is not None:
            await self.convex.adopt(run_id)
        try:
            run = await self.manager.submit(
                args.get("threadDocId") or "",  # submit refuses a missing or blank value
                args.get("text") or "",
                cwd=cwd,
                project_id=project_id,
                resume_id=args.get("resumeId"),
                provider=provider,
                run_id=run_id if isinstance(run_id, str) else None,
            )
        except RunError as exc:
            return m.fail("bad_request", str(exc))
        return m.ok(runId=run.runId, threadDocId=run.threadDocId, status=run.status, provider=run.provider)

    async def on_message(self, msg: Message, sender: str) -> Message | None:
        if isinstance(msg, m.VerbRequest) and self.manager is not None:
            self.messages += 1
            if msg.verb == "run.submit":
                return await self._submit(msg.args)
            if msg.verb == "interrupt":
                run_id, thread = (
                    msg.args.get("runId"),
                    msg.args.get("threadId") or msg.args.get("threadDocId"),
                )
                if not run_id and not thread:
                    return m.fail("bad_request", "interrupt needs runId or threadId")
                run = await self.manager.interrupt(run_id=run_id, thread_doc_id=thread)
                if run is None:
                    return m.fail("not_found", "no such run")
                return m.ok(runId=run.runId, status=run.status)
            if msg.verb == "runs.list":
                return m.ok(runs=[r.public() for r in self.manager.runs.values()], **self.manager.status())
            return m.fail("unknown_verb", f"{msg.verb} is not handled by the runner")
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
