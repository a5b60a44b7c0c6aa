"""The everyday commands as a user runs them: subprocesses against a real running supervisor that
mirrored the corpus (Codex rollouts and Claude Code session files) into its store; then `stop`.

Covers `threads`, `show`, `usage` (and the bridge's `usage.summary` giving the same numbers),
`stop`, and their bad inputs: unknown or ambiguous ids, short prefixes, bad times, no supervisor.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from tests.jsonl.corpus import CORPUS
from tests.support.supervisor import ROOT, Supervisor
from tests.support.ws_client import Client

UNICODE = "01a200f7-9a8b-7760-8582-76bd9d01ca14"
PATCH = "01a200f7-918c-7ba2-8a2f-fd60d2990b36"
MCP = "01a200f7-9825-7f50-93d6-76afff52163d"
CLAUDE_TODO = "60829600-d987-4f6e-83ae-bb5d142b38d3"


def cli(sup: Supervisor, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oa_actors", *args],
        env=sup.env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _threads(sup: Supervisor) -> int:
    if not (sup.home / "store.sqlite3").exists():
        return 0
    with sup.store() as store:
        return store.count("threads")


@pytest.fixture(scope="module")
def sup(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("cli")
    claude = tmp / "claude"
    s = Supervisor(tmp, env={"CLAUDE_CONFIG_DIR": str(claude), "OPENAGENTS_CONVEX": "off"})
    shutil.copytree(CORPUS / "codex-0.169.0" / "sessions", s.codex_home / "sessions")
    shutil.copytree(CORPUS / "claude-2.1.197" / "projects", claude / "projects")
    s.start()
    try:
        want = len(list((s.codex_home / "sessions").rglob("*.jsonl"))) + 20  # + Claude sessions
        deadline = time.monotonic() + 90
        while _threads(s) < want:
            assert time.monotonic() < deadline, f"only {_threads(s)} threads mirrored"
            time.sleep(0.5)
        yield s
    finally:
        if s.proc is not None and s.proc.poll() is None:
            assert s.stop() == 0


def test_threads_lists_newest_first_with_filters(sup: Supervisor) -> None:
    out = cli(sup, "threads", "--json", "--limit", "500")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert {"threadId", "title", "source", "cwd", "updatedAt", "messageCount"} <= set(rows[0])
    machine_id = json.loads((sup.home / "machine.json").read_text())["id"]
    assert {(r["machineId"], bool(r["machineName"])) for r in rows} == {(machine_id, True)}
    assert [r["updatedAt"] for r in rows] == sorted((r["updatedAt"] for r in rows), reverse=True)
    assert {r["source"] for r in rows} == {"codex", "claude"}
    uni = next(r for r in rows if r["threadId"] == UNICODE)
    assert uni["messageCount"] == 5 and uni["title"].startswith("Unicode stress test")
    claude = cli(sup, "threads", "--json", "--source", "claude", "--limit", "3")
    assert [json.loads(x)["source"] for x in claude.stdout.splitlines()] == ["claude"] * 3
    folder = cli(sup, "threads", "--json", "--project", "/home/dev/work/todo")
    assert [json.loads(x)["threadId"] for x in folder.stdout.splitlines()] == [CLAUDE_TODO]
    human = cli(sup, "threads", "--limit", "2")
    assert human.returncode == 0 and len(human.stdout.splitlines()) == 2
    assert "2 threads shown of" in human.stderr and "messages in them" in human.stderr
    none = cli(sup, "threads", "--since", "2099-01-01")
    assert none.returncode == 0 and none.stdout == "" and "no threads match" in none.stderr
    for bad in (["--since", "soon"], ["--limit", "0"], ["--source", "gpt"]):
        r = cli(sup, "threads", *bad)
        assert r.returncode == 2 and "Traceback" not in r.stderr, (bad, r.stderr)


def test_show_a_transcript_by_prefix(sup: Supervisor) -> None:
    out = cli(sup, "show", PATCH[:13])
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.splitlines()[0].startswith("Add hello.txt")
    assert "▶ you" in text and "◀ agent" in text and "✎ files changed" in text
    assert "delete /home/dev/ws_patch/obsolete.txt" in text
    assert "\x1b[" not in text  # not a terminal: no colours
    coloured = cli(sup, "show", PATCH, "--color", "always")
    assert "\x1b[" in coloured.stdout
    mcp = cli(sup, "show", MCP)
    assert "⚙ mcp" in mcp.stdout
    todo = cli(sup, "show", CLAUDE_TODO)
    assert "☐ todo list" in todo.stdout and "[x]" in todo.stdout
    rows = [json.loads(x) for x in cli(sup, "show", UNICODE, "--json").stdout.split("\n")[:-1]]
    assert rows[-1]["table"] == "threads" and rows[-1]["threadId"] == UNICODE
    assert [r["kind"] for r in rows if r["table"] == "messages" and r["kind"] == "message"] == [
        "message",
        "message",
    ]


def test_show_bad_ids(sup: Supervisor) -> None:
    amb = cli(sup, "show", "01a200f7")
    assert amb.returncode == 2 and "several thread ids" in amb.stderr and UNICODE in amb.stderr
    short = cli(sup, "show", "01a2")
    assert short.returncode == 2 and "at least 6" in short.stderr
    missing = cli(sup, "show", "ffffffff-0000")
    assert missing.returncode == 2 and len(missing.stderr.splitlines()) == 1 and missing.stdout == ""


async def test_usage_cli_and_ws_verb_agree(sup: Supervisor) -> None:
    out = cli(sup, "usage", "--json", "--by", "thread")
    assert out.returncode == 0, out.stderr
    doc: dict[str, Any] = json.loads(out.stdout)
    assert doc["total"]["totalTokens"] == sum(g["totalTokens"] for g in doc["groups"]) > 0
    async with connect(sup.bridge_url, additional_headers={"Authorization": f"Bearer {sup.token}"}) as ws:
        c = Client(ws)
        reply = await c.call("usage.summary", by="thread")
        assert reply["ok"], reply
        assert reply["result"] == doc
        plain = await c.call("usage.summary")
        assert plain["result"]["total"] == doc["total"] and plain["result"]["groups"] == []
        bad = await c.call("usage.summary", by="week")
        assert not bad["ok"] and bad["error"]["code"] == "bad_request"


def test_backfill_a_relative_folder_through_the_supervisor(sup: Supervisor, tmp_path: Path) -> None:
    """The path is resolved where the user typed it, not in the supervisor's working directory."""
    shutil.copytree(CORPUS / "codex-0.50.0" / "sessions", tmp_path / "relcopy")
    files = len(list((tmp_path / "relcopy").rglob("*.jsonl")))
    before = _threads(sup)
    out = cli(sup, "backfill", "--sessions", "relcopy", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"{files} files read" in out.stderr and "new messages" in out.stderr
    deadline = time.monotonic() + 30  # the supervisor's writer commits what its tailer read
    while _threads(sup) < before + files:
        assert time.monotonic() < deadline, f"{_threads(sup)} threads, want {before + files}"
        time.sleep(0.2)
    again = cli(sup, "backfill", "--sessions", "./relcopy", cwd=tmp_path)
    assert again.returncode == 0 and f"nothing new: {files} files already up to date" in again.stderr
    missing = cli(sup, "backfill", "--sessions", "nope", cwd=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert len(missing.stderr.splitlines()) == 1 and str(tmp_path / "nope") in missing.stderr
    a_file = cli(sup, "backfill", "--sessions", str(next((tmp_path / "relcopy").rglob("*.jsonl"))))
    assert a_file.returncode == 2 and "is not a folder" in a_file.stderr


def test_export_and_parse_bad_inputs(sup: Supervisor, tmp_path: Path) -> None:
    one = cli(sup, "export", "--thread", UNICODE[:13])
    assert one.returncode == 0
    tables = [json.loads(x)["table"] for x in one.stdout.split("\n")[:-1]]
    assert tables[-1] == "threads" and tables.count("threads") == 1
    nosuch = cli(sup, "export", "--thread", "nosuch-thread")
    assert nosuch.returncode == 2 and "no thread id starts with" in nosuch.stderr and nosuch.stdout == ""
    amb = cli(sup, "export", "--thread", "01a200f7")
    assert amb.returncode == 2 and "several thread ids" in amb.stderr
    later = cli(sup, "export", "--since", "2099-01-01")
    assert later.returncode == 0 and later.stdout == "" and "nothing to export" in later.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    parsed = cli(sup, "parse", str(empty))
    assert parsed.returncode == 0 and parsed.stdout == "" and "no .jsonl files in" in parsed.stderr
    gone = cli(sup, "parse", str(tmp_path / "gone.jsonl"))
    assert gone.returncode == 2 and "no such file or folder" in gone.stderr


def test_the_start_banner_says_each_fact_once(sup: Supervisor) -> None:
    log = sup.log.read_text()
    for fact in ("JSONL hot path:", "store:", "log file:", "watching:", "bridge:", "Convex:"):
        assert log.count(fact) == 1, fact
    assert str(sup.home / "store.sqlite3") in log and str(sup.home / "logs" / "supervisor.log") in log
    assert log.count("bridge listening on ws://127.0.0.1:") == 1  # a free port: said once it listens
    assert "bridge WebSocket on" not in log and "server listening" not in log
    assert "Logging error" not in log and "Traceback" not in log


def test_stop_last(sup: Supervisor) -> None:
    """Runs last in this module: the supervisor stops, then `stop` says none runs."""
    out = cli(sup, "stop")
    assert out.returncode == 0, out.stderr
    assert "oa-supervisor stopped" in out.stdout
    assert sup.proc is not None and sup.proc.wait(30) == 0
    again = cli(sup, "stop")
    assert again.returncode == 1 and "no supervisor is running" in again.stderr
    status = cli(sup, "status")
    assert status.returncode == 1
    assert "stop" in (sup.log.read_text())  # the reason is logged
