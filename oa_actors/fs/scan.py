"""Find every project and skill on disk (a `Snapshot`) and compare two snapshots (`diff`).

Scopes: `projects` (OPENAGENTS_HOME/projects), `user` skills (OPENAGENTS_HOME/skills), `registry`
skills (a configured folder) and `project` skills (`<workingDir>/skills` of each valid project).
Rows are keyed by a stable uid: `project:<id>` and `skill:<source>:<projectId or ->:<skillId>`.

Walks never follow a symlink whose target is outside the (resolved) root being scanned, and track
visited real paths so a symlink loop is walked once. Problems become `FsError`s, never exceptions.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from oa_actors.fs.files import PROJECT_FILE, validate_id
from oa_actors.fs.formats import MAX_FILE_BYTES, FsError, FsFormatError, parse_project, parse_skill

SKILL_FILE = "SKILL.md"
#: How deep below a skills root a SKILL.md may be (registry/<group>/<id>/SKILL.md is depth 2).
MAX_SKILL_DEPTH = 4

#: A scope: ("projects", None), ("user", None), ("registry", None) or ("project", <projectId>).
Scope = tuple[str, str | None]
PROJECTS: Scope = ("projects", None)
USER: Scope = ("user", None)
REGISTRY: Scope = ("registry", None)
TOP_SCOPES = frozenset({PROJECTS, USER, REGISTRY})


def project_uid(project_id: str) -> str:
    return f"project:{project_id}"


def skill_uid(source: str, project_id: str | None, skill_id: str) -> str:
    return f"skill:{source}:{project_id or '-'}:{skill_id}"


@dataclass(frozen=True)
class Entry:
    """One row found on disk: `row` is exactly the Convex row; `path`/`body` are extras."""

    uid: str
    kind: str  # "project" | "skill"
    row: dict[str, Any]
    path: str | None
    body: str | None = None

    @property
    def scope(self) -> Scope:
        if self.kind == "project":
            return PROJECTS
        return (self.row["source"], self.row["projectId"])

    @property
    def content_key(self) -> str:
        """What `diff` compares: the row without its timestamps, plus the file path."""
        r = {k: v for k, v in self.row.items() if k not in ("createdAt", "updatedAt")}
        return json.dumps([r, self.path], sort_keys=True, separators=(",", ":"))


@dataclass
class Snapshot:
    """Everything found on disk: entries by uid, and errors by scope."""

    projects: dict[str, Entry] = field(default_factory=dict)
    skills: dict[str, Entry] = field(default_factory=dict)
    scope_errors: dict[Scope, list[FsError]] = field(default_factory=dict)

    @property
    def errors(self) -> list[FsError]:
        return [e for scope in sorted(self.scope_errors, key=str) for e in self.scope_errors[scope]]

    def copy(self) -> Snapshot:
        return Snapshot(dict(self.projects), dict(self.skills), dict(self.scope_errors))

    def project(self, project_id: str) -> Entry | None:
        return self.projects.get(project_uid(project_id))

    def skills_in(self, scope: Scope) -> dict[str, Entry]:
        return {u: e for u, e in self.skills.items() if e.scope == scope}

    def export(self) -> dict[str, list[dict[str, Any]]]:
        """Rows as `oa-supervisor export` writes them: tables `projects` and `skills`."""
        return {
            "projects": [self.projects[u].row for u in sorted(self.projects)],
            "skills": [self.skills[u].row for u in sorted(self.skills)],
        }

    @classmethod
    def from_rows(
        cls,
        projects: Iterable[Mapping[str, Any]] = (),
        skills: Iterable[Mapping[str, Any]] = (),
        project_paths: Mapping[str, str | None] | None = None,
    ) -> Snapshot:
        """A snapshot of rows held elsewhere (the local store), used as the `previous` of a reconcile.

        Pass `project_paths` (id -> file path) when known: the path is part of what `diff` compares,
        so without it every project is upserted once (idempotently) by the first reconcile.
        """
        snap = cls()
        paths = project_paths or {}
        for p in projects:
            row = dict(p)
            snap.projects[project_uid(row["id"])] = Entry(
                project_uid(row["id"]), "project", row, paths.get(row["id"])
            )
        for s in skills:
            row = dict(s)
            uid = skill_uid(row["source"], row.get("projectId"), row["skillId"])
            snap.skills[uid] = Entry(uid, "skill", row, row.get("path"))
        return snap


def _inside(child: str, parent: str) -> bool:
    return child == parent or child.startswith(parent.rstrip(os.sep) + os.sep)


def _resolve_in(path: str, root_real: str) -> str | None:
    """The real path of `path` if it stays inside `root_real`, else None."""
    real = os.path.realpath(path)
    return real if _inside(real, root_real) else None


# -- projects ---------------------------------------------------------------------------------


def _project_candidates(root: Path, errors: list[FsError]) -> list[tuple[str, Path]]:
    """(id, file) pairs under the projects root, folder format first, duplicates reported."""
    root_real = os.path.realpath(root)
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as exc:
        errors.append(FsError(str(root), None, f"cannot list folder: {exc.strerror or exc}"))
        return []
    found: list[tuple[int, str, Path]] = []
    for e in entries:
        if e.name.startswith("."):
            continue  # hidden files, editors' swap files, our own temp files
        full = os.path.join(root, e.name)
        try:
            is_dir = e.is_dir(follow_symlinks=True)
        except OSError:
            is_dir = False
        if is_dir:
            if e.is_symlink() and _resolve_in(full, root_real) is None:
                errors.append(FsError(full, None, "symlink points outside the projects folder; skipped"))
                continue
            if os.path.lexists(os.path.join(full, PROJECT_FILE)):
                found.append((0, e.name, Path(full) / PROJECT_FILE))
        elif e.name.endswith(".project.md"):
            found.append((1, e.name[: -len(".project.md")], Path(full)))
        elif e.name.endswith(".md"):
            found.append((2, e.name[: -len(".md")], Path(full)))
    seen: dict[str, Path] = {}
    out: list[tuple[str, Path]] = []
    for _prio, pid, path in sorted(found):
        try:
            validate_id(pid)
        except ValueError as exc:
            errors.append(FsError(str(path), "id", f"{exc}; skipped"))
            continue
        if pid in seen:
            errors.append(FsError(str(path), "id", f"duplicate project id {pid!r} (using {seen[pid]})",
                                  project_uid(pid)))  # fmt: skip
            continue
        seen[pid] = path
        out.append((pid, path))
    return out


def scan_projects(home: Path, max_bytes: int = MAX_FILE_BYTES) -> tuple[dict[str, Entry], list[FsError]]:
    """Every valid project under `home/projects`, and the errors of the others."""
    root = home / "projects"
    errors: list[FsError] = []
    projects: dict[str, Entry] = {}
    if not root.is_dir():
        return projects, errors
    root_real = os.path.realpath(root)
    for pid, path in _project_candidates(root, errors):
        uid = project_uid(pid)
        if _resolve_in(str(path), root_real) is None:
            errors.append(FsError(str(path), None, "symlink points outside the projects folder", uid))
            continue
        try:
            doc = parse_project(path, pid, max_bytes)
        except FsFormatError as exc:
            errors.append(replace(exc.error, uid=uid))
            continue
        projects[uid] = Entry(uid, "project", doc.row, doc.path, doc.body)
    return projects, errors


# -- skills -----------------------------------------------------------------------------------


def _skill_dirs(root: Path, errors: list[FsError]) -> Iterator[tuple[str, Path]]:
    """(skillId, SKILL.md path) under `root`; symlinks followed only inside the root, loops cut."""
    root_real = os.path.realpath(root)
    visited = {root_real}
    stack: list[tuple[Path, str, int]] = [(root, root_real, 0)]
    while stack:
        logical, real, depth = stack.pop()
        try:
            entries = sorted(os.scandir(real), key=lambda e: e.name, reverse=True)
        except OSError as exc:
            errors.append(FsError(str(logical), None, f"cannot list folder: {exc.strerror or exc}"))
            continue
        names = {e.name for e in entries}
        if depth > 0 and SKILL_FILE in names:
            skill_md = logical / SKILL_FILE
            if _resolve_in(str(skill_md), root_real) is None:
                errors.append(FsError(str(skill_md), None, "symlink points outside the skills folder"))
            else:
                yield logical.name, skill_md
            continue  # a skill's own folders (scripts/, references/) hold no skills
        if depth >= MAX_SKILL_DEPTH:
            continue
        for e in entries:
            if e.name.startswith("."):
                continue
            try:
                if not e.is_dir(follow_symlinks=True):
                    continue
            except OSError:
                continue
            child_logical = logical / e.name
            if e.is_symlink():
                child_real = _resolve_in(os.path.join(real, e.name), root_real)
                if child_real is None:
                    errors.append(FsError(str(child_logical), None,
                                          "symlink points outside the skills folder; skipped"))  # fmt: skip
                    continue
            else:
                child_real = os.path.join(real, e.name)
            if child_real in visited:
                continue  # a symlink loop or a second link to a folder already walked
            visited.add(child_real)
            stack.append((child_logical, child_real, depth + 1))


def scan_skills(
    root: Path, source: str, project_id: str | None = None, max_bytes: int = MAX_FILE_BYTES
) -> tuple[dict[str, Entry], list[FsError]]:
    """Every valid skill of one scope under `root`, and the errors of the others."""
    errors: list[FsError] = []
    skills: dict[str, Entry] = {}
    if not root.is_dir():
        return skills, errors
    seen: dict[str, Path] = {}
    for skill_id, path in _skill_dirs(root, errors):
        uid = skill_uid(source, project_id, skill_id)
        try:
            validate_id(skill_id)
        except ValueError as exc:
            errors.append(FsError(str(path), "skillId", f"{exc}; skipped"))
            continue
        if skill_id in seen:
            errors.append(
                FsError(
                    str(path), "skillId", f"duplicate skill id {skill_id!r} (using {seen[skill_id]})", uid
                )
            )
            continue
        seen[skill_id] = path
        try:
            row = parse_skill(path, skill_id, source, project_id, max_bytes)
        except FsFormatError as exc:
            errors.append(replace(exc.error, uid=uid))
            continue
        skills[uid] = Entry(uid, "skill", row, str(path))
    return skills, errors


def project_skills_root(project: Entry) -> Path:
    """`<workingDir>/skills` of a project entry."""
    return Path(os.path.expanduser(project.row["workingDir"])) / "skills"


def scope_root(scope: Scope, home: Path, registry: Path | None, snap: Snapshot) -> Path | None:
    """The folder a scope lives in (None: a registry not configured, or an unknown project)."""
    kind, pid = scope
    if kind == "projects":
        return home / "projects"
    if kind == "user":
        return home / "skills"
    if kind == "registry":
        return registry
    p = snap.project(pid) if pid is not None else None
    return project_skills_root(p) if p is not None else None


# -- scanning ---------------------------------------------------------------------------------


def _replace_skill_scope(snap: Snapshot, scope: Scope, skills: dict[str, Entry], errs: list[FsError]) -> None:
    snap.skills = {u: e for u, e in snap.skills.items() if e.scope != scope}
    snap.skills.update(skills)
    if errs:
        snap.scope_errors[scope] = errs
    else:
        snap.scope_errors.pop(scope, None)


def rescan(
    old: Snapshot,
    home: Path,
    registry: Path | None,
    scopes: Iterable[Scope],
    max_bytes: int = MAX_FILE_BYTES,
) -> Snapshot:
    """A copy of `old` with the given scopes read again from disk.

    Rescanning `projects` also rescans the skills of every project that is new or whose
    `workingDir` changed, and drops the skills of projects that are gone.
    """
    home = Path(os.path.abspath(home))
    registry = Path(os.path.abspath(registry)) if registry is not None else None
    new = old.copy()
    wanted = set(scopes)
    project_scopes = {pid for kind, pid in wanted if kind == "project" and pid is not None}
    if PROJECTS in wanted:
        projects, errs = scan_projects(home, max_bytes)
        new.projects = projects
        _replace_skill_scope(new, PROJECTS, {}, errs)  # PROJECTS holds no skills: only sets errors
        before = {e.row["id"]: e.row["workingDir"] for e in old.projects.values()}
        after = {e.row["id"]: e.row["workingDir"] for e in projects.values()}
        for pid in before.keys() - after.keys():
            project_scopes.add(pid)
        for pid, wd in after.items():
            if before.get(pid) != wd:
                project_scopes.add(pid)
    for pid in sorted(project_scopes):
        scope: Scope = ("project", pid)
        entry = new.project(pid)
        if entry is None:
            _replace_skill_scope(new, scope, {}, [])
            continue
        skills, errs = scan_skills(project_skills_root(entry), "project", pid, max_bytes)
        _replace_skill_scope(new, scope, skills, errs)
    if USER in wanted:
        _replace_skill_scope(new, USER, *scan_skills(home / "skills", "user", None, max_bytes))
    if REGISTRY in wanted:
        if registry is None:
            _replace_skill_scope(new, REGISTRY, {}, [])
        else:
            _replace_skill_scope(new, REGISTRY, *scan_skills(registry, "registry", None, max_bytes))
    return new


def scan(home: Path, registry: Path | None = None, max_bytes: int = MAX_FILE_BYTES) -> Snapshot:
    """Read every project and skill: projects, user skills, registry skills, project skills."""
    return rescan(Snapshot(), home, registry, TOP_SCOPES, max_bytes)


__all__ = ["Entry", "Snapshot", "rescan", "scan"]
