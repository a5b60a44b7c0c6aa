"""PROJECT.md / legacy / SKILL.md parsing: every field rule, limits, binary and YAML errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from oa_actors.fs.formats import (
    PROJECT_FIELDS,
    SKILL_FIELDS,
    FsError,
    FsFormatError,
    parse_project,
    parse_skill,
    read_text,
    render_project,
    split_front_matter,
)

# The exact field lists of projectRow / skillRow in convex/validators.ts.
CONVEX_PROJECT_FIELDS = {
    "id", "name", "workingDir", "description", "repo", "agentFile", "instructions",
    "approvals", "model", "sandbox", "createdAt", "updatedAt",
}  # fmt: skip
CONVEX_SKILL_FIELDS = {
    "skillId", "name", "description", "license", "allowedTools", "metadata",
    "source", "projectId", "path", "createdAt", "updatedAt",
}  # fmt: skip


def _project(tmp_path: Path, front: str, body: str = "", name: str = "PROJECT.md") -> Path:
    p = tmp_path / name
    p.write_text(f"---\n{front}---\n{body}")
    return p


def _skill(tmp_path: Path, front: str) -> Path:
    p = tmp_path / "SKILL.md"
    p.write_text(f"---\n{front}---\nInstructions.\n")
    return p


def _err(fn, *a, **kw) -> FsError:
    with pytest.raises(FsFormatError) as ei:
        fn(*a, **kw)
    return ei.value.error


def test_row_fields_match_convex_validators():
    assert set(PROJECT_FIELDS) == CONVEX_PROJECT_FIELDS
    assert set(SKILL_FIELDS) == CONVEX_SKILL_FIELDS


def test_full_project(tmp_path: Path):
    p = _project(
        tmp_path,
        "name: My App\nworkingDir: /src/app\ndescription: An app\n"
        "repo:\n  provider: github\n  remote: origin\n  url: https://github.com/o/r\n  branch: main\n"
        "agentFile: AGENTS.md\ninstructions: be brief\napprovals: on-request\nmodel: gpt-5\n"
        "sandbox: workspace-write\nunknownKey: ignored\n",
        body="# Notes\n\ntext\n",
    )
    doc = parse_project(p, "my-app")
    row = doc.row
    assert set(row) == CONVEX_PROJECT_FIELDS
    assert row["id"] == "my-app" and row["name"] == "My App" and row["workingDir"] == "/src/app"
    assert row["repo"] == {
        "provider": "github",
        "remote": "origin",
        "url": "https://github.com/o/r",
        "branch": "main",
    }
    assert (row["approvals"], row["sandbox"], row["model"]) == ("on-request", "workspace-write", "gpt-5")
    assert isinstance(row["createdAt"], int) and isinstance(row["updatedAt"], int)
    assert doc.body == "# Notes\n\ntext\n"
    assert doc.path == str(p)


def test_minimal_project_has_nulls(tmp_path: Path):
    row = parse_project(_project(tmp_path, "name: x\nworkingDir: ~/code\n"), "x").row
    assert row["workingDir"] == str(Path("~/code").expanduser())
    for k in ("description", "repo", "agentFile", "instructions", "approvals", "model", "sandbox"):
        assert row[k] is None


def test_legacy_file_same_format(tmp_path: Path):
    p = _project(tmp_path, "name: Old\nworkingDir: /old\n", name="old.project.md")
    assert parse_project(p, "old").row["name"] == "Old"


@pytest.mark.parametrize(
    ("front", "field", "needle"),
    [
        ("workingDir: /a\n", "name", "required"),
        ("name: x\n", "workingDir", "required"),
        ("name: ''\nworkingDir: /a\n", "name", ""),
        ("name: '   '\nworkingDir: /a\n", "name", "blank"),
        ("name: 3\nworkingDir: /a\n", "name", "string"),
        ("name: x\nworkingDir: relative/dir\n", "workingDir", "absolute"),
        ("name: x\nworkingDir: [1]\n", "workingDir", "string"),
        ("name: x\nworkingDir: /a\ndescription: [1, 2]\n", "description", "not of type"),
        ("name: x\nworkingDir: /a\nrepo: github\n", "repo", "not of type"),
        ("name: x\nworkingDir: /a\nrepo: {url: 5}\n", "repo.url", "not of type"),
        ("name: x\nworkingDir: /a\nagentFile: {a: 1}\n", "agentFile", "not of type"),
        ("name: x\nworkingDir: /a\ninstructions: 7\n", "instructions", "not of type"),
        ("name: x\nworkingDir: /a\napprovals: sometimes\n", "approvals", "must be one of"),
        ("name: x\nworkingDir: /a\nmodel: [gpt]\n", "model", "not of type"),
        ("name: x\nworkingDir: /a\nsandbox: yolo\n", "sandbox", "must be one of"),
    ],
)
def test_project_field_rules(tmp_path: Path, front: str, field: str, needle: str):
    e = _err(parse_project, _project(tmp_path, front), "p")
    assert e.field == field
    assert needle in e.reason
    assert str(e).startswith(f"{tmp_path / 'PROJECT.md'}: {field}: ")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("no front matter\n", "must start with a '---'"),
        ("---\nname: x\n", "not closed"),
        ("---\nname: [unclosed\n---\n", "invalid YAML front matter at line"),
        ("---\n- a\n- b\n---\n", "must be a mapping, got list"),
        ("---\njust a string\n---\n", "must be a mapping, got str"),
        ("---\n!!python/object:os.system {}\n---\n", "invalid YAML"),
    ],
)
def test_front_matter_errors(tmp_path: Path, text: str, needle: str):
    p = tmp_path / "PROJECT.md"
    p.write_text(text)
    e = _err(parse_project, p, "p")
    assert e.field is None and needle in e.reason


def test_empty_front_matter_reports_required(tmp_path: Path):
    e = _err(parse_project, _project(tmp_path, ""), "p")
    assert e.field == "name" and "required" in e.reason and "1 more" in e.reason


def test_binary_and_non_utf8(tmp_path: Path):
    p = tmp_path / "SKILL.md"
    p.write_bytes(b"---\nname: a\x00b\n---\n")
    assert "NUL" in _err(parse_skill, p, "a", "user").reason
    p.write_bytes(b"---\nname: \xff\xfe\n---\n")
    assert "not UTF-8" in _err(parse_skill, p, "a", "user").reason


def test_size_limit_without_reading_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    p = tmp_path / "SKILL.md"
    with p.open("wb") as f:
        f.write(b"---\nname: big\ndescription: big\n---\n")
        f.write(b"x" * (10 * 1024 * 1024))
    reads: list[int] = []
    import os

    real_read = os.read

    def counting_read(fd: int, n: int) -> bytes:
        reads.append(n)
        return real_read(fd, n)

    monkeypatch.setattr(os, "read", counting_read)
    e = _err(parse_skill, p, "big", "user")
    assert "over the 1048576-byte limit" in e.reason
    assert sum(reads) == 0  # rejected from fstat, nothing read
    monkeypatch.undo()
    # a configurable limit
    small = _skill(tmp_path, "name: s\ndescription: d\n")
    assert "over the 10-byte limit" in _err(parse_skill, small, "s", "user", max_bytes=10).reason


def test_fifo_is_not_read(tmp_path: Path):
    import os

    p = tmp_path / "SKILL.md"
    os.mkfifo(p)
    assert "not a regular file" in _err(read_text, p).reason


def test_yaml_alias_bomb_is_bounded(tmp_path: Path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    front = "name: bomb\ndescription: d\nmetadata:\n" + "".join(f"  {ln}\n" for ln in lines)
    e = _err(parse_skill, _skill(tmp_path, front), "bomb", "user")
    assert "too large" in e.reason


def test_full_skill(tmp_path: Path):
    p = _skill(
        tmp_path,
        "name: pdf-tools\ndescription: Work with PDFs\nlicense: MIT\n"
        "allowed-tools: [Read, Bash]\nmetadata: {version: '1.0', since: 2025-01-02}\n",
    )
    row = parse_skill(p, "pdf-tools", "project", "proj1")
    assert set(row) == CONVEX_SKILL_FIELDS
    assert row["skillId"] == "pdf-tools" and row["license"] == "MIT"
    assert row["allowedTools"] == ["Read", "Bash"]
    assert row["metadata"] == {"version": "1.0", "since": "2025-01-02"}
    assert (row["source"], row["projectId"], row["path"]) == ("project", "proj1", str(p))


def test_allowed_tools_string_forms(tmp_path: Path):
    p = _skill(tmp_path, "name: a\ndescription: d\nallowed-tools: 'Read, Grep Bash(git status:*)'\n")
    assert parse_skill(p, "a", "user")["allowedTools"] == ["Read", "Grep", "Bash(git status:*)"]


@pytest.mark.parametrize("name", ["pdf", "pdf-tools", "a1-b2-c3", "x" * 64])
def test_kebab_names_ok(tmp_path: Path, name: str):
    p = _skill(tmp_path, f"name: {name}\ndescription: d\n")
    assert parse_skill(p, name, "user")["name"] == name


@pytest.mark.parametrize(
    ("front", "field", "needle"),
    [
        ("description: d\n", "name", "required"),
        ("name: a\n", "description", "required"),
        ("name: PdfTools\ndescription: d\n", "name", "kebab case"),
        ("name: pdf_tools\ndescription: d\n", "name", "kebab case"),
        ("name: -pdf\ndescription: d\n", "name", "kebab case"),
        ("name: pdf--tools\ndescription: d\n", "name", "kebab case"),
        ("name: pdf-\ndescription: d\n", "name", "kebab case"),
        ("name: " + "x" * 65 + "\ndescription: d\n", "name", "too long"),
        ("name: a\ndescription: ''\n", "description", ""),
        ("name: a\ndescription: " + "d" * 1025 + "\n", "description", "too long"),
        ("name: a\ndescription: d\nlicense: [MIT]\n", "license", "not of type"),
        ("name: a\ndescription: d\nallowed-tools: 5\n", "allowed-tools", "list of tool names"),
        ("name: a\ndescription: d\nallowed-tools: [1]\n", "allowed-tools", "list of tool names"),
        ("name: a\ndescription: d\nmetadata: [1]\n", "metadata", "not of type"),
    ],
)
def test_skill_field_rules(tmp_path: Path, front: str, field: str, needle: str):
    e = _err(parse_skill, _skill(tmp_path, front), "a", "user")
    assert e.field == field
    assert needle in e.reason
    assert len(str(e)) < 600


def test_skill_scope_arguments(tmp_path: Path):
    p = _skill(tmp_path, "name: a\ndescription: d\n")
    with pytest.raises(ValueError):
        parse_skill(p, "a", "project")
    with pytest.raises(ValueError):
        parse_skill(p, "a", "user", "proj")
    with pytest.raises(ValueError):
        parse_skill(p, "a", "nope")


def test_render_round_trip(tmp_path: Path):
    fields = {"name": "R", "workingDir": "/r", "repo": {"url": "u", "branch": None}, "model": None}
    text = render_project(fields, "# body\n")
    front, body = split_front_matter(text)
    assert front == {"name": "R", "workingDir": "/r", "repo": {"url": "u"}}
    assert body == "\n# body\n"
