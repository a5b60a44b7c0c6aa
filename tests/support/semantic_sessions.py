"""The labelled semantic-search set (tests/data/semantic/sessions.json) as Codex rollouts.

Each session becomes a classic-format rollout written with the record conventions of
tests/support/gen.py (session_meta, turn_context, the duplicated user/agent copies, shell calls with
their outputs), so the real parser turns it into rows. `content_words` is the mechanical check that
a query shares no content word with its session.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "semantic" / "sessions.json"

# Function words and words every coding session shares; anything else is a content word.
STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers him his how i if in into is it its itself just let like me more most my
    no nor not now of off on once only or other our ours out over own same she should so some such than
    that the their theirs them then there these they this those through to too under until up very was
    we were what when where which while who whom why will with would you your yours us one two new get
    got make made use used using way thing things kept keep come came go went instead whose own per""".split()  # noqa: SIM905 (a readable block of words)
)

_WORD = re.compile(r"[a-z]+")


def stem(word: str) -> str:
    """A crude suffix stripper: strict on purpose, so `containers` and `container` count as one word."""
    for suffix in (
        "ational",
        "ations",
        "ation",
        "ingly",
        "edly",
        "ings",
        "ing",
        "ies",
        "ied",
        "ers",
        "er",
        "ed",
        "es",
        "ly",
        "s",
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def content_words(text: str) -> set[str]:
    """Stems of the words of `text` that are not stop words (lower case, letters only)."""
    return {stem(w) for w in _WORD.findall(text.lower()) if w not in STOP_WORDS and len(w) > 1}


@dataclass(frozen=True)
class LabelledSession:
    """One session of the set: its id (also the thread id's seed), split, query and turns."""

    name: str
    split: str
    query: str
    turns: list[tuple[str, list[str], str]]
    thread_id: str

    def all_text(self) -> str:
        """Every piece of text the session's rollout carries (prompts, commands, replies)."""
        parts: list[str] = []
        for prompt, commands, reply in self.turns:
            parts += [prompt, *commands, reply]
        return "\n".join(parts)


def load_sessions() -> list[LabelledSession]:
    """The labelled sessions, in file order; thread ids are stable UUIDs derived from the names."""
    raw = json.loads(DATA.read_text())
    out = []
    for s in raw["sessions"]:
        tid = str(uuid.uuid5(uuid.NAMESPACE_URL, "oa-semantic/" + s["id"]))
        turns = [(t[0], list(t[1]), t[2]) for t in s["turns"]]
        out.append(LabelledSession(s["id"], s["split"], s["query"], turns, tid))
    return out


def rollout_lines(session: LabelledSession, index: int) -> list[str]:
    """The session as classic Codex rollout lines (the record shapes of tests/support/gen.py)."""
    lines: list[str] = []
    n = 0

    def rec(t: str, payload: dict[str, object]) -> None:
        nonlocal n
        n += 1
        ts = f"2026-10-{1 + index % 28:02d}T09:{(n // 60) % 60:02d}:{n % 60:02d}.000Z"
        lines.append(json.dumps({"timestamp": ts, "type": t, "payload": payload}, ensure_ascii=False))

    rec(
        "session_meta",
        {
            "id": session.thread_id,
            "timestamp": f"2026-10-{1 + index % 28:02d}T09:00:00.000Z",
            "cwd": f"/home/dev/{session.name}",
            "originator": "codex_cli_rs",
            "cli_version": "0.120.0",
            "source": "cli",
        },
    )
    for t, (prompt, commands, reply) in enumerate(session.turns):
        rec(
            "turn_context",
            {
                "cwd": f"/home/dev/{session.name}",
                "approval_policy": "on-request",
                "sandbox_policy": {"mode": "workspace-write"},
                "model": "gpt-5-codex",
                "summary": "auto",
            },
        )
        rec(
            "response_item",
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]},
        )
        rec("event_msg", {"type": "user_message", "message": prompt, "images": []})
        for c, command in enumerate(commands):
            call_id = f"call_{t}_{c}"
            rec(
                "response_item",
                {
                    "type": "function_call",
                    "name": "shell",
                    "call_id": call_id,
                    "arguments": json.dumps({"command": ["bash", "-lc", command], "timeout_ms": 10000}),
                },
            )
            rec(
                "response_item",
                {
                    "type": "function_call_output",
                    "call_id": call_id,
                    "output": json.dumps(
                        {"output": "ok\n", "metadata": {"exit_code": 0, "duration_seconds": 0.4}}
                    ),
                },
            )
        rec(
            "response_item",
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": reply}]},
        )
        rec("event_msg", {"type": "agent_message", "message": reply})
    return lines


def write_rollouts(root: Path, sessions: list[LabelledSession]) -> list[Path]:
    """Writes each session as root/2026/10/DD/rollout-...-<thread>.jsonl and returns the paths."""
    paths = []
    for i, s in enumerate(sessions):
        day = root / "2026" / "10" / f"{1 + i % 28:02d}"
        day.mkdir(parents=True, exist_ok=True)
        p = day / f"rollout-2026-10-{1 + i % 28:02d}T09-00-00-{s.thread_id}.jsonl"
        p.write_text("\n".join(rollout_lines(s, i)) + "\n")
        paths.append(p)
    return paths
