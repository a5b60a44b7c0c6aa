"""`oa-supervisor convex resync` into an empty emulator, and `oa-supervisor convex status`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from oa_actors.convex.client import ConvexHttpClient
from oa_actors.store import Store
from tests.support import convex_emulator
from tests.support.convex_emulator import ConvexEmulator
from tests.support.supervisor import ROOT, Supervisor

pytestmark = pytest.mark.skipif(
    not convex_emulator.available(), reason="node_modules missing: run `make test` (npm ci)"
)


def generated(threads: int, per_thread: int) -> tuple[list[dict], list[dict]]:
    ts, ms = [], []
    for t in range(threads):
        tid = f"thread-{t:04d}"
        ts.append(
            {
                "threadId": tid,
                "source": "codex",
                "title": f"T{t}",
                "createdAt": 1000 + t,
                "updatedAt": 2000 + t,
            }
        )
        for i in range(per_thread):
            role = "user" if i % 2 == 0 else "assistant"
            ms.append(
                {
                    "threadId": tid,
                    "key": f"k-{t}-{i}",
                    "seq": i,
                    "ts": 1000 + i,
                    "role": role,
                    "kind": "message",
                    "text": f"message {i} of {tid}",
                    "data": None,
                    "turnId": None,
                }
            )
    return ts, ms


def cli(home: Path, tmp: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAGENTS_CONVEX", "CONVEX_"))}
    e.update(OPENAGENTS_HOME=str(home), CODEX_HOME=str(tmp / "codex-home"), HOME=str(tmp), **env)
    return subprocess.run(
        [sys.executable, "-m", "oa_actors", "convex", *args],
        env=e,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_resync_into_an_empty_deployment(tmp_path: Path) -> None:
    home = tmp_path / "oa-home"
    threads, messages = generated(7, 130)
    store = Store.open(home / "store.sqlite3")
    store.apply_batch(threads, messages)
    store.close()

    out = cli(home, tmp_path, "resync")
    assert out.returncode == 1 and "no Convex deployment configured" in out.stderr

    with ConvexEmulator(admin_key="resync-key") as emu:
        out = cli(home, tmp_path, "resync", "--url", emu.url, "--admin-key", "resync-key")
        assert out.returncode == 0, out.stderr
        assert f"resynced 7 threads and 910 messages to {emu.url}: 917 rows sent" in out.stdout

        async def counts() -> tuple[dict[str, int], int, set[str | None]]:
            async with ConvexHttpClient(emu.url, emu.admin_key) as c:
                per = {
                    t["threadId"]: await c.query("messages:countForThread", {"threadId": t["threadId"]})
                    for t in threads
                }
                listed = await c.query("threads:list", {"limit": 500})
                return per, len(listed), {t.get("machineId") for t in listed}

        per_thread, n_threads, machines = asyncio.run(counts())
        assert per_thread == {t["threadId"]: 130 for t in threads} and n_threads == 7
        # Threads created by the resync carry this installation's machine (docs/convex.md).
        assert machines == {json.loads((home / "machine.json").read_text())["id"]}
        # Defaults from the environment (OPENAGENTS_CONVEX_URL + key); a replay changes nothing.
        out = cli(
            home, tmp_path, "resync", OPENAGENTS_CONVEX_URL=emu.url, OPENAGENTS_CONVEX_ADMIN_KEY="resync-key"
        )
        assert out.returncode == 0, out.stderr
        assert asyncio.run(counts()) == (per_thread, n_threads, machines)
        bad = cli(home, tmp_path, "resync", "--url", emu.url, "--admin-key", "wrong")
        assert bad.returncode == 1 and "401" in bad.stderr


def test_status_without_and_with_a_supervisor(tmp_path: Path) -> None:
    home = tmp_path / "oa-home"
    out = cli(home, tmp_path, "status")
    assert out.returncode == 0 and "not configured" in out.stdout and "supervisor: not running" in out.stdout
    sup = Supervisor(tmp_path, args=["--actors", "convex_backend,convex_writer"])
    for k in [k for k in sup.env if k.startswith(("OPENAGENTS_CONVEX", "CONVEX_"))]:
        del sup.env[k]
    sup.start()
    try:
        out = cli(home, tmp_path, "status", "--json")
        assert out.returncode == 0, out.stderr
        doc = json.loads(out.stdout)
        assert doc["target"] is None and doc["supervisor"] is True
        assert doc["writer"]["configured"] is False and doc["backend"]["mode"] == "none"
    finally:
        sup.stop()
