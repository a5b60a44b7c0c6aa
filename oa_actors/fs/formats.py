"""Parse PROJECT.md, legacy project files and SKILL.md into rows shaped like the Convex validators.

Rows carry exactly the fields of `projectRow` / `skillRow` in convex/validators.ts, with `None` for
absent optional values (the validators accept null). A file is read with a size limit (checked on
the open descriptor before reading, and enforced while reading), must be UTF-8 without NUL bytes,
and must start with YAML front matter (`---` ... `---`) parsed by `yaml.safe_load` into a mapping.
Every problem raises `FsFormatError` carrying an `FsError(path, field, reason)`.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from oa_actors.fs.schemas import PROJECT_VALIDATOR, SKILL_VALIDATOR, validate
from oa_actors.regular_files import NotRegularFile, open_regular

#: Default per-file size limit (PROJECT.md, SKILL.md): 1 MiB.
MAX_FILE_BYTES = 1024 * 1024
#: Bound on the nodes of parsed front matter (YAML aliases can expand exponentially).
MAX_NODES = 10_000
MAX_DEPTH = 32

PROJECT_FIELDS = (
    "id", "name", "workingDir", "description", "repo", "agentFile", "instructions",
    "approvals", "model", "sandbox", "createdAt", "updatedAt",
)  # fmt: skip
SKILL_FIELDS = (
    "skillId", "name", "description", "license", "allowedTools", "metadata",
    "source", "projectId", "path", "createdAt", "updatedAt",
)  # fmt: skip
REPO_FIELDS = ("provider", "remote", "url", "branch")
SKILL_SOURCES = ("user", "registry", "project")


@dataclass(frozen=True)
class FsError:
    """One problem with one file: which file, which field (None for the whole file), and why."""

    path: str
    field: str | None
    reason: str
    #: the uid of the row this file would have produced, when known (see scan.py)
    uid: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}: {self.field}" if self.field else self.path
        return f"{where}: {self.reason}"

    def to_dict(self) -> dict[str, str | None]:
        return {"path": self.path, "field": self.field, "reason": self.reason, "uid": self.uid}


class FsFormatError(Exception):
    """A file that cannot become a row; `.error` says which file, field and why."""

    def __init__(self, error: FsError) -> None:
        super().__init__(str(error))
        self.error = error


def _fail(path: Path | str, field: str | None, reason: str) -> FsFormatError:
    return FsFormatError(FsError(str(path), field, reason))


@dataclass(frozen=True)
class FileText:
    """A decoded file and the times of its stat (ms since the epoch)."""

    text: str
    created_ms: int
    modified_ms: int


def read_text(path: Path, max_bytes: int = MAX_FILE_BYTES) -> FileText:
    """Read a small UTF-8 text file; reject non-regular, oversized and binary files.

    The file is opened non-blocking (a FIFO named SKILL.md must not hang the scan), its size is
    checked with fstat before anything is read, and at most `max_bytes + 1` bytes are ever read
    (the file may grow between fstat and read).
    """
    try:
        fd, st = open_regular(path)
    except NotRegularFile as exc:
        raise _fail(path, None, f"not a regular file ({exc.kind})") from None
    except OSError as exc:
        raise _fail(path, None, f"cannot open: {exc.strerror or exc}") from None
    try:
        if st.st_size > max_bytes:
            raise _fail(path, None, f"file is {st.st_size} bytes, over the {max_bytes}-byte limit")
        chunks: list[bytes] = []
        left = max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        raw = b"".join(chunks)
    except OSError as exc:
        raise _fail(path, None, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(raw) > max_bytes:
        raise _fail(path, None, f"file is over the {max_bytes}-byte limit")
    if b"\x00" in raw:
        raise _fail(path, None, "binary file (contains NUL bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(path, None, f"not UTF-8 text (invalid byte at offset {exc.start})") from None
    created = getattr(st, "st_birthtime", None) or min(st.st_ctime, st.st_mtime)
    return FileText(text.removeprefix("\ufeff"), int(created * 1000), int(st.st_mtime * 1000))


def split_front_matter(text: str, path: Path | str = "") -> tuple[dict[str, Any], str]:
    """Split `---\\n<yaml>\\n---\\n<body>` into (mapping, body). The YAML must be a mapping."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != "---":
        raise _fail(path, None, "no YAML front matter (the file must start with a '---' line)")
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    if end is None:
        raise _fail(path, None, "front matter is not closed (no second '---' line)")
    source = "".join(lines[1:end])
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise _fail(path, None, f"invalid YAML front matter{where}: {problem}") from None
    except RecursionError:
        raise _fail(path, None, "invalid YAML front matter: nested too deeply") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _fail(path, None, f"front matter must be a mapping, got {type(data).__name__}")
    body = "".join(lines[end + 1 :])
    return data, body


