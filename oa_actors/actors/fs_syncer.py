"""`fs_syncer`: projects and skills on disk, mirrored to the store (and from there to Convex).

A full reconcile at start against what the store holds (so deletions made while we were down are
found), then debounced watch events. Verbs: `projects`, `skills`, `project.save`,
`project.delete` (ids are validated; a bad one is an error reply and touches nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any

from oa_actors import messages as m
from oa_actors.actors._base import LifecycleActor, ask_when_ready
from oa_actors.fs import files
from oa_actors.fs.changes import Changes
from oa_actors.fs.scan import Snapshot
from oa_actors.fs.syncer import FsSyncer as FileSyncer
from oa_actors.runtime.actor import Context
from oa_actors.runtime.codec import Message


def registry_dir(home: Path) -> Path:
    """The shared skills registry folder (scope `registry`); OPENAGENTS_SKILLS_REGISTRY overrides."""
    return Path(os.environ.get("OPENAGENTS_SKILLS_REGISTRY") or home / "registry" / "skills")


def to_message(c: Changes) -> m.FsChanges:
    return m.FsChanges(
        project_upserts=[(e.row, e.path) for e in c.project_upserts],
        project_removals=[e.row["id"] for e in c.project_removals],
        skill_upserts=[(e.uid, e.row, e.path) for e in c.skill_upserts],
        skill_removals=[e.uid for e in c.skill_removals],
    )


class FsSyncer(LifecycleActor):
    """Owns the projects/skills folders and their watches."""

    syncer: FileSyncer | None = None

    async def setup(self, ctx: Context) -> None:
        previous = await self._previous(ctx)
        registry = registry_dir(ctx.config.home)
        if "OPENAGENTS_SKILLS_REGISTRY" not in os.environ or not os.environ["OPENAGENTS_SKILLS_REGISTRY"]:
            # The default registry lives in the home: create it (like projects/ and skills/), or its
            # absence is covered by a watch on the home itself, and every write of the store there
            # (store.sqlite3-wal/-shm) would wake the debounce and delay real changes by up to 2 s.
            with contextlib.suppress(OSError):
                registry.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.syncer = FileSyncer(ctx.config.home, registry, on_changes=self._changes, spawn=ctx.spawn)
        changes = await self.syncer.start(previous)
        for err in self.syncer.errors:
            ctx.log.warning("skipped invalid file: %s", err)
        ctx.log.info("reconciled projects and skills: %s", changes.counts())

    async def _previous(self, ctx: Context) -> Snapshot:
        reply = await ask_when_ready(ctx, m.WRITER, m.GetFsRows(), m.FsRows)
        assert isinstance(reply, m.FsRows)
        return Snapshot.from_rows(reply.projects, reply.skills, reply.project_paths)

    async def _changes(self, changes: Changes) -> None:
        # `deliver`: kept until the writer has committed it, resent if the writer restarts.
        await self.ctx.deliver(m.WRITER, to_message(changes))

    async def on_stop(self) -> None:
        if self.syncer is not None:
            await self.syncer.stop()
        await super().on_stop()

    async def on_message(self, msg: Message, sender: str) -> Message | None:
        if isinstance(msg, m.VerbRequest) and self.syncer is not None:
            self.messages += 1
            return await self._verb(msg.verb, msg.args)
        return await super().on_message(msg, sender)

    async def _verb(self, verb: str, args: dict[str, Any]) -> m.VerbReply:
        assert self.syncer is not None
        home = self.ctx.config.home
        snap = self.syncer.snapshot
        if verb == "projects":
            exported = snap.export()
            return m.ok(projects=exported["projects"], errors=[e.to_dict() for e in snap.errors])
        if verb == "skills":
            rows = snap.export()["skills"]
            source, pid = args.get("source"), args.get("projectId")
            rows = [
                r
                for r in rows
                if (source is None or r["source"] == source) and (pid is None or r.get("projectId") == pid)
            ]
            return m.ok(skills=rows)
        if verb == "project.get":
            e = snap.project(str(args.get("id", "")))
            return m.ok(project=e.row if e else None)
        if verb == "project.save":
            pid = args.get("id")
            fields = args.get("project", args.get("fields"))
            if not isinstance(fields, dict):
                return m.fail(
                    "bad_request", "project.save needs `id` and a `project` object (front matter fields)"
                )
            body = args.get("body") if isinstance(args.get("body"), str) else ""
            try:
                path = await asyncio.to_thread(files.save_project, home, pid, fields, body)  # type: ignore[arg-type]
            except ValueError as exc:
                return m.fail("bad_request", str(exc))
            await self.syncer.refresh()
            e = self.syncer.snapshot.project(str(pid))
            return m.ok(saved=True, path=str(path), project=e.row if e else None)
        if verb == "project.delete":
            try:
                removed = await asyncio.to_thread(files.delete_project, home, args.get("id"))  # type: ignore[arg-type]
            except ValueError as exc:
                return m.fail("bad_request", str(exc))
            await self.syncer.refresh()
            return m.ok(deleted=removed)
        return m.fail("unknown_verb", f"{verb} is not handled by the FS syncer")

    def details(self) -> dict[str, Any]:
        return self.syncer.stats() if self.syncer is not None else {}
