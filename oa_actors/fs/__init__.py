"""The projects/skills file engine: formats, scanning, diffing, watching and safe writes.

Actor-independent: the `fs_syncer` actor wires `FolderReconciler` to the store and Convex, and the WS
gateway's `project.save` / `project.delete` call `save_project` / `delete_project`.
See docs/fs.md.
"""

from oa_actors.fs.changes import Changes, carry_over, diff
from oa_actors.fs.files import delete_project, save_project, validate_id
from oa_actors.fs.formats import FsError, FsFormatError, parse_project, parse_skill
from oa_actors.fs.scan import Entry, Snapshot, project_uid, rescan, scan, skill_uid
from oa_actors.fs.syncer import FolderReconciler

__all__ = [
    "Changes",
    "Entry",
    "FolderReconciler",
    "FsError",
    "FsFormatError",
    "Snapshot",
    "carry_over",
    "delete_project",
    "diff",
    "parse_project",
    "parse_skill",
    "project_uid",
    "rescan",
    "save_project",
    "scan",
    "skill_uid",
    "validate_id",
]
