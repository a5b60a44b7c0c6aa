"""Session content for the chaos soak, and a writer that appends it the way agents do, only worse.

Content: ordinary Codex rollouts (tests/support/gen.py), real Claude Code sessions from the corpus
under fresh session ids, heavy rollouts whose rows carry their weight in tool arguments (200
custom tool calls with 6 KB inputs each, as big patches and MCP payloads do), and one rollout with
a single valid 17 MiB line. Hostile entries (a FIFO named `x.jsonl`, a self-referencing symlink
`y.jsonl`) are made by `make_hostile`; they are never written to nor parsed.

`ChunkWriter` appends every file in random chunks (a byte, a few lines, a MiB; cut anywhere,
mid-line included), several files interleaved, paced to finish by a deadline.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.support.gen import rollout_lines

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
CLAUDE_SESSIONS = sorted((CORPUS / "claude-2.1.197" / "projects").glob("*/*.jsonl"))
HUGE_LINE_BYTES = 17 * 1024 * 1024  # over the bus's 16 MiB frame, under the 32 MiB line limit


@dataclass
class Session:
    """One file to write: where, what, and when to start writing it (seconds after the start)."""

    path: Path
    data: bytes
    start_at: float = 0.0
    kind: str = "codex"


def _tid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def codex_path(sessions: Path, tid: str, day: int) -> Path:
    return sessions / "2026" / "11" / f"{day:02d}" / f"rollout-2026-11-{day:02d}T01-00-00-{tid}.jsonl"


def codex_session(sessions: Path, rng: random.Random) -> Session:
    tid = _tid(rng)
    lines = rollout_lines(tid, rng.randint(1, 6), rng.choice([80, 400, 3000]), seed=rng.randint(0, 99))
    return Session(codex_path(sessions, tid, rng.randint(10, 14)), ("\n".join(lines) + "\n").encode())


def _rec(ts: int, kind: str, payload: Mapping[str, object]) -> str:
    stamp = f"2026-11-22T03:{ts // 60 % 60:02d}:{ts % 60:02d}.{ts % 1000:03d}Z"
    return json.dumps({"timestamp": stamp, "type": kind, "payload": payload}, ensure_ascii=False)


def _meta(tid: str) -> str:
    meta = {
        "id": tid,
        "timestamp": "2026-11-22T03:00:00.000Z",
        "cwd": "/home/dev/heavy",
        "originator": "codex_exec",
        "cli_version": "0.120.0",
        "source": "exec",
    }
    return _rec(0, "session_meta", meta)


def _user(ts: int, text: str) -> list[str]:
    return [
        _rec(
            ts,
            "response_item",
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
        ),
        _rec(ts, "event_msg", {"type": "user_message", "message": text, "images": []}),
    ]


def heavy_session(
    sessions: Path, rng: random.Random, calls: int = 200, input_bytes: int = 6 * 1024
) -> Session:
    """A rollout of `calls` custom tool calls (apply_patch) whose inputs are `input_bytes` each."""
    tid = _tid(rng)
    lines = [_meta(tid), *_user(1, f"apply {calls} patches")]
    for i in range(calls):
        body = "".join(rng.choice("abcdefghij +-\n") for _ in range(256))
        patch = f"*** Begin Patch\n*** Update File: src/f{i}.py\n@@\n" + (body * (input_bytes // 256 + 1))
        patch = patch[:input_bytes] + "\n*** End Patch"
        call = {
            "type": "custom_tool_call",
            "status": "completed",
            "call_id": f"call_{i}",
            "name": "apply_patch",
            "input": patch,
        }
        out = {
            "output": f"Success. Updated src/f{i}.py\n",
            "metadata": {"exit_code": 0, "duration_seconds": 0.1},
        }
        lines.append(_rec(2 + i, "response_item", call))
        lines.append(
            _rec(
                2 + i,
                "response_item",
                {"type": "custom_tool_call_output", "call_id": f"call_{i}", "output": json.dumps(out)},
            )
        )
    reply = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "done"}]}
    lines.append(_rec(3 + calls, "response_item", reply))
    return Session(codex_path(sessions, tid, 15), ("\n".join(lines) + "\n").encode(), kind="heavy")


def huge_line_session(sessions: Path, rng: random.Random) -> Session:
    """A rollout whose assistant answer is one valid line of about 17 MiB."""
    tid = _tid(rng)
    text = ("0123456789abcdef" * (HUGE_LINE_BYTES // 16 + 1))[:HUGE_LINE_BYTES]
    reply = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}
    lines = [_meta(tid), *_user(1, "print a very long answer"), _rec(2, "response_item", reply)]
    return Session(codex_path(sessions, tid, 16), ("\n".join(lines) + "\n").encode(), kind="huge")


def claude_session(projects: Path, rng: random.Random) -> Session:
    """A real Claude Code session from the corpus, under a fresh session id (file name and content)."""
    src = rng.choice(CLAUDE_SESSIONS)
    old, new = src.stem, _tid(rng)
    data = src.read_bytes().replace(old.encode(), new.encode())
    return Session(projects / src.parent.name / f"{new}.jsonl", data, kind="claude")


def make_hostile(folder: Path, fifo: bool, symlink_loop: bool) -> list[Path]:
    """In `folder`: a FIFO `x.jsonl` (opening it for reading blocks until a writer comes) and a
    symlink `y.jsonl` to itself (every stat or open fails with ELOOP). Returns what it made."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    if fifo:
        os.mkfifo(folder / "x.jsonl")
        made.append(folder / "x.jsonl")
    if symlink_loop:
        os.symlink("y.jsonl", folder / "y.jsonl")
        made.append(folder / "y.jsonl")
    return made


