"""A large realistic Codex corpus for the hot-path benchmark (the "corpus mix").

Rollouts of both generations (70% 0.169, 30% classic 0.50) generated from the shapes of the real
ones in tests/data/corpus: the first real line of each record kind is the template, texts are
windows of a prose pool made from the corpus's own instructions. Deterministic (seeded), cached
under target/bench-corpus/.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "corpus"
CACHE = ROOT / "target" / "bench-corpus"
SEED = 20261122
GEN_VERSION = 1


# -- corpus generation --------------------------------------------------------------------------------
def session_meta_line(
    tid: str, when: str = "2026-11-22T01:00:00.000Z", cwd: str = "/home/dev/bench"
) -> bytes:
    """The first line of a live rollout the benches append to: a Codex `session_meta` for `tid`."""
    meta = {
        "timestamp": when,
        "type": "session_meta",
        "payload": {
            "id": tid,
            "timestamp": when,
            "cwd": cwd,
            "originator": "codex_exec",
            "cli_version": "0.120.0",
            "source": "exec",
        },
    }
    return (json.dumps(meta) + "\n").encode()


def templates() -> dict[tuple[str, ...], dict[str, Any]]:
    """The first real line of each (generation, type, payload type, role, tool name) in the corpus."""
    out: dict[tuple[str, ...], dict[str, Any]] = {}
    for gen in ("codex-0.169.0", "codex-0.50.0"):
        for f in sorted((CORPUS / gen / "sessions").rglob("rollout-*.jsonl")):
            for line in f.read_bytes().splitlines():
                o = json.loads(line)
                p = o.get("payload") if isinstance(o.get("payload"), dict) else {}
                key = (gen, str(o.get("type")), str(p.get("type")), str(p.get("role")), str(p.get("name")))
                out.setdefault(key, o)
    return out


def prose_pool(tpl: dict[tuple[str, ...], dict[str, Any]]) -> str:
    meta = tpl[("codex-0.169.0", "session_meta", "None", "None", "None")]["payload"]["base_instructions"][
        "text"
    ]
    paras = [p for p in meta.split("\n") if p.strip()]
    rnd = random.Random(SEED)
    pool = []
    for _ in range(40):
        rnd.shuffle(paras)
        pool.append("\n".join(paras))
    return "\n\n".join(pool)


class CodexGen:
    """One generated rollout of one Codex generation (0.169 or classic 0.50)."""

    def __init__(
        self,
        tpl: dict[tuple[str, ...], dict[str, Any]],
        pool: str,
        rnd: random.Random,
        file_no: int,
        gen: str,
    ) -> None:
        self.tpl, self.pool, self.rnd, self.file_no, self.gen = tpl, pool, rnd, file_no, gen
        self.tid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        self.t0 = datetime(2026, 11, 22, 1, 0, 0, tzinfo=UTC) + timedelta(seconds=file_no * 3600)
        self.ms = 0
        self.ordinal = 0
        self.lines: list[str] = []
        self.counter = 0

    def text(self, lo: int, hi: int) -> str:
        self.counter += 1
        n = self.rnd.randint(lo, hi)
        start = self.rnd.randrange(0, len(self.pool) - n)
        return f"[f{self.file_no}#{self.counter}] " + self.pool[start : start + n]

    def ts(self) -> str:
        self.ms += self.rnd.randint(1, 4000)
        t = self.t0 + timedelta(milliseconds=self.ms)
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"

    def t(self, *key: str) -> Any:
        return json.loads(json.dumps(self.tpl[(self.gen, *key)]))

    def put(self, obj: dict[str, Any]) -> None:
        obj["timestamp"] = self.ts()
        if self.gen == "codex-0.169.0":
            obj["ordinal"] = self.ordinal
        self.ordinal += 1
        self.lines.append(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))

    def rollout(self, target_bytes: int) -> bytes:
        meta = self.t("session_meta", "None", "None", "None")
        meta["payload"]["id"] = self.tid
        if "session_id" in meta["payload"]:
            meta["payload"]["session_id"] = self.tid
        self.put(meta)
        size = 0
        turn = 0
        while size < target_bytes:
            turn += 1
            before = sum(len(x) + 1 for x in self.lines)
            self.turn169(turn) if self.gen == "codex-0.169.0" else self.turn_classic(turn)
            size = before + sum(len(x) + 1 for x in self.lines[-200:])  # cheap estimate
            size = sum(len(x) + 1 for x in self.lines) if turn % 8 == 0 else size
        return ("\n".join(self.lines) + "\n").encode()

    def msg(self, role: str, text: str, kind: str = "output_text") -> dict[str, Any]:
        o = self.t("response_item", "message", role, "None")
        o["payload"]["content"] = [{"type": kind, "text": text}]
        return o

    def tokens(self) -> None:
        for _ in range(self.rnd.randint(3, 6)):
            o = self.t("event_msg", "token_count", "None", "None")
            info = o["payload"].get("info") or {}
            tot = info.get("total_token_usage")
            if isinstance(tot, dict):
                tot["input_tokens"] = self.rnd.randint(1000, 90000)
            self.put(o)

    def tool_calls(self, turn: int, shell: str) -> None:
        for k in range(self.rnd.randint(1, 4)):
            call_id = f"call_{self.file_no}_{turn}_{k}"
            fc = self.t("response_item", "function_call", "None", shell)
            fc["payload"]["call_id"] = call_id
            body = self.text(100, 4000)
            if shell == "exec_command":
                fc["payload"]["arguments"] = json.dumps(
                    {"cmd": f"grep -rn item{self.counter} src/", "yield_time_ms": 1000}
                )
                out = (
                    f"Chunk ID: {k}\nWall time: 0.{self.rnd.randint(10, 99)} seconds\nProcess exited with "
                    f"code {self.rnd.randint(0, 2)}\nOriginal token count: 5\nOutput:\n{body}"
                )
            else:
                fc["payload"]["arguments"] = json.dumps(
                    {"command": ["bash", "-lc", f"grep -rn item{self.counter} src/"], "timeout_ms": 10000}
                )
                out = json.dumps({"output": body, "metadata": {"exit_code": 0, "duration_seconds": 0.1}})
            self.put(fc)
            fo = self.t("response_item", "function_call_output", "None", "None")
            fo["payload"]["call_id"] = call_id
            fo["payload"]["output"] = out
            self.put(fo)

    def turn169(self, turn: int) -> None:
        self.put(self.t("event_msg", "task_started", "None", "None"))
        self.put(self.t("world_state", "None", "None", "None"))
        self.put(self.t("turn_context", "None", "None", "None"))
        self.put(self.t("event_msg", "thread_settings_applied", "None", "None"))
        self.put(self.msg("developer", self.text(1000, 6000), "input_text"))
        prompt = self.text(20, 600)
        uc = self.t("event_msg", "item_completed", "None", "None")
        uc["payload"]["item"] = {
            "type": "UserMessage",
            "id": f"u{self.counter}",
            "content": [{"type": "text", "text": prompt, "text_elements": []}],
        }
        self.put(uc)
        copy = self.msg("user", prompt, "input_text")
        copy["payload"]["internal_chat_message_metadata_passthrough"] = {"content_item_kinds": ["user.text"]}
        self.put(copy)
        r = self.t("response_item", "reasoning", "None", "None")
        r["payload"]["summary"] = [{"type": "summary_text", "text": self.text(100, 800)}]
        self.put(r)
        self.tool_calls(turn, "exec_command")
        self.tokens()
        self.put(self.t("token_usage_record", "None", "None", "None"))
        self.put(self.msg("assistant", self.text(300, 6000)))
        self.tokens()
        self.put(self.t("event_msg", "task_complete", "None", "None"))

    def turn_classic(self, turn: int) -> None:
        self.put(self.t("turn_context", "None", "None", "None"))
        prompt = self.text(20, 600)
        self.put(
            self.msg(
                "user",
                "<environment_context>\n  <cwd>/home/dev/ws</cwd>\n</environment_context>",
                "input_text",
            )
        )
        self.put(self.msg("user", prompt, "input_text"))
        um = self.t("event_msg", "user_message", "None", "None")
        um["payload"]["message"] = prompt
        self.put(um)
        text = self.text(100, 800)
        r = self.t("response_item", "reasoning", "None", "None")
        r["payload"]["summary"] = [{"type": "summary_text", "text": text}]
        self.put(r)
        ar = self.t("event_msg", "agent_reasoning", "None", "None")
        ar["payload"]["text"] = text
        self.put(ar)
        self.tool_calls(turn, "shell")
        self.tokens()
        answer = self.text(300, 6000)
        self.put(self.msg("assistant", answer))
        am = self.t("event_msg", "agent_message", "None", "None")
        am["payload"]["message"] = answer
        self.put(am)
        self.tokens()


def corpus(mb: int) -> list[tuple[str, bytes]]:
    """Deterministic generated rollouts totalling about `mb` MB, cached on disk."""
    folder = CACHE / f"v{GEN_VERSION}-seed{SEED}-{mb}mb"
    done = folder / "DONE"
    if not done.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tpl = templates()
        pool = prose_pool(tpl)
        rnd = random.Random(SEED)
        total, n = 0, 0
        while total < mb * 1_000_000:
            gen = "codex-0.169.0" if rnd.random() < 0.7 else "codex-0.50.0"
            g = CodexGen(tpl, pool, random.Random(rnd.getrandbits(64)), n, gen)
            data = g.rollout(min(rnd.randint(200_000, 3_000_000), mb * 1_000_000 - total + 10_000))
            name = f"rollout-2026-11-22T01-00-00-{g.tid}.jsonl"
            (folder / name).write_bytes(data)
            total += len(data)
            n += 1
        done.write_text(str(n))
    return [(str(p), p.read_bytes()) for p in sorted(folder.glob("rollout-*.jsonl"))]


if __name__ == "__main__":  # `python benches/codex_corpus.py [MB]`: generate (or find) the cached corpus
    import sys

    files = corpus(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
    print(f"{len(files)} rollouts, {sum(len(d) for _, d in files) / 1e6:.0f} MB in {CACHE}")
