"""FolderReconciler on real files with real inotify: create, edit, rename, delete; workingDir moves."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from oa_actors.fs.changes import Changes
from oa_actors.fs.files import delete_project, save_project
from oa_actors.fs.scan import Snapshot, scan
from oa_actors.fs.syncer import FolderReconciler
from tests.fs.helpers import listing, wait_for, write_project, write_skill


class Mirror:
    """What a downstream store would hold after applying every Changes batch."""

    def __init__(self) -> None:
        self.rows: dict[str, dict] = {}
        self.batches: list[Changes] = []
        self.fail_next = 0

    async def __call__(self, ch: Changes) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("store is down")
        self.batches.append(ch)
        for e in ch.project_upserts + ch.skill_upserts:
            self.rows[e.uid] = e.row
        for e in ch.project_removals + ch.skill_removals:
            self.rows.pop(e.uid, None)

    def has(self, uid: str, **fields) -> bool:
        row = self.rows.get(uid)
        return row is not None and all(row.get(k) == v for k, v in fields.items())


@pytest.fixture
def env(tmp_path: Path):
    home, reg, work = tmp_path / "home", tmp_path / "registry", tmp_path / "work"
    for d in (home, reg, work):
        d.mkdir()
    return home, reg, work


async def _started(home: Path, reg: Path | None, previous: Snapshot | None = None, **kw):
    mirror = Mirror()
    syncer = FolderReconciler(home, reg, mirror, debounce=0.05, rescan_interval=None, **kw)
    await syncer.start(previous)
    return syncer, mirror


async def test_start_reconcile_and_live_changes(env, tmp_path: Path):
    home, reg, work = env
    write_project(home, "p", "P", work)
    write_skill(work / "skills", "ps")
    write_skill(home / "skills", "us")
    write_skill(reg, "rs")
    syncer, m = await _started(home, reg)
    try:
        assert set(m.rows) == {"project:p", "skill:project:p:ps", "skill:user:-:us", "skill:registry:-:rs"}
        # create
        write_project(home, "q", "Q", work)
        write_skill(home / "skills", "new-skill")
        write_skill(reg, "reg2")
        await wait_for(lambda: m.has("project:q") and m.has("skill:project:q:ps"), what="project q")
        await wait_for(
            lambda: m.has("skill:user:-:new-skill") and m.has("skill:registry:-:reg2"), what="skills"
        )
        # edit
        write_skill(home / "skills", "us", description="edited")
        write_project(home, "p", "P renamed", work)
        await wait_for(lambda: m.has("skill:user:-:us", description="edited"), what="skill edit")
        await wait_for(lambda: m.has("project:p", name="P renamed"), what="project edit")
        # a project skill added in the workingDir
        write_skill(work / "skills", "later")
        await wait_for(
            lambda: m.has("skill:project:p:later") and m.has("skill:project:q:later"), what="proj skill"
        )
        # rename a skill folder and a project folder
        os.rename(home / "skills" / "new-skill", home / "skills" / "renamed")
        os.rename(home / "projects" / "q", home / "projects" / "q2")
        await wait_for(
            lambda: m.has("skill:user:-:renamed") and "skill:user:-:new-skill" not in m.rows,
            what="skill rename",
        )
        await wait_for(
            lambda: m.has("project:q2") and "project:q" not in m.rows and "skill:project:q:ps" not in m.rows,
            what="project rename",
        )
        # delete
        shutil.rmtree(reg / "rs")
        os.remove(work / "skills" / "later" / "SKILL.md")
        shutil.rmtree(home / "projects" / "p")
        await wait_for(lambda: "skill:registry:-:rs" not in m.rows, what="registry delete")
        await wait_for(lambda: "skill:project:q2:later" not in m.rows, what="project skill delete")
        await wait_for(lambda: not any(u.startswith(("project:p", "skill:project:p:")) for u in m.rows))
        # the mirror always equals a fresh scan
        await wait_for(lambda: m.rows == {u: e.row for u, e in _all(syncer.snapshot).items()})
        assert set(m.rows) == set(_all(scan(home, reg)))
        st = syncer.stats()
        assert st["events"] > 0 and st["scans"] > 1 and st["errorCount"] == 0
        assert any(w["path"] == str(work / "skills") for w in st["watched"])
    finally:
        await syncer.stop()


def _all(snap: Snapshot) -> dict:
    return {**snap.projects, **snap.skills}


async def test_working_dir_change_moves_project_skills(env, tmp_path: Path):
    home, _, work = env
    work2 = tmp_path / "work2"  # does not exist yet: watched through its parent
    write_skill(work / "skills", "one")
    write_project(home, "p", "P", work)
    syncer, m = await _started(home, None)
    try:
        assert m.has("skill:project:p:one")
        write_project(home, "p", "P", work2)
        await wait_for(lambda: m.has("project:p", workingDir=str(work2)), what="workingDir change")
        await wait_for(lambda: "skill:project:p:one" not in m.rows, what="old skills removed")
        # the new workingDir's skills folder appears later: picked up, and watched from then on
        write_skill(work2 / "skills", "two")
        await wait_for(lambda: m.has("skill:project:p:two"), what="new workingDir skills")
        write_skill(work2 / "skills", "two", description="edited")
        await wait_for(lambda: m.has("skill:project:p:two", description="edited"), what="edit in new dir")
        # edits in the old workingDir no longer matter
        write_skill(work / "skills", "ghost")
        write_skill(home / "skills", "marker")
        await wait_for(lambda: m.has("skill:user:-:marker"), what="marker")
        assert "skill:project:p:ghost" not in m.rows
    finally:
        await syncer.stop()


async def test_removals_found_at_start_from_previous(env):
    home, _, work = env
    write_project(home, "stay", "Stay", work)
    s = scan(home)
    prev_rows = s.export()
    gone = {**prev_rows["projects"][0], "id": "gone"}
    previous = Snapshot.from_rows(prev_rows["projects"] + [gone], [])
    syncer, m = await _started(home, None, previous)
    try:
        ch = m.batches[0]
        assert [e.row["id"] for e in ch.project_removals] == ["gone"]
    finally:
        await syncer.stop()


async def test_save_and_delete_through_the_syncer(env):
    home, _, work = env
    syncer, m = await _started(home, None)
    try:
        save_project(home, "app", {"name": "App", "workingDir": str(work)}, "# body\n")
        await wait_for(lambda: m.has("project:app", name="App"), what="saved project")
        save_project(home, "app", {"name": "App 2", "workingDir": str(work)})
        await wait_for(lambda: m.has("project:app", name="App 2"), what="re-saved project")
        assert delete_project(home, "app")
        await wait_for(lambda: "project:app" not in m.rows, what="deleted project")
    finally:
        await syncer.stop()


async def test_invalid_files_do_not_crash_and_are_reported(env, tmp_path: Path):
    home, _, _ = env
    write_skill(home / "skills", "fine")
    syncer, m = await _started(home, None)
    before_outside = listing(tmp_path / "registry")
    try:
        (home / "skills" / "bad").mkdir()
        (home / "skills" / "bad" / "SKILL.md").write_text("---\nname: Bad Name\ndescription: d\n---\n")
        (home / "skills" / "bin").mkdir()
        (home / "skills" / "bin" / "SKILL.md").write_bytes(os.urandom(4096) + b"\x00")
        big = home / "skills" / "big"
        big.mkdir()
        with (big / "SKILL.md").open("wb") as f:
            f.write(b"---\nname: big\ndescription: d\n---\n" + b"y" * (10 * 1024 * 1024))
        os.symlink(home / "skills", home / "skills" / "loop")
        os.symlink(tmp_path, home / "skills" / "escape")
        (home / "projects" / "broken.md").write_text("---\n: : :\n---\n")
        write_skill(home / "skills", "after")
        await wait_for(lambda: m.has("skill:user:-:after"), what="valid skill after bad ones")
        await wait_for(lambda: len(syncer.errors) >= 5, what="errors reported")
        text = "\n".join(str(e) for e in syncer.errors)
        for needle in ("kebab", "NUL", "byte limit", "outside the skills folder", "broken.md"):
            assert needle in text
        assert set(m.rows) == {"skill:user:-:fine", "skill:user:-:after"}
        assert listing(tmp_path / "registry") == before_outside
    finally:
        await syncer.stop()


async def test_failed_callback_is_retried(env):
    home, _, _ = env
    syncer, m = await _started(home, None, retry_delay=0.1)
    try:
        m.fail_next = 2
        write_skill(home / "skills", "s")
        await wait_for(lambda: m.has("skill:user:-:s"), what="retried delivery")
        assert syncer.stats()["callbackFailures"] == 2
    finally:
        await syncer.stop()


async def test_root_recreated_is_watched_again(env):
    home, _, _ = env
    syncer, m = await _started(home, None)
    try:
        write_skill(home / "skills", "a")
        await wait_for(lambda: m.has("skill:user:-:a"))
        shutil.rmtree(home / "skills")
        await wait_for(lambda: "skill:user:-:a" not in m.rows, what="root removed")
        (home / "skills").mkdir()
        write_skill(home / "skills", "b")
        await wait_for(lambda: m.has("skill:user:-:b"), what="skill in re-created root")
        write_skill(home / "skills", "c")
        await wait_for(lambda: m.has("skill:user:-:c"), what="second skill in re-created root")
    finally:
        await syncer.stop()


async def test_start_failure_stops_watching(env):
    home, _, _ = env
    write_skill(home / "skills", "s")
    m = Mirror()
    m.fail_next = 1
    syncer = FolderReconciler(home, None, m, rescan_interval=None)
    with pytest.raises(RuntimeError, match="store is down"):
        await syncer.start()
    assert syncer.stats()["watched"] == []
    assert syncer.snapshot.skills == {}  # nothing delivered, nothing kept
    await syncer.stop()


async def test_periodic_rescan_is_a_safety_net(env):
    home, _, _ = env
    m = Mirror()
    syncer = FolderReconciler(home, None, m, debounce=0.01, rescan_interval=0.2)
    await syncer.start()
    try:
        await wait_for(lambda: syncer.stats()["fullScans"] >= 3, what="periodic full rescans")
        assert m.batches == []  # nothing on disk, nothing changed: no empty batches
    finally:
        await syncer.stop()