class ChunkWriter:
    """Appends sessions in random chunks, interleaved, each file starting at its `start_at`."""

    def __init__(self, sessions: list[Session], rng: random.Random, parallel: int = 6) -> None:
        self.pending = sorted(sessions, key=lambda s: s.start_at)
        self.rng = rng
        self.parallel = parallel
        self.active: list[tuple[Session, int, int]] = []  # (session, fd, bytes written)
        self.written: list[Path] = []  # finished files
        self.bytes = 0
        self.chunks = 0

    def _chunk_size(self, left: int) -> int:
        r = self.rng.random()
        if r < 0.3:
            n = self.rng.randint(1, 200)
        elif r < 0.85:
            n = self.rng.randint(200, 16 * 1024)
        else:
            n = self.rng.randint(16 * 1024, 1024 * 1024)
        return min(n, left)

    def run(self, started: float, deadline: float) -> None:
        """Write until every session is complete, all of it by about `deadline` (monotonic)."""
        total = sum(len(s.data) for s in self.pending)
        while self.pending or self.active:
            now = time.monotonic()
            while self.pending and (self.pending[0].start_at <= now - started or now >= deadline):
                if len(self.active) >= self.parallel and now < deadline:
                    break
                s = self.pending.pop(0)
                s.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(s.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
                self.active.append((s, fd, 0))
            if not self.active:
                time.sleep(0.01)
                continue
            i = self.rng.randrange(len(self.active))
            s, fd, pos = self.active[i]
            n = self._chunk_size(len(s.data) - pos)
            os.write(fd, s.data[pos : pos + n])
            self.bytes += n
            self.chunks += 1
            pos += n
            if pos >= len(s.data):
                os.close(fd)
                self.active.pop(i)
                self.written.append(s.path)
            else:
                self.active[i] = (s, fd, pos)
            # Pace: sleep while ahead of a straight line from `started` to `deadline`.
            left = deadline - time.monotonic()
            due = total * min(1.0, (time.monotonic() - started) / max(deadline - started, 1e-3))
            if left > 0 and self.bytes > due:
                time.sleep(self.rng.uniform(0.0, 0.03))
