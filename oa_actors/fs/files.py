"""Write and remove project files safely (the `project.save` / `project.delete` WS verbs).

Ids are validated before any path is built. Every target is resolved and must stay inside the real
`$OPENAGENTS_HOME/projects` folder (a symlink cannot redirect a write or a delete outside it). Writes
go to a temp file in the target folder, are fsynced, then renamed over `PROJECT.md`, so a reader
sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Any

from oa_actors.fs.formats import MAX_FILE_BYTES, FsFormatError, project_fields, render_project

MAX_ID_LENGTH = 128
PROJECT_FILE = "PROJECT.md"
LEGACY_SUFFIXES = (".project.md", ".md")
#: Keys a client may send along with the fields that are row metadata, not front matter.
ROW_ONLY_KEYS = ("id", "createdAt", "updatedAt", "path", "body")


def validate_id(value: object) -> str:
    """Return `value` if it is a safe project/skill id, else raise `ValueError` saying why."""
    if not isinstance(value, str):
        raise ValueError(f"id must be a string, got {type(value).__name__}")
    if not value:
        raise ValueError("id is empty")
    if "\x00" in value:
        raise ValueError("id contains a NUL byte")
    if len(value) > MAX_ID_LENGTH:
        raise ValueError(f"id is longer than {MAX_ID_LENGTH} characters")
    if value.startswith("/") or value.startswith("\\") or os.path.isabs(value) or value[1:3] == ":\\":
        raise ValueError(f"id {value!r} is an absolute path")
    if value in (".", ".."):
        raise ValueError(f"id {value!r} is a relative path component")
    if "/" in value or "\\" in value or (os.altsep and os.altsep in value):
        raise ValueError(f"id {value!r} contains a path separator")
    if value.startswith("."):
        raise ValueError(f"id {value!r} starts with a dot")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("id contains control characters")
    if value != value.strip():
        raise ValueError("id has leading or trailing whitespace")
    return value


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def projects_root(home: Path, create: bool = False) -> Path:
    """The real path of `home/projects`; refuses one that is a symlink out of the home."""
    home_real = Path(os.path.realpath(home))
    root = home / "projects"
    if create:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not os.path.lexists(root):
            root.mkdir(mode=0o700, exist_ok=True)
    real = Path(os.path.realpath(root))
    if not _inside(real, home_real):
        raise ValueError(f"{root} resolves to {real}, outside OPENAGENTS_HOME")
    return real


def _clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(fields, dict):
        raise ValueError("fields must be a mapping")
    return {k: v for k, v in fields.items() if k not in ROW_ONLY_KEYS}


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temp file in the same folder, fsync, then rename."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(tmp, flags, 0o600)  # private, like everything under OPENAGENTS_HOME
    try:
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def save_project(
    home: Path, project_id: str, fields: dict[str, Any], body: str = "", max_bytes: int = MAX_FILE_BYTES
) -> Path:
    """Validate and write `projects/<id>/PROJECT.md` atomically; returns the file written.

    `fields` is the front matter (`name`, `workingDir` required; see schemas.py). Keys that are row
    metadata (`id`, `createdAt`, `updatedAt`, `path`) are ignored, and a `body` key is used as the
    body when `body` is empty. A legacy `<id>.project.md` / `<id>.md` is removed once the new file
    is in place. Raises `ValueError` (bad id, invalid fields, unsafe path) before touching anything.
    """
    validate_id(project_id)
    if not body and isinstance(fields, dict) and isinstance(fields.get("body"), str):
        body = fields["body"]
    clean = _clean_fields(fields)
    try:
        project_fields(clean, f"project {project_id}")
    except FsFormatError as exc:
        e = exc.error
        raise ValueError(f"{e.field}: {e.reason}" if e.field else e.reason) from None
    data = render_project(clean, body).encode("utf-8")
    if len(data) > max_bytes:
        raise ValueError(f"PROJECT.md would be {len(data)} bytes, over the {max_bytes}-byte limit")
    root = projects_root(home, create=True)
    folder = root / project_id
    if os.path.islink(folder):
        raise ValueError(f"project folder {folder} is a symlink; refusing to write through it")
    if os.path.lexists(folder) and not folder.is_dir():
        raise ValueError(f"{folder} exists and is not a folder")
    folder.mkdir(mode=0o700, exist_ok=True)
    target = folder / PROJECT_FILE
    if os.path.islink(target):
        os.unlink(target)  # replace the link itself, never write through it
    atomic_write(target, data)
    for suffix in LEGACY_SUFFIXES:
        legacy = root / f"{project_id}{suffix}"
        if os.path.lexists(legacy) and not os.path.isdir(legacy):
            os.unlink(legacy)
    return target


def delete_project(home: Path, project_id: str) -> bool:
    """Remove a project's PROJECT.md (and its folder when left empty) or its legacy file.

    Returns whether anything was removed. Raises `ValueError` for a bad id or a path that escapes
    the projects folder; nothing outside `$OPENAGENTS_HOME/projects` is ever removed.
    """
    validate_id(project_id)
    if not os.path.lexists(home / "projects"):
        return False
    root = projects_root(home)
    removed = False
    folder = root / project_id
    if os.path.islink(folder):
        os.unlink(folder)  # the link itself (inside the projects folder), never its target
        removed = True
    elif os.path.lexists(folder) and folder.is_dir():
        target = folder / PROJECT_FILE
        if os.path.lexists(target):
            os.unlink(target)  # unlinks a symlink itself, not what it points to
            removed = True
            _fsync_dir(folder)
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty
    for suffix in LEGACY_SUFFIXES:
        legacy = root / f"{project_id}{suffix}"
        if os.path.lexists(legacy) and not os.path.isdir(legacy):
            os.unlink(legacy)
            removed = True
    if removed:
        _fsync_dir(root)
    return removed
