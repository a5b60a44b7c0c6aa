"""Projects and skills on disk, end to end: a real `oa-supervisor run` draining into the Convex emulator.

Files are created, edited, renamed and deleted under OPENAGENTS_HOME while the supervisor runs; the
local store, `oa-supervisor export` and Convex (`projects:list`, `skills:listAll`,
`skills:listByScope`) must follow, removals included. Invalid inputs are reported, never crash
anything, and nothing is written outside OPENAGENTS_HOME. The WS verbs `project.save` /
`project.delete` write and remove the files; bad ids are error replies that touch nothing.

Propagation times (disk -> store, disk -> Convex) are measured and printed, never asserted.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from oa_actors.convex.client import ConvexHttpClient
from oa_actors.store import fs_tables
from tests.support import convex_emulator
from tests.support.convex_emulator import ConvexEmulator
from tests.support.supervisor import ROOT, Supervisor
from tests.support.ws_client import Client

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not convex_emulator.available(), reason="node_modules missing: run `make test` (npm ci)"
    ),
]

DEADLINE = 30.0  # generous: the goal is "within a second", measured and printed, not asserted
TIMINGS: list[tuple[str, float | None, float | None]] = []


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Supervisor, ConvexEmulator, Path]]:
    tmp = tmp_path_factory.mktemp("fs-sync")
    emu = ConvexEmulator().start()
    sup = Supervisor(
        tmp,
        env={
            "OPENAGENTS_CONVEX_URL": emu.url,
            "OPENAGENTS_CONVEX_ADMIN_KEY": emu.admin_key,
            "OPENAGENTS_CONVEX_DEPLOY": "0",
        },
    )
    try:
        sup.start()
        yield sup, emu, tmp
    finally:
        try:
            if sup.proc is not None:
                assert sup.stop() == 0
        finally:
            emu.stop()
            if TIMINGS:
                print("\npropagation times (s): disk -> store, disk -> Convex")
                for label, ts, tc in TIMINGS:
                    print(f"  {label:<42} store {_fmt(ts)}  convex {_fmt(tc)}")


def _fmt(t: float | None) -> str:
    return "   -  " if t is None else f"{t:6.3f}"


@asynccontextmanager
async def ws_client(sup: Supervisor) -> AsyncIterator[Client]:
    async with connect(
        sup.bridge_url, additional_headers={"Authorization": f"Bearer {sup.token}"}, max_size=8 << 20
    ) as ws:
        c = Client(ws)
        try:
            yield c
        finally:
            c.task.cancel()


# -- views of the three places -------------------------------------------------------------------


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    """A row as Convex stores it: nulls absent, no system fields."""
    return {k: v for k, v in row.items() if v is not None and not k.startswith("_")}


def skey(row: dict[str, Any]) -> tuple[str, str | None, str]:
    return (row["source"], row.get("projectId"), row["skillId"])


def store_view(sup: Supervisor) -> dict[str, Any]:
    with sup.store() as st:
        return {
            "projects": {p["id"]: p for p in fs_tables.projects(st)},
            "skills": {skey(s): s for s in fs_tables.skills(st)},
        }


def _unstamped(project: dict[str, Any]) -> dict[str, Any]:
    """A Convex project without the machine the writer stamps on it (docs/convex.md, "Several
    desktops"): the store's rows are this machine's, so they carry none."""
    assert project.get("machineId") and project.get("machineName"), project
    return {k: v for k, v in project.items() if k not in ("machineId", "machineName")}


async def convex_view(client: ConvexHttpClient) -> dict[str, Any]:
    projects = await client.query("projects:list", {})
    skills = await client.query("skills:listAll", {})
    return {
        "projects": {p["id"]: _unstamped(_clean(p)) for p in projects},
        "skills": {skey(s): _clean(s) for s in skills},
    }


def export_view(sup: Supervisor) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "oa_actors", "export"],
        env=sup.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    view: dict[str, Any] = {"projects": {}, "skills": {}}
    for row in lines:
        t = row.pop("table")
        if t == "projects":
            view["projects"][row["id"]] = row
        elif t == "skills":
            view["skills"][skey(row)] = row
    return view


