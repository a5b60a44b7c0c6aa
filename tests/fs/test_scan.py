"""scan / rescan / carry_over / diff on real folders (no watching)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from oa_actors.fs.changes import carry_over, diff
from oa_actors.fs.scan import (
    PROJECTS,
    Snapshot,
    project_uid,
    rescan,
    scan,
    skill_uid,
)
from tests.fs.helpers import write_project, write_skill


@pytest.fixture
def env(tmp_path: Path) -> tuple[Path, Path, Path]:
    home, reg, work = tmp_path / "home", tmp_path / "registry", tmp_path / "work"
    for d in (home, reg, work):
        d.mkdir()
    return home, reg, work


def _step(old: Snapshot, home: Path, reg: Path | None):
    new = carry_over(old, scan(home, reg))
    return new, diff(old, new)


def test_scan_all_scopes_and_uids(env):
    home, reg, work = env
    write_project(home, "demo", "Demo", work)
    (home / "projects" / "legacy.project.md").write_text("---\nname: L\nworkingDir: /l\n---\n")
    (home / "projects" / "plain.md").write_text("---\nname: P\nworkingDir: /p\n---\n")
    write_skill(home / "skills", "mine")
    write_skill(reg / "group", "shared")  # nested registry layout
    write_skill(work / "skills", "local")
    snap = scan(home, reg)
    assert sorted(snap.projects) == ["project:demo", "project:legacy", "project:plain"]
    assert sorted(snap.skills) == ["skill:project:demo:local", "skill:registry:-:shared", "skill:user:-:mine"]
    assert snap.errors == []
    assert project_uid("demo") == "project:demo"
    assert skill_uid("project", "demo", "local") == "skill:project:demo:local"
    exported = snap.export()
    assert [p["id"] for p in exported["projects"]] == ["demo", "legacy", "plain"]
    local = snap.skills["skill:project:demo:local"]
    assert local.row["projectId"] == "demo" and local.row["path"] == str(
        work / "skills" / "local" / "SKILL.md"
    )


def test_duplicate_and_bad_ids(env):
    home, _, work = env
    write_project(home, "dup", "Folder", work)
    (home / "projects" / "dup.md").write_text("---\nname: Legacy\nworkingDir: /l\n---\n")
    (home / "projects" / " bad.md").write_text("---\nname: B\nworkingDir: /b\n---\n")
    (home / "projects" / ".hidden.md").write_text("garbage")
    (home / "projects" / "notes.txt").write_text("ignored")
    (home / "projects" / "empty-folder").mkdir()
    snap = scan(home)
    assert [e.row["name"] for e in snap.projects.values()] == ["Folder"]
    reasons = sorted(str(e) for e in snap.errors)
    assert len(reasons) == 2
    assert any("duplicate project id 'dup'" in r for r in reasons)
    assert any("whitespace" in r for r in reasons)


def test_invalid_files_reported_and_skipped(env):
    home, _, _ = env
    write_skill(home / "skills", "good")
    write_skill(home / "skills", "badname", name="Bad_Name")
    (home / "skills" / "bin").mkdir()
    (home / "skills" / "bin" / "SKILL.md").write_bytes(b"\x00\x01\x02binary")
    big = home / "skills" / "big"
    big.mkdir()
    with (big / "SKILL.md").open("wb") as f:
        f.write(b"---\nname: big\ndescription: d\n---\n" + b"x" * (10 * 1024 * 1024))
    (home / "skills" / "nofront").mkdir()
    (home / "skills" / "nofront" / "SKILL.md").write_text("hello")
    snap = scan(home)
    assert list(snap.skills) == ["skill:user:-:good"]
    by_path = {Path(e.path).parent.name: e for e in snap.errors}
    assert set(by_path) == {"badname", "bin", "big", "nofront"}
    assert by_path["badname"].field == "name" and "kebab" in by_path["badname"].reason
    assert "NUL" in by_path["bin"].reason
    assert "over the 1048576-byte limit" in by_path["big"].reason
    assert "front matter" in by_path["nofront"].reason
    assert by_path["badname"].uid == "skill:user:-:badname"


def test_symlink_loop_and_escape(env, tmp_path: Path):
    home, reg, _ = env
    skills = home / "skills"
    write_skill(skills / "group", "inner")
    os.symlink(skills, skills / "group" / "loop")  # loop back to the root
    os.symlink(skills / "group", skills / "alias")  # a second name for a folder already walked
    os.symlink("self", skills / "self")  # a link to itself (ELOOP)
    outside = tmp_path / "outside"
    write_skill(outside, "stolen")
    os.symlink(outside / "stolen", skills / "stolen")  # escapes the root
    os.symlink(outside / "stolen" / "SKILL.md", write_skill(skills, "x").parent / "SKILL.link")
    write_skill(reg, "ok")
    snap = scan(home, reg)
    assert sorted(snap.skills) == ["skill:registry:-:ok", "skill:user:-:inner", "skill:user:-:x"]
    assert any("outside the skills folder" in str(e) and "stolen" in e.path for e in snap.errors)
    # a project folder symlinked out of the projects folder
    (home / "projects").mkdir()
    write_project(outside, "ext", "Ext", outside)
    os.symlink(outside / "projects" / "ext", home / "projects" / "ext")
    snap = scan(home, reg)
    assert "project:ext" not in snap.projects
    assert any("outside the projects folder" in str(e) for e in snap.errors)


def test_skill_md_symlink_escape(env, tmp_path: Path):
    home, _, _ = env
    secret = tmp_path / "secret.md"
    secret.write_text("---\nname: secret\ndescription: d\n---\n")
    (home / "skills" / "s").mkdir(parents=True)
    os.symlink(secret, home / "skills" / "s" / "SKILL.md")
    snap = scan(home)
    assert snap.skills == {}
    assert "outside the skills folder" in snap.errors[0].reason


def test_diff_create_edit_rename_delete(env):
    home, reg, work = env
    old = Snapshot()
    write_project(home, "p", "P", work)
    write_skill(home / "skills", "a")
    s1, ch = _step(old, home, reg)
    assert [e.uid for e in ch.project_upserts] == ["project:p"]
    assert [e.uid for e in ch.skill_upserts] == ["skill:user:-:a"]
    assert not ch.project_removals and not ch.skill_removals
    # nothing changed on disk (or only the mtime): no changes
    os.utime(home / "skills" / "a" / "SKILL.md", (1, 1))
    s2, ch = _step(s1, home, reg)
    assert not ch
    assert s2.skills["skill:user:-:a"].row == s1.skills["skill:user:-:a"].row
    # edit
    write_skill(home / "skills", "a", description="changed")
    s3, ch = _step(s2, home, reg)
    assert [e.row["description"] for e in ch.skill_upserts] == ["changed"]
    assert ch.skill_upserts[0].row["createdAt"] == s1.skills["skill:user:-:a"].row["createdAt"]
    # rename skill folder a -> b
    os.rename(home / "skills" / "a", home / "skills" / "b")
    s4, ch = _step(s3, home, reg)
    assert [e.uid for e in ch.skill_upserts] == ["skill:user:-:b"]
    assert [e.uid for e in ch.skill_removals] == ["skill:user:-:a"]
    assert ch.skill_scopes == [{"source": "user", "projectId": None, "keepSkillIds": ["b"]}]
    assert ch.convex_skills()["scopes"] == ch.skill_scopes
    # delete project -> project removal
    os.remove(home / "projects" / "p" / "PROJECT.md")
    _s5, ch = _step(s4, home, reg)
    assert ch.convex_projects() == {"upserts": [], "removeIds": ["p"]}


def test_project_skills_follow_working_dir(env, tmp_path: Path):
    home, _, work = env
    work2 = tmp_path / "work2"
    write_skill(work / "skills", "one")
    write_skill(work2 / "skills", "two")
    write_project(home, "p", "P", work)
    s1 = scan(home)
    assert sorted(s1.skills) == ["skill:project:p:one"]
    write_project(home, "p", "P", work2)
    s2 = carry_over(s1, rescan(s1, home, None, [PROJECTS]))
    ch = diff(s1, s2)
    assert [e.uid for e in ch.skill_upserts] == ["skill:project:p:two"]
    assert [e.uid for e in ch.skill_removals] == ["skill:project:p:one"]
    assert ch.skill_scopes == [{"source": "project", "projectId": "p", "keepSkillIds": ["two"]}]
    # the project goes: its skills go too
    os.remove(home / "projects" / "p" / "PROJECT.md")
    s3 = carry_over(s2, rescan(s2, home, None, [PROJECTS]))
    ch = diff(s2, s3)
    assert [e.uid for e in ch.project_removals] == ["project:p"]
    assert [e.uid for e in ch.skill_removals] == ["skill:project:p:two"]
    assert ch.skill_scopes == [{"source": "project", "projectId": "p", "keepSkillIds": []}]


def test_invalid_edit_keeps_last_good_version(env):
    home, _, work = env
    write_skill(work / "skills", "k")
    write_project(home, "p", "P", work)
    write_skill(home / "skills", "s")
    s1 = scan(home)
    (home / "projects" / "p" / "PROJECT.md").write_text("---\nname: [broken\n---\n")
    (home / "skills" / "s" / "SKILL.md").write_text("---\nname: NotKebab\ndescription: d\n---\n")
    s2, ch = _step(s1, home, None)
    assert not ch  # invalid files are reported, and their rows are held, not removed
    assert len(s2.errors) == 2
    assert set(s2.skills) == set(s1.skills) and set(s2.projects) == set(s1.projects)
    # deleting the file (no error any more) removes
    os.remove(home / "skills" / "s" / "SKILL.md")
    _s3, ch = _step(s2, home, None)
    assert [e.uid for e in ch.skill_removals] == ["skill:user:-:s"]


def test_reconcile_against_store_rows(env):
    """Rows deleted on disk while we were down are found as removals at start."""
    home, _, work = env
    write_project(home, "keep", "Keep", work)
    write_skill(home / "skills", "kept")
    on_disk = scan(home)
    rows = on_disk.export()
    gone_project = {**rows["projects"][0], "id": "gone"}
    gone_skill = {**rows["skills"][0], "skillId": "gone", "path": "/nowhere/SKILL.md"}
    previous = Snapshot.from_rows(
        rows["projects"] + [gone_project],
        rows["skills"] + [gone_skill],
        project_paths={"keep": on_disk.projects["project:keep"].path},
    )
    new, ch = _step(previous, home, None)
    assert ch.convex_projects() == {"upserts": [], "removeIds": ["gone"]}
    assert ch.convex_skills() == {
        "upserts": [],
        "scopes": [{"source": "user", "projectId": None, "keepSkillIds": ["kept"]}],
    }
    assert not diff(new, carry_over(new, scan(home)))
