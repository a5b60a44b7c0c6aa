"""The shared corpus copied into tests/data/corpus, and helpers to parse it with either backend."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from oa_actors.jsonl.files import parse_file

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "corpus"
GOLDEN = ROOT / "tests" / "data" / "golden"
CODEX_VERSIONS = ("codex-0.169.0", "codex-0.50.0")
CLAUDE_VERSION = "claude-2.1.197"


def codex_files(version: str) -> list[Path]:
    """Every rollout and exec stream of one Codex version, in path order."""
    base = CORPUS / version
    return sorted(base.glob("sessions/**/*.jsonl")) + sorted(base.glob("exec-*.jsonl"))


def all_codex_files() -> list[Path]:
    return [f for v in CODEX_VERSIONS for f in codex_files(v)]


def claude_files(version: str = CLAUDE_VERSION) -> list[Path]:
    """Every Claude Code session file (subagent transcripts included) and stream-json capture, in
    path order."""
    base = CORPUS / version
    return sorted(base.glob("projects/**/*.jsonl")) + sorted(base.glob("stream-*.jsonl"))


def manifest(version: str) -> list[dict[str, str]]:
    with open(CORPUS / version / "MANIFEST.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def rollouts(version: str) -> list[dict[str, str]]:
    with open(CORPUS / version / "ROLLOUTS.tsv", newline="") as f:
        return [dict(zip(("scenario", "path"), row, strict=True)) for row in csv.reader(f, delimiter="\t")]


def parse_with(
    tail_cls: Any, path: Path, chunk_size: int = 1 << 20
) -> tuple[list[dict[str, Any]], dict[str, Any] | None, dict[str, int]]:
    """(messages, final thread row, error counts) of one whole file."""
    tail, batches = parse_file(path, tail_cls(str(path)), chunk_size)
    messages = [m for b in batches for m in b.messages]
    threads = [t for b in batches for t in b.threads]
    return messages, (threads[-1] if threads else None), tail.errors


def relative(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """A thread row with its rolloutPath relative to the corpus (golden files are portable)."""
    if row is None:
        return None
    out = dict(row)
    if out.get("rolloutPath"):
        out["rolloutPath"] = str(Path(out["rolloutPath"]).resolve().relative_to(CORPUS))
    return out


def golden_path(path: Path) -> Path:
    return GOLDEN / (str(path.resolve().relative_to(CORPUS)).replace("/", "__") + ".json")
