"""Comparing snapshots: `carry_over` (stabilize a new snapshot against the old) and `diff`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from oa_actors.fs.scan import Entry, Snapshot


def carry_over(old: Snapshot, new: Snapshot) -> Snapshot:
    """Make `new` stable against `old`, in place, and return it.

    - An entry whose content did not change keeps the old row (timestamps included).
    - A changed entry keeps the old `createdAt`.
    - An entry that is now invalid (an error names its uid) keeps its last good version instead of
      being removed; a held project also keeps its project skills. A deleted file has no error, so
      its row goes.
    """
    for table_new, table_old in ((new.projects, old.projects), (new.skills, old.skills)):
        for uid, e in list(table_new.items()):
            o = table_old.get(uid)
            if o is None:
                continue
            if o.content_key == e.content_key:
                table_new[uid] = replace(e, row=o.row)
            elif "createdAt" in o.row:
                table_new[uid] = replace(e, row={**e.row, "createdAt": o.row["createdAt"]})
    held = {e.uid for e in new.errors if e.uid}
    for uid in held:
        if uid in old.projects and uid not in new.projects:
            new.projects[uid] = old.projects[uid]
            pid = old.projects[uid].row["id"]
            if not new.skills_in(("project", pid)):
                new.skills.update(old.skills_in(("project", pid)))
        elif uid in old.skills and uid not in new.skills:
            new.skills[uid] = old.skills[uid]
    return new


@dataclass
class Changes:
    """What to send downstream: entries to upsert and entries (from the old snapshot) to remove."""

    project_upserts: list[Entry] = field(default_factory=list)
    project_removals: list[Entry] = field(default_factory=list)
    skill_upserts: list[Entry] = field(default_factory=list)
    skill_removals: list[Entry] = field(default_factory=list)
    #: `sync:applySkills` scopes: for each scope with removals, the skillIds still on disk.
    skill_scopes: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.project_upserts or self.project_removals or self.skill_upserts or self.skill_removals
        )

    def counts(self) -> dict[str, int]:
        return {
            "projectUpserts": len(self.project_upserts),
            "projectRemovals": len(self.project_removals),
            "skillUpserts": len(self.skill_upserts),
            "skillRemovals": len(self.skill_removals),
        }

    def convex_projects(self) -> dict[str, Any]:
        """Arguments for `sync:applyProjects`."""
        return {
            "upserts": [e.row for e in self.project_upserts],
            "removeIds": [e.row["id"] for e in self.project_removals],
        }

    def convex_skills(self) -> dict[str, Any]:
        """Arguments for `sync:applySkills`."""
        return {"upserts": [e.row for e in self.skill_upserts], "scopes": self.skill_scopes}


def diff(old: Snapshot, new: Snapshot) -> Changes:
    """Entries added or changed in content (not mtime) in `new`, and entries gone from `old`."""
    ch = Changes()
    for table_old, table_new, ups, rems in (
        (old.projects, new.projects, ch.project_upserts, ch.project_removals),
        (old.skills, new.skills, ch.skill_upserts, ch.skill_removals),
    ):
        for uid in sorted(table_new):
            o = table_old.get(uid)
            if o is None or o.content_key != table_new[uid].content_key:
                ups.append(table_new[uid])
        for uid in sorted(table_old.keys() - table_new.keys()):
            rems.append(table_old[uid])
    for source, pid in sorted({e.scope for e in ch.skill_removals}, key=str):
        keep = sorted(e.row["skillId"] for e in new.skills_in((source, pid)).values())
        ch.skill_scopes.append({"source": source, "projectId": pid, "keepSkillIds": keep})
    return ch
