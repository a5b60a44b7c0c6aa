"""The built wheel works on its own: installed into a fresh venv outside the checkout, with no
path into the repository, `oa-supervisor parse` gives the checkout's rows and `oa-supervisor run`
starts, answers `status`, mirrors a session file and stops with exit 0.

The wheel is built with maturin (cached under target/wheel-test/ while its inputs are unchanged);
the runtime dependencies come from a local wheelhouse there (downloaded once from the package
index, then installed with `--no-index`). Slow (about a minute on a warm cache), never skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "target" / "wheel-test"
ROLLOUT = next((ROOT / "tests" / "data" / "corpus" / "codex-0.169.0" / "sessions").rglob("rollout-*.jsonl"))
INPUTS = ("oa_actors", "rust_ext", "Cargo.toml", "Cargo.lock", "pyproject.toml", "README.md")

pytestmark = pytest.mark.slow


def inputs_digest() -> str:
    """Names, sizes and mtimes of everything that goes into the wheel."""
    h = hashlib.sha256()
    for name in INPUTS:
        top = ROOT / name
        for p in sorted([top] if top.is_file() else top.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".so"):
                st = p.stat()
                h.update(f"{p.relative_to(ROOT)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def built_wheel(timings: dict[str, float]) -> Path:
    out = CACHE / "wheels" / inputs_digest()
    found = sorted(out.glob("oa_supervisor-*.whl"))
    if found:
        return found[0]
    shutil.rmtree(CACHE / "wheels", ignore_errors=True)
    t0 = time.monotonic()
    maturin = Path(sys.executable).parent / "maturin"
    subprocess.run(
        [str(maturin), "build", "--release", "--quiet", "--out", str(out)],
        cwd=ROOT,
        check=True,
        timeout=900,
    )
    timings["build"] = time.monotonic() - t0
    return next(out.glob("oa_supervisor-*.whl"))


def wheelhouse(timings: dict[str, float]) -> Path:
    """The runtime dependencies as wheels, fetched once (keyed by the dependency list)."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    key = hashlib.sha256(f"{sys.version_info[:2]}{sorted(deps)}".encode()).hexdigest()[:16]
    house = CACHE / "deps" / key
    if not (house / ".complete").exists():
        t0 = time.monotonic()
        shutil.rmtree(CACHE / "deps", ignore_errors=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "-d", str(house), *deps],
            check=True,
            timeout=600,
        )
        (house / ".complete").touch()
        timings["download"] = time.monotonic() - t0
    return house


def clean_env(tmp: Path) -> dict[str, str]:
    """No variable of ours and no path into the checkout: only what a fresh shell would have."""
    keep = {k: v for k, v in os.environ.items() if k in ("LANG", "LC_ALL", "TZ", "TMPDIR")}
    return {
        **keep,
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp),
        "OPENAGENTS_HOME": str(tmp / "oa-home"),
        "CODEX_HOME": str(tmp / "codex-home"),
        "OPENAGENTS_BRIDGE_BIND": "127.0.0.1:0",
    }


def message_keys(jsonl: str) -> set[str]:
    rows = (json.loads(line) for line in jsonl.splitlines())
    return {r["key"] for r in rows if r.get("table") == "messages"}


def test_wheel_installs_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    timings: dict[str, float] = {}
    wheel = built_wheel(timings)
    # The web app's bundle (git-ignored, built by `make web`) ships in the wheel.
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    assert "oa_actors/web/dist/manifest.json" in names, [n for n in names if "/web/" in n]
    house = wheelhouse(timings)
    t0 = time.monotonic()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index"]
    subprocess.run([*pip, "--find-links", str(house), str(wheel)], check=True, timeout=600)
    timings["venv+install"] = time.monotonic() - t0
    env = clean_env(tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    cli = str(venv / "bin" / "oa-supervisor")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([cli, *args], env=env, cwd=work, capture_output=True, text=True, timeout=60)

    # The package, its native extension and its Convex functions come from the venv.
    probe = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import json, oa_actors, oa_actors.jsonl as j; from oa_actors.config import Config; "
            "c = Config.from_env(); print(json.dumps([oa_actors.__file__, j.IMPLEMENTATION, "
            "str(c.convex_functions), sorted(p.name for p in c.convex_functions.glob('*.ts')), "
            "c.node_dir and str(c.node_dir)]))",
        ],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    module, backend, functions, ts_files, node_dir = json.loads(probe.stdout)
    assert module.startswith(str(venv)) and backend == "rust"
    assert functions.startswith(str(venv))
    shipped = sorted(
        p.name
        for p in (ROOT / "convex").glob("*.ts")
        if not p.name.endswith(".test.ts") and p.name != "test.setup.ts"
    )
    assert ts_files == shipped and "schema.ts" in ts_files
    assert node_dir is None  # no node_modules above the installed package: nothing from the checkout

    # parse: the same rows as the checkout's.
    parsed = run("parse", str(ROLLOUT))
    assert parsed.returncode == 0, parsed.stderr
    here = subprocess.run(
        [sys.executable, "-m", "oa_actors", "parse", str(ROLLOUT)], capture_output=True, text=True, timeout=60
    )
    assert parsed.stdout == here.stdout and len(parsed.stdout.splitlines()) > 5

    # run: starts, answers status, mirrors a session file, stops with exit 0.
    t0 = time.monotonic()
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([cli, "run"], env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            st = run("status", "--json")
            if st.returncode == 0 and all(a["state"] == "running" for a in json.loads(st.stdout)["actors"]):
                break
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "run.log").read_text()
            time.sleep(0.2)
        names = {a["name"] for a in json.loads(st.stdout)["actors"]}
        assert {"sessions_tailer", "convex_writer", "ws_gateway"} <= names
        sessions = tmp_path / "codex-home" / "sessions" / "2026" / "11" / "22"
        sessions.mkdir(parents=True)
        shutil.copy(ROLLOUT, sessions / ROLLOUT.name)
        want = message_keys(here.stdout)
        deadline = time.monotonic() + 60
        while True:
            got = message_keys(run("export").stdout)
            if want and got >= want:
                break
            assert time.monotonic() < deadline, f"mirrored {len(got)}/{len(want)} messages"
            time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    timings["run"] = time.monotonic() - t0
    print("wheel test timings (s):", {k: round(v, 1) for k, v in timings.items()})