Check = Callable[[dict[str, Any]], bool]


async def converge(
    sup: Supervisor, client: ConvexHttpClient, label: str, check: Check, t0: float | None = None
) -> dict[str, Any]:
    """Poll the store and Convex until `check` holds in both; record how long each took from `t0`."""
    t0 = time.monotonic() if t0 is None else t0
    t_store = t_convex = None
    deadline = time.monotonic() + DEADLINE
    sv: dict[str, Any] = {}
    cv: dict[str, Any] = {}
    while True:
        if t_store is None:
            sv = store_view(sup)
            if check(sv):
                t_store = time.monotonic() - t0
        if t_convex is None:
            cv = await convex_view(client)
            if check(cv):
                t_convex = time.monotonic() - t0
        if t_store is not None and t_convex is not None:
            break
        if time.monotonic() > deadline:
            TIMINGS.append((label, t_store, t_convex))
            raise AssertionError(
                f"{label}: not converged (store ok={t_store is not None}, convex ok={t_convex is not None})\n"
                f"store: {json.dumps(_keys(sv))}\nconvex: {json.dumps(_keys(cv))}\n"
                f"log tail:\n{sup.log.read_text()[-3000:]}"
            )
        await asyncio.sleep(0.02)
    TIMINGS.append((label, t_store, t_convex))
    print(f"{label}: store {t_store:.3f}s, convex {t_convex:.3f}s")
    # Convex holds exactly what the store holds (fields as the rows, nulls absent).
    await assert_same(sup, client)
    return store_view(sup)


def _keys(view: dict[str, Any]) -> dict[str, list[str]]:
    return {"projects": sorted(view.get("projects", {})), "skills": sorted(map(str, view.get("skills", {})))}