def to_json(value: Any, path: Path | str = "", field: str = "") -> Any:
    """A JSON-safe copy of YAML data: dates become ISO strings, keys strings; bounded in size."""
    budget = [MAX_NODES]

    def conv(v: Any, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0 or depth > MAX_DEPTH:
            raise _fail(path, field, "value is too large or nested too deeply")
        if v is None or isinstance(v, bool | int | str):
            return v
        if isinstance(v, float):
            if v != v or v in (float("inf"), float("-inf")):
                raise _fail(path, field, "NaN and infinite numbers are not allowed")
            return v
        if isinstance(v, _dt.date | _dt.datetime):
            return v.isoformat()
        if isinstance(v, bytes):
            raise _fail(path, field, "binary values are not allowed")
        if isinstance(v, dict):
            return {str(k): conv(x, depth + 1) for k, x in v.items()}
        if isinstance(v, list | tuple | set):
            return [conv(x, depth + 1) for x in v]
        return str(v)

    return conv(value, 0)


def _check(validator: Any, data: dict[str, Any], path: Path | str) -> None:
    problems = validate(validator, data)
    if problems:
        field, reason = problems[0]
        if len(problems) > 1:
            reason += f" (and {len(problems) - 1} more: " + "; ".join(f"{f}: {r}" for f, r in problems[1:4])
            reason += ")"
        raise _fail(path, field, reason)


def _norm_str(v: Any) -> str | None:
    return None if v is None else str(v)


def project_fields(front: dict[str, Any], path: Path | str = "") -> dict[str, Any]:
    """Validate front matter and return the project fields (no id, no timestamps); `None` if absent."""
    data = to_json(front, path, "(front matter)")
    _check(PROJECT_VALIDATOR, data, path)
    repo = data.get("repo")
    out: dict[str, Any] = {
        "name": data["name"].strip(),
        "workingDir": os.path.expanduser(data["workingDir"]),
        "description": data.get("description"),
        "repo": {k: _norm_str(repo.get(k)) for k in REPO_FIELDS} if isinstance(repo, dict) else None,
    }
    for k in ("agentFile", "instructions", "approvals", "model", "sandbox"):
        out[k] = data.get(k)
    return out


@dataclass(frozen=True)
class ProjectDoc:
    """A parsed project: the Convex row plus what the row does not carry (file path, Markdown body)."""

    row: dict[str, Any]
    body: str
    path: str


def parse_project(path: Path, project_id: str, max_bytes: int = MAX_FILE_BYTES) -> ProjectDoc:
    """Parse `projects/<id>/PROJECT.md` or a legacy `<id>.project.md` / `<id>.md` file."""
    ft = read_text(path, max_bytes)
    front, body = split_front_matter(ft.text, path)
    fields = project_fields(front, path)
    row = {"id": project_id, **fields, "createdAt": ft.created_ms, "updatedAt": ft.modified_ms}
    return ProjectDoc({k: row[k] for k in PROJECT_FIELDS}, body, str(path))


def _split_tools(text: str) -> list[str]:
    """Split "Read, Grep Bash(git status:*)" on commas and spaces outside parentheses."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        if depth == 0 and (ch == "," or ch.isspace()):
            if cur:
                out.append("".join(cur))
                cur = []
            continue
        cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out


def _allowed_tools(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return _split_tools(value)
    return [str(x).strip() for x in value]


def parse_skill(
    path: Path,
    skill_id: str,
    source: str,
    project_id: str | None = None,
    max_bytes: int = MAX_FILE_BYTES,
) -> dict[str, Any]:
    """Parse a SKILL.md (Agent Skills format) into a skill row for scope (source, projectId)."""
    if source not in SKILL_SOURCES:
        raise ValueError(f"unknown skill source {source!r}")
    if (source == "project") != (project_id is not None):
        raise ValueError("projectId is required for project skills and only for them")
    ft = read_text(path, max_bytes)
    front, _body = split_front_matter(ft.text, path)
    data = to_json(front, path, "(front matter)")
    _check(SKILL_VALIDATOR, data, path)
    row = {
        "skillId": skill_id,
        "name": data["name"],
        "description": data["description"].strip(),
        "license": data.get("license"),
        "allowedTools": _allowed_tools(data.get("allowed-tools")),
        "metadata": data.get("metadata"),
        "source": source,
        "projectId": project_id,
        "path": str(path),
        "createdAt": ft.created_ms,
        "updatedAt": ft.modified_ms,
    }
    return {k: row[k] for k in SKILL_FIELDS}


def render_project(fields: dict[str, Any], body: str = "") -> str:
    """The text of a PROJECT.md for validated `fields` (None values omitted) and a Markdown body."""
    order = ["name", "workingDir", "description", "repo", "agentFile", "instructions",
             "approvals", "model", "sandbox"]  # fmt: skip
    keys = [k for k in order if k in fields] + sorted(k for k in fields if k not in order)
    clean: dict[str, Any] = {}
    for k in keys:
        v = fields[k]
        if isinstance(v, dict):
            v = {kk: vv for kk, vv in v.items() if vv is not None}
        if v is None or v == {}:
            continue
        clean[k] = v
    front = yaml.safe_dump(clean, sort_keys=False, allow_unicode=True, default_flow_style=False)
    body = body.lstrip("\n")
    return f"---\n{front}---\n" + (f"\n{body}" if body else "")
