"""Backend selection (OA_JSONL_BACKEND) and the `oa-supervisor parse` command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from oa_actors import jsonl
from tests.jsonl.corpus import CORPUS, ROOT


def run_py(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=ROOT,
        timeout=60,
    )


def test_native_backend_is_built_when_cargo_exists() -> None:
    # Guards the parity tests: they skip without the extension, which must not happen silently in CI.
    if shutil.which("cargo") is None:
        pytest.skip("no Rust toolchain on this machine: the pure-Python twin is the only backend")
    assert "rust" in jsonl.implementations()


@pytest.mark.parametrize("name", ["python", "rust"])
def test_backend_is_chosen_once_at_import(name: str) -> None:
    if name not in jsonl.implementations():
        pytest.skip("native extension not built")
    proc = run_py(
        "from oa_actors import jsonl; print(jsonl.IMPLEMENTATION, jsonl.JsonlTail.__module__)",
        OA_JSONL_BACKEND=name,
    )
    assert proc.returncode == 0, proc.stderr
    backend, module = proc.stdout.split()
    assert backend == name
    assert ("_oa_native" in module) == (name == "rust")


def test_bad_backend_name_is_a_clear_error() -> None:
    proc = run_py("import oa_actors.jsonl", OA_JSONL_BACKEND="fortran")
    assert proc.returncode != 0 and "OA_JSONL_BACKEND must be auto, rust or python" in proc.stderr


def parse_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oa_actors", "parse", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_parse_command_prints_rows_of_a_folder() -> None:
    folder = CORPUS / "codex-0.169.0" / "sessions"
    proc = parse_cli(str(folder))
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.split("\n") if line]
    threads = [r for r in rows if r["table"] == "threads"]
    messages = [r for r in rows if r["table"] == "messages"]
    assert len(threads) == len(list(folder.rglob("*.jsonl")))
    assert {m["threadId"] for m in messages} <= {t["threadId"] for t in threads}
    assert set(messages[0]) == {
        "table",
        "threadId",
        "key",
        "seq",
        "ts",
        "role",
        "kind",
        "text",
        "data",
        "turnId",
    }
    assert set(threads[0]) == {
        "table",
        "threadId",
        "source",
        "rolloutPath",
        "title",
        "cwd",
        "model",
        "cliVersion",
        "git",
        "parentThreadId",
        "createdAt",
        "updatedAt",
        "usage",
    }


def test_parse_command_reports_bad_lines_and_missing_files(tmp_path: Path) -> None:
    f = tmp_path / "rollout-x.jsonl"
    f.write_bytes(b'{"type":"thread.started","thread_id":"t"}\nnot json\n\xff\n')
    proc = parse_cli(str(f), str(tmp_path / "missing.jsonl"))
    assert proc.returncode == 1
    assert (
        "invalid_json=1" in proc.stderr and "invalid_utf8=1" in proc.stderr and "missing.jsonl" in proc.stderr
    )
    assert json.loads(proc.stdout.rstrip("\n").split("\n")[-1])["threadId"] == "t"


def test_parse_output_is_identical_across_backends() -> None:
    if len(jsonl.implementations()) < 2:
        pytest.skip("native extension not built")
    folder = str(CORPUS / "codex-0.50.0")
    py = parse_cli(folder, env={"OA_JSONL_BACKEND": "python"})
    rs = parse_cli(folder, env={"OA_JSONL_BACKEND": "rust"})
    assert py.returncode == rs.returncode == 0
    assert py.stdout == rs.stdout and py.stdout
