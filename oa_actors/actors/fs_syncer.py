"""`fs_syncer`: projects and skills on disk, mirrored to the store (and from there to Convex).

A full reconcile at start against what the store holds (so deletions made while we were down are
found), then debounced watch events. Verbs: `projects`, `skills`, `project.save`,
`project.delete` (ids are validated; a bad one is an error reply and touches nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any, ClassVar

from oa_actors import messages as m
from oa_actors.actors._base import LifecycleActor, ask_when_ready
from oa_actors.fs import files
from oa_actors.fs.changes import Changes
from oa_actors.fs.scan import Snapshot
from oa_actors.fs.syncer import FolderReconciler
from oa_actors.runtime.actor import Context
from oa_actors.runtime.codec import Message
from oa_actors.verbs import catalog as c
from oa_actors.verbs.dispatch import VerbFailure, VerbTable
from oa_actors.verbs.registry import ErrorCode, NoArgs


def to_message(changes: Changes) -> m.FsChanges:
    return m.FsChanges(
        project_upserts=[(e.row, e.path) for e in changes.project_upserts],
        project_removals=[e.row["id"] for e in changes.project_removals],
        skill_upserts=[(e.uid, e.row, e.path) for e in changes.skill_upserts],
        skill_removals=[e.uid for e in changes.skill_removals],
    )


def slug(name: str) -> str:
    """A project id from its name when the app sends none: `My App!` -> `my-app`."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64]


class FsSyncer(LifecycleActor):
    """Owns the projects/skills folders and their watches."""

    verbs: ClassVar[VerbTable[FsSyncer]] = VerbTable(m.FS)
    syncer: FolderReconciler | None = None

    async def setup(self, ctx: Context) -> None:
        previous = await self._previous(ctx)
        registry = ctx.config.skills_registry_dir
        if ctx.config.skills_registry is None:
            # The default registry lives in the home: create it (like projects/ and skills/), or its
            # absence is covered by a watch on the home itself, and every write of the store there
            # (store.sqlite3-wal/-shm) would wake the debounce and delay real changes by up to 2 s.
            with contextlib.suppress(OSError):
                registry.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.syncer = FolderReconciler(ctx.config.home, registry, on_changes=self._changes, spawn=ctx.spawn)
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
            return await self.verbs.dispatch(self, msg)
        return await super().on_message(msg, sender)

    @property
    def _snapshot(self) -> Snapshot:
        assert self.syncer is not None
        return self.syncer.snapshot

    @verbs.handles(c.PROJECTS)
    async def _projects(self, args: NoArgs) -> c.ProjectsListed:
        snap = self._snapshot
        return c.ProjectsListed(projects=snap.export()["projects"], errors=[e.to_dict() for e in snap.errors])

    @verbs.handles(c.SKILLS)
    async def _skills(self, args: c.Skills) -> c.SkillsListed:
        rows = self._snapshot.export()["skills"]
        pid = args.projectId
        return c.SkillsListed(skills=[r for r in rows if pid is None or r.get("projectId") == pid])

    @verbs.handles(c.PROJECT_GET)
    async def _project_get(self, args: c.ProjectGet) -> c.ProjectFound:
        e = self._snapshot.project(args.id)
        return c.ProjectFound(project=e.row if e else None)

    @verbs.handles(c.PROJECT_SAVE)
    async def _project_save(self, args: c.ProjectSave) -> c.ProjectSaved:
        assert self.syncer is not None
        fields = dict(args.project)
        pid = fields.pop("id", None) or slug(str(fields.get("name", "")))
        body = fields.pop("body", "")
        try:
            path = await asyncio.to_thread(
                files.save_project, self.ctx.config.home, pid, fields, body if isinstance(body, str) else ""
            )
        except ValueError as exc:
            raise VerbFailure(ErrorCode.BAD_REQUEST, str(exc)) from None
        await self.syncer.refresh()
        e = self.syncer.snapshot.project(str(pid))
        return c.ProjectSaved(saved=True, path=str(path), project=e.row if e else None)

    @verbs.handles(c.PROJECT_DELETE)
    async def _project_delete(self, args: c.ProjectDelete) -> c.ProjectDeleted:
        assert self.syncer is not None
        try:
            removed = await asyncio.to_thread(files.delete_project, self.ctx.config.home, args.projectId)
        except ValueError as exc:
            raise VerbFailure(ErrorCode.BAD_REQUEST, str(exc)) from None
        await self.syncer.refresh()
        return c.ProjectDeleted(deleted=removed)

    def details(self) -> dict[str, Any]:
        return self.syncer.stats() if self.syncer is not None else {}