async def assert_same(sup: Supervisor, client: ConvexHttpClient) -> None:
    """Store == Convex, once the outbox is drained (it may lag behind a newer change: wait for it)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        sv, cv = store_view(sup), await convex_view(client)
        want = {
            "projects": {k: _clean(v) for k, v in sv["projects"].items()},
            "skills": {k: _clean(v) for k, v in sv["skills"].items()},
        }
        if want == cv:
            return
        if time.monotonic() > deadline:
            assert want == cv
        await asyncio.sleep(0.05)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def project_md(name: str, working_dir: Path | str, **extra: str) -> str:
    lines = [f"name: {name}", f"workingDir: {working_dir}", *(f"{k}: {v}" for k, v in extra.items())]
    return "---\n" + "\n".join(lines) + "\n---\n# Notes\n"


def skill_md(name: str, description: str, **extra: str) -> str:
    lines = [f"name: {name}", f"description: {description}", *(f"{k}: {v}" for k, v in extra.items())]
    return "---\n" + "\n".join(lines) + "\n---\nInstructions.\n"


def listing(root: Path, skip: Callable[[Path], bool]) -> dict[str, tuple[bool, int, int]]:
    """Every path under `root` (symlinks not followed) with (is_dir, size, mtime_ns)."""
    out: dict[str, tuple[bool, int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            if skip(p):
                continue
            st = p.lstat()
            is_dir = p.is_dir() and not p.is_symlink()
            out[str(p.relative_to(root))] = (
                is_dir,
                0 if is_dir else st.st_size,
                0 if is_dir else st.st_mtime_ns,
            )
        dirnames[:] = [
            d for d in dirnames if not skip(Path(dirpath) / d) and not (Path(dirpath) / d).is_symlink()
        ]
    return out


def schema_fields(name: str) -> set[str]:
    """The field names of `<name>` in convex/validators.ts (projectRowFields, skillRowFields)."""
    src = (ROOT / "convex" / "validators.ts").read_text()
    body = re.search(rf"export const {name} = \{{(.*?)\n\}};", src, re.S)
    assert body, name
    return set(re.findall(r"^\s+(\w+):", body.group(1), re.M))


async def convex_ok(c: Client) -> dict[str, Any]:
    st = await c.call("convex.status")
    assert st["ok"], st
    return st["result"]


def assert_healthy(sup: Supervisor) -> None:
    st = sup.status()
    assert st and st.get("actors"), st
    for a in st["actors"]:
        assert a["state"] == "running", a
        assert a.get("restarts", 0) == 0, a


# -- tests ---------------------------------------------------------------------------------------


async def test_convex_is_configured(env) -> None:
    sup, emu, _tmp = env
    async with ws_client(sup) as c:
        deadline = time.monotonic() + DEADLINE
        while True:
            st = await convex_ok(c)
            if st.get("connected") or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert st["configured"] is True and st["url"] == emu.url and st["connected"] is True, st


async def test_disk_changes_follow_in_store_export_and_convex(env) -> None:
    sup, emu, tmp = env
    home = sup.home
    work_a, work_a2 = tmp / "work-a", tmp / "work-a2"
    reg = home / "registry" / "skills"  # the default registry (no OPENAGENTS_SKILLS_REGISTRY)
    async with ConvexHttpClient(emu.url, emu.admin_key) as client:
        # -- create: a folder project, a legacy project, user / registry / project skills
        write(work_a / "skills" / "deploy" / "SKILL.md", skill_md("deploy", "Deploy A", license="MIT"))
        write(work_a2 / "skills" / "release" / "SKILL.md", skill_md("release", "Release A2"))
        t0 = time.monotonic()
        write(
            home / "projects" / "alpha" / "PROJECT.md",
            project_md("Alpha", work_a, model="gpt-5", sandbox="workspace-write"),
        )
        write(
            home / "projects" / "beta.project.md",
            project_md("Beta", "~/code/beta", description="legacy form"),
        )
        write(
            home / "skills" / "pdf-tools" / "SKILL.md",
            skill_md("pdf-tools", "Work with PDFs", **{"allowed-tools": "[Read, Bash]"}),
        )
        write(
            reg / "docs" / "mermaid" / "SKILL.md",
            skill_md("mermaid", "Diagrams", metadata='{version: "1.0"}'),
        )

        def created(v: dict[str, Any]) -> bool:
            p, s = v["projects"], v["skills"]
            return {"alpha", "beta"} <= p.keys() and {
                ("user", None, "pdf-tools"),
                ("registry", None, "mermaid"),
                ("project", "alpha", "deploy"),
            } <= s.keys()

        view = await converge(sup, client, "create 2 projects + 3 skills", created, t0)
        alpha, beta = view["projects"]["alpha"], view["projects"]["beta"]
        assert alpha["workingDir"] == str(work_a) and alpha["model"] == "gpt-5" and alpha["name"] == "Alpha"
        assert beta["workingDir"] == str(tmp / "code" / "beta")  # ~ expands (HOME is the temp dir)
        assert beta["description"] == "legacy form"
        pdf = view["skills"][("user", None, "pdf-tools")]
        assert pdf["allowedTools"] == ["Read", "Bash"] and pdf["projectId"] is None
        assert view["skills"][("registry", None, "mermaid")]["metadata"] == {"version": "1.0"}
        deploy = view["skills"][("project", "alpha", "deploy")]
        assert deploy["license"] == "MIT" and deploy["path"] == str(work_a / "skills" / "deploy" / "SKILL.md")
        assert ("project", "alpha", "release") not in view["skills"]
        cv = await client.query("skills:listByScope", {"source": "project", "projectId": "alpha"})
        assert [s["skillId"] for s in cv] == ["deploy"]

        # -- the export has them, with exactly the Convex schema's fields
        exp = export_view(sup)
        assert exp["projects"] == view["projects"] and exp["skills"] == view["skills"]
        pf, sf = schema_fields("projectRowFields"), schema_fields("skillRowFields")
        for row in exp["projects"].values():
            assert set(row) == pf, set(row) ^ pf
        for row in exp["skills"].values():
            assert set(row) == sf, set(row) ^ sf

        # -- edit a project and a skill
        created_at = pdf["createdAt"]
        t0 = time.monotonic()
        write(home / "projects" / "alpha" / "PROJECT.md", project_md("Alpha Two", work_a, model="gpt-5"))
        write(home / "skills" / "pdf-tools" / "SKILL.md", skill_md("pdf-tools", "Edited description"))
        view = await converge(
            sup,
            client,
            "edit a project + a skill",
            lambda v: (
                v["projects"].get("alpha", {}).get("name") == "Alpha Two"
                and v["projects"]["alpha"].get("sandbox") is None
                and v["skills"].get(("user", None, "pdf-tools"), {}).get("description")
                == "Edited description"
            ),
            t0,
        )
        assert view["skills"][("user", None, "pdf-tools")]["createdAt"] == created_at
        assert view["skills"][("user", None, "pdf-tools")]["allowedTools"] is None  # removed on disk: gone

        # -- rename a skill folder: removal of the old id + upsert of the new one
        t0 = time.monotonic()
        os.rename(home / "skills" / "pdf-tools", home / "skills" / "pdf-kit")
        view = await converge(
            sup,
            client,
            "rename a user skill folder",
            lambda v: (
                ("user", None, "pdf-kit") in v["skills"] and ("user", None, "pdf-tools") not in v["skills"]
            ),
            t0,
        )
        assert view["skills"][("user", None, "pdf-kit")]["path"] == str(
            home / "skills" / "pdf-kit" / "SKILL.md"
        )

        # -- rename a project (legacy file -> another id)
        t0 = time.monotonic()
        os.rename(home / "projects" / "beta.project.md", home / "projects" / "gamma.project.md")
        await converge(
            sup,
            client,
            "rename a legacy project file",
            lambda v: "gamma" in v["projects"] and "beta" not in v["projects"],
            t0,
        )

        # -- a project's workingDir changes: its project skills follow
        t0 = time.monotonic()
        write(home / "projects" / "alpha" / "PROJECT.md", project_md("Alpha Two", work_a2, model="gpt-5"))
        view = await converge(
            sup,
            client,
            "change a project's workingDir",
            lambda v: (
                v["projects"].get("alpha", {}).get("workingDir") == str(work_a2)
                and ("project", "alpha", "release") in v["skills"]
                and ("project", "alpha", "deploy") not in v["skills"]
            ),
            t0,
        )
        assert view["skills"][("project", "alpha", "release")]["path"] == str(
            work_a2 / "skills" / "release" / "SKILL.md"
        )
        cv = await client.query("skills:listByScope", {"source": "project", "projectId": "alpha"})
        assert [s["skillId"] for s in cv] == ["release"]

        # -- the new workingDir is watched: a skill added there arrives, one removed there goes
        t0 = time.monotonic()
        write(work_a2 / "skills" / "notes" / "SKILL.md", skill_md("notes", "Notes"))
        await converge(
            sup,
            client,
            "add a project skill (new workingDir)",
            lambda v: ("project", "alpha", "notes") in v["skills"],
            t0,
        )
        # ... and the old one is not any more
        write(work_a / "skills" / "stale" / "SKILL.md", skill_md("stale", "Old folder"))
        t0 = time.monotonic()
        (work_a2 / "skills" / "notes" / "SKILL.md").unlink()
        await converge(
            sup,
            client,
            "delete a project skill file",
            lambda v: ("project", "alpha", "notes") not in v["skills"],
            t0,
        )
        assert ("project", "alpha", "stale") not in store_view(sup)["skills"]

        # -- delete: a registry skill folder, a legacy project, a folder project (+ its skills)
        t0 = time.monotonic()
        (reg / "docs" / "mermaid" / "SKILL.md").unlink()
        (reg / "docs" / "mermaid").rmdir()
        (home / "projects" / "gamma.project.md").unlink()
        await converge(
            sup,
            client,
            "delete a registry skill + a project",
            lambda v: ("registry", None, "mermaid") not in v["skills"] and "gamma" not in v["projects"],
            t0,
        )
        t0 = time.monotonic()
        (home / "projects" / "alpha" / "PROJECT.md").unlink()
        view = await converge(
            sup,
            client,
            "delete a project with skills",
            lambda v: "alpha" not in v["projects"] and not any(k[1] == "alpha" for k in v["skills"]),
            t0,
        )
        assert set(view["projects"]) == set() and set(view["skills"]) == {("user", None, "pdf-kit")}
        assert await client.query("skills:listByScope", {"source": "project", "projectId": "alpha"}) == []
        exp = export_view(sup)
        assert exp["projects"] == {} and set(exp["skills"]) == {("user", None, "pdf-kit")}

        # clean up for the next tests
        (home / "skills" / "pdf-kit" / "SKILL.md").unlink()
        await converge(
            sup, client, "delete the last user skill", lambda v: not v["skills"] and not v["projects"]
        )

    async with ws_client(sup) as c:
        st = await convex_ok(c)
        assert st["quarantined"] == 0 and st["outbox"]["quarantined"] == 0, st
    assert_healthy(sup)


async def test_ws_project_save_and_delete(env) -> None:
    sup, emu, tmp = env
    home = sup.home
    work = tmp / "ws-work"
    write(work / "skills" / "lint" / "SKILL.md", skill_md("lint", "Lint it"))
    async with ConvexHttpClient(emu.url, emu.admin_key) as client, ws_client(sup) as c:
        t0 = time.monotonic()
        saved = await c.call(
            "project.save",
            project={
                "id": "ws-demo",
                "name": "WS Demo",
                "workingDir": str(work),
                "approvals": "never",
                "body": "# From the app\n",
            },
        )
        assert saved["ok"], saved
        target = home / "projects" / "ws-demo" / "PROJECT.md"
        assert saved["result"]["path"] == str(target) and target.is_file()
        assert saved["result"]["project"]["name"] == "WS Demo"
        assert target.read_text().endswith("# From the app\n")
        assert sorted(p.name for p in target.parent.iterdir()) == ["PROJECT.md"]  # no temp file left
        listed = await c.call("projects")
        assert listed["ok"] and [p["id"] for p in listed["result"]["projects"]] == ["ws-demo"], listed
        view = await converge(
            sup,
            client,
            "WS project.save",
            lambda v: "ws-demo" in v["projects"] and ("project", "ws-demo", "lint") in v["skills"],
            t0,
        )
        assert view["projects"]["ws-demo"]["approvals"] == "never"
        skills = await c.call("skills", projectId="ws-demo")
        assert skills["ok"] and [s["skillId"] for s in skills["result"]["skills"]] == ["lint"], skills

        # Saving again replaces the file atomically (a legacy file of the same id is removed).
        write(home / "projects" / "ws-demo.project.md", project_md("Legacy", work))
        saved = await c.call(
            "project.save", project={"id": "ws-demo", "name": "WS Demo 2", "workingDir": str(work)}
        )
        assert saved["ok"], saved
        assert not (home / "projects" / "ws-demo.project.md").exists()
        await converge(
            sup,
            client,
            "WS project.save (update)",
            lambda v: v["projects"].get("ws-demo", {}).get("name") == "WS Demo 2",
        )

        # Bad ids: an error reply, nothing touched, the connection stays up.
        outside = tmp / "etc"
        before = listing(tmp, lambda p: p.name.startswith("store.sqlite3") or p.name == "supervisor.log")
        for bad in ("../../etc", "/abs", "a/b", "..", ".", "", "a\x00b"):
            r = (
                await c.call("project.save", project={"id": bad, "name": "Evil", "workingDir": str(work)})
                if bad
                else None
            )
            if r is not None:
                assert r["type"] == "error" and not r.get("ok"), (bad, r)
            r = await c.call("project.delete", projectId=bad)
            assert r["type"] == "error" and not r.get("ok"), (bad, r)
        # A project whose fields are invalid: an error too, nothing written.
        r = await c.call("project.save", project={"id": "no-dir", "name": "No dir"})
        assert r["type"] == "error", r
        r = await c.call(
            "project.save", project={"id": "rel-dir", "name": "Rel", "workingDir": "relative/path"}
        )
        assert r["type"] == "error", r
        assert not outside.exists() and not Path("/abs").exists()
        after = listing(tmp, lambda p: p.name.startswith("store.sqlite3") or p.name == "supervisor.log")
        assert after == before
        assert (await c.call("bridge.status"))["ok"]

        # Delete: the file and its folder go; store, Convex and the `projects` verb follow.
        t0 = time.monotonic()
        deleted = await c.call("project.delete", projectId="ws-demo")
        assert deleted["ok"] and deleted["result"]["deleted"] is True, deleted
        assert not (home / "projects" / "ws-demo").exists()
        assert (
            work.is_dir() and (work / "skills" / "lint" / "SKILL.md").is_file()
        )  # the working dir is not ours
        await converge(
            sup,
            client,
            "WS project.delete",
            lambda v: "ws-demo" not in v["projects"] and not any(k[1] == "ws-demo" for k in v["skills"]),
            t0,
        )
        listed = await c.call("projects")
        assert listed["ok"] and listed["result"]["projects"] == []
        again = await c.call("project.delete", projectId="ws-demo")
        assert again["ok"] and again["result"]["deleted"] is False, again
    assert_healthy(sup)


async def test_invalid_inputs_are_reported_and_contained(env) -> None:
    sup, emu, tmp = env
    home = sup.home
    skills = home / "skills"
    outside = tmp / "outside"
    write(outside / "leak" / "SKILL.md", skill_md("leak", "Outside the home"))
    other = lambda p: p == home or home in p.parents or p.name == "supervisor.log"  # noqa: E731
    before = listing(tmp, other)

    async with ConvexHttpClient(emu.url, emu.admin_key) as client, ws_client(sup) as c:
        t0 = time.monotonic()
        write(skills / "bad-fm" / "SKILL.md", "---\nname: Bad_Name\ndescription: x\n---\nbody\n")
        write(skills / "no-fm" / "SKILL.md", "no front matter at all\n")
        write(skills / "yaml-err" / "SKILL.md", "---\nname: [unclosed\n---\n")
        (skills / "binary").mkdir()
        (skills / "binary" / "SKILL.md").write_bytes(
            b"---\nname: binary\x00\xff\xfe\n---\n" + bytes(range(256))
        )
        (skills / "big").mkdir()
        with open(skills / "big" / "SKILL.md", "wb") as f:
            f.write(skill_md("big", "Huge").encode())
            f.write(b"x" * (10 * 1024 * 1024))
        (skills / "loop").mkdir()
        os.symlink("..", skills / "loop" / "up")  # a loop back to the root
        os.symlink("self", skills / "self")  # a link to itself
        os.symlink(outside, skills / "escape")  # a link out of the home
        write(home / "projects" / "broken" / "PROJECT.md", "---\nname: Broken\n---\n")  # no workingDir
        write(home / "projects" / "alias.md", "---\na: &a [*a]\n---\n")
        write(skills / "good" / "SKILL.md", skill_md("good", "Still imported"))

        view = await converge(
            sup,
            client,
            "valid skill next to invalid files",
            lambda v: ("user", None, "good") in v["skills"],
            t0,
        )
        assert set(view["skills"]) == {("user", None, "good")} and view["projects"] == {}

        expected = {
            "bad-fm": skills / "bad-fm" / "SKILL.md",
            "no-fm": skills / "no-fm" / "SKILL.md",
            "yaml-err": skills / "yaml-err" / "SKILL.md",
            "binary": skills / "binary" / "SKILL.md",
            "big": skills / "big" / "SKILL.md",
            "broken": home / "projects" / "broken" / "PROJECT.md",
            "alias": home / "projects" / "alias.md",
        }
        deadline = time.monotonic() + DEADLINE
        while True:
            r = await c.call("projects")
            assert r["ok"], r
            errors = r["result"]["errors"]
            paths = {e["path"] for e in errors}
            if all(str(p) in paths for p in expected.values()) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        print(
            "reported errors:\n  "
            + "\n  ".join(f"{e['path']}: {e.get('field')}: {e['reason']}" for e in errors)
        )
        missing = [k for k, p in expected.items() if str(p) not in paths]
        assert not missing, (missing, errors)
        by_path = {e["path"]: e for e in errors}
        assert "kebab" in by_path[str(expected["bad-fm"])]["reason"]
        assert (
            "10485" in by_path[str(expected["big"])]["reason"]
            and "limit" in by_path[str(expected["big"])]["reason"]
        )
        assert by_path[str(expected["broken"])]["field"] == "workingDir"
        # The escaping link is reported; nothing of what it points to is imported.
        assert any("escape" in e["path"] or "outside" in e["reason"] for e in errors), errors
        assert not any(k[2] == "leak" for k in store_view(sup)["skills"])
        assert not any(s["skillId"] == "leak" for s in await client.query("skills:listAll", {}))

        # A valid file turned invalid keeps its last good row; fixing an invalid one imports it.
        t0 = time.monotonic()
        write(skills / "good" / "SKILL.md", "---\nname: BAD\n---\n")
        write(skills / "bad-fm" / "SKILL.md", skill_md("bad-fm", "Fixed"))
        view = await converge(
            sup, client, "fix an invalid skill", lambda v: ("user", None, "bad-fm") in v["skills"], t0
        )
        assert view["skills"][("user", None, "good")]["description"] == "Still imported"

        st = await convex_ok(c)
        assert st["connected"] and st["quarantined"] == 0, st

        # A skill that is valid on disk (under the 1 MiB file limit) but too large for a Convex
        # document (1,000,000 bytes) is quarantined alone: the skill saved with it still arrives.
        t0 = time.monotonic()
        write(
            skills / "huge-meta" / "SKILL.md",
            skill_md("huge-meta", "Too big for Convex", metadata="{blob: " + "x" * 1_010_000 + "}"),
        )
        write(skills / "beside-huge" / "SKILL.md", skill_md("beside-huge", "Saved in the same batch"))
        deadline = time.monotonic() + DEADLINE
        while True:
            sv = store_view(sup)
            cv = await convex_view(client)
            if ("user", None, "beside-huge") in cv["skills"] and ("user", None, "huge-meta") in sv["skills"]:
                break
            assert time.monotonic() < deadline, (_keys(sv), _keys(cv), await convex_ok(c))
            await asyncio.sleep(0.05)
        TIMINGS.append(("skill next to a too-large one (convex)", None, time.monotonic() - t0))
        deadline = time.monotonic() + DEADLINE
        while (st := await convex_ok(c))["quarantined"] < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert ("user", None, "huge-meta") not in (await convex_view(client))["skills"]
        assert (
            st["quarantined"] == 1
            and st["outbox"]["quarantined"] == 1
            and "DocumentTooLarge" in st["lastError"]
        ), st
        for name in ("huge-meta", "beside-huge"):
            (skills / name / "SKILL.md").unlink()
        await converge(
            sup,
            client,
            "remove the quarantined skill",
            lambda v: not any(k[2] in ("huge-meta", "beside-huge") for k in v["skills"]),
        )
        fs = sup.actor("fs_syncer")
        print(
            "fs_syncer details:",
            json.dumps({k: v for k, v in fs.get("health", fs).items() if k != "errors"})[:800],
        )
    assert_healthy(sup)
    assert listing(tmp, other) == before  # nothing written outside OPENAGENTS_HOME
    assert not list(outside.rglob(".*"))  # no temp files either
