"""validate_id, save_project and delete_project: atomic writes, nothing outside OPENAGENTS_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from oa_actors.fs.files import delete_project, save_project, validate_id
from oa_actors.fs.formats import parse_project
from oa_actors.fs.scan import scan
from tests.fs.helpers import listing

BAD_IDS = [
    ("", "empty"),
    ("../../etc", "separator"),
    ("..", "relative path component"),
    (".", "relative path component"),
    ("/abs", "absolute"),
    ("/etc/passwd", "absolute"),
    ("a/b", "separator"),
    ("a\\b", "separator"),
    ("C:\\x", "absolute"),
    ("a\x00b", "NUL"),
    ("x" * 129, "longer than"),
    (".hidden", "starts with a dot"),
    ("a\nb", "control"),
    (" a", "whitespace"),
]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.mark.parametrize(("bad", "needle"), BAD_IDS)
def test_validate_id_rejects(bad: str, needle: str):
    with pytest.raises(ValueError) as ei:
        validate_id(bad)
    assert needle in str(ei.value)


def test_validate_id_accepts():
    for ok in ("demo", "My Project", "a.b", "a..b", "x" * 128, "proj-1_2"):
        assert validate_id(ok) == ok
    with pytest.raises(ValueError):
        validate_id(5)


@pytest.mark.parametrize(("bad", "_needle"), BAD_IDS)
def test_bad_ids_touch_nothing(tmp_path: Path, home: Path, bad: str, _needle: str):
    before = listing(tmp_path)
    with pytest.raises(ValueError):
        save_project(home, bad, {"name": "x", "workingDir": "/x"})
    with pytest.raises(ValueError):
        delete_project(home, bad)
    assert listing(tmp_path) == before


def test_save_creates_and_round_trips(home: Path):
    path = save_project(
        home,
        "demo",
        {"id": "ignored", "name": "Demo", "workingDir": "/w", "repo": {"url": "https://x"}, "updatedAt": 1},
        "# Hello\n",
    )
    assert path == Path(os.path.realpath(home)) / "projects" / "demo" / "PROJECT.md"
    doc = parse_project(path, "demo")
    assert doc.row["name"] == "Demo" and doc.row["repo"]["url"] == "https://x"
    assert "# Hello" in doc.body
    assert sorted(os.listdir(path.parent)) == ["PROJECT.md"]  # no temp file left behind
    # overwrite
    save_project(home, "demo", {"name": "Demo 2", "workingDir": "/w2", "body": "b2"})
    doc = parse_project(path, "demo")
    assert doc.row["name"] == "Demo 2" and doc.body.strip() == "b2"


def test_save_validates_fields_first(tmp_path: Path, home: Path):
    before = listing(tmp_path)
    with pytest.raises(ValueError, match="workingDir: is required"):
        save_project(home, "p", {"name": "x"})
    with pytest.raises(ValueError, match="sandbox"):
        save_project(home, "p", {"name": "x", "workingDir": "/x", "sandbox": "yolo"})
    with pytest.raises(ValueError, match="byte limit"):
        save_project(home, "p", {"name": "x", "workingDir": "/x"}, "y" * 2_000_000)
    assert listing(tmp_path) == before


def test_save_replaces_legacy_file(home: Path):
    (home / "projects").mkdir()
    (home / "projects" / "old.md").write_text("---\nname: Old\nworkingDir: /o\n---\n")
    save_project(home, "old", {"name": "New", "workingDir": "/o"})
    snap = scan(home)
    assert [e.row["name"] for e in snap.projects.values()] == ["New"]
    assert not (home / "projects" / "old.md").exists()


def test_save_refuses_symlink_escapes(tmp_path: Path, home: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (home / "projects").mkdir()
    os.symlink(outside, home / "projects" / "evil")
    before = listing(outside)
    with pytest.raises(ValueError, match="symlink"):
        save_project(home, "evil", {"name": "x", "workingDir": "/x"})
    assert listing(outside) == before
    # the projects folder itself pointing outside the home
    home2 = tmp_path / "home2"
    home2.mkdir()
    os.symlink(outside, home2 / "projects")
    with pytest.raises(ValueError, match="outside OPENAGENTS_HOME"):
        save_project(home2, "p", {"name": "x", "workingDir": "/x"})
    with pytest.raises(ValueError, match="outside OPENAGENTS_HOME"):
        delete_project(home2, "p")
    assert listing(outside) == before


def test_save_does_not_write_through_symlinked_file(tmp_path: Path, home: Path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    folder = home / "projects" / "p"
    folder.mkdir(parents=True)
    os.symlink(victim, folder / "PROJECT.md")
    save_project(home, "p", {"name": "x", "workingDir": "/x"})
    assert victim.read_text() == "keep me"
    assert not (folder / "PROJECT.md").is_symlink()


def test_delete(tmp_path: Path, home: Path):
    save_project(home, "a", {"name": "A", "workingDir": "/a"})
    (home / "projects" / "b.project.md").write_text("---\nname: B\nworkingDir: /b\n---\n")
    assert delete_project(home, "a") is True
    assert not (home / "projects" / "a").exists()
    assert delete_project(home, "b") is True
    assert not (home / "projects" / "b.project.md").exists()
    assert delete_project(home, "a") is False
    assert delete_project(tmp_path / "nohome", "a") is False
    # a folder with other files keeps them
    save_project(home, "c", {"name": "C", "workingDir": "/c"})
    (home / "projects" / "c" / "notes.txt").write_text("n")
    assert delete_project(home, "c") is True
    assert os.listdir(home / "projects" / "c") == ["notes.txt"]


def test_delete_symlinks_never_touch_targets(tmp_path: Path, home: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "PROJECT.md").write_text("---\nname: O\nworkingDir: /o\n---\n")
    (home / "projects").mkdir()
    os.symlink(outside, home / "projects" / "ext")
    os.symlink(outside / "PROJECT.md", home / "projects" / "ext2.md")
    before = listing(outside)
    assert delete_project(home, "ext") is True
    assert delete_project(home, "ext2") is True
    assert listing(outside) == before
    assert os.listdir(home / "projects") == []
