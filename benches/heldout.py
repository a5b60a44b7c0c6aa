"""Held-out-style Codex rollouts: corpus sessions rewritten with long multilingual texts and many escapes.

The corpus mix (codex_corpus.py) reuses the corpus's own English prose; held-out content is what the
tests never saw. Each generated file takes a real session from tests/data/corpus (both generations)
as its skeleton and replays its records, episode after episode, until the file reaches its size:

- every text a row is made of (prompts, answers, developer context, reasoning summaries, event
  copies of them, the session's base instructions) is replaced by a long generated text mixing CJK,
  Korean, Arabic, Hebrew, Cyrillic, Greek, Devanagari, Thai, accented Latin, emoji (astral, ZWJ
  sequences, flags), Markdown and code with quotes, backslashes, tabs and ANSI colour codes; a copy
  of a text stays a copy (the twin's dedupe sees what it would see in a real file);
- before each assistant answer, 0-6 tool calls with realistic payloads: shell commands (quotes,
  regexes, Windows paths, non-ASCII paths) and their outputs (source files, grep hits, test runs,
  JSON), apply_patch calls with patches; their arguments and some outputs are JSON inside JSON,
  sometimes written with `ensure_ascii` (so `\\u00e9` and escaped surrogate pairs nest);
- about one file in seven is written with `ensure_ascii=True` (every non-ASCII character a
  `\\uXXXX` escape, astral ones as surrogate pairs), the rest as raw UTF-8 like the real CLI;
- ids are renamed per file and per episode (call ids stay paired), timestamps and ordinals renumbered.

Deterministic (seeded), cached under target/bench-heldout/.
"""

# ruff: noqa: RUF001 - look-alike characters (fullwidth commas, Greek, math letters) are the point here

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from codex_corpus import templates

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "corpus"
CACHE = ROOT / "target" / "bench-heldout"
SEED = 20261207
GEN_VERSION = 1
GENERATIONS = ("codex-0.169.0", "codex-0.50.0")
ID_KEYS = frozenset(
    {"id", "call_id", "turn_id", "root_turn_id", "parent_turn_id", "thread_id", "session_id", "window_id"}
)

SENTENCES = [
    "我们需要先检查配置文件是否存在，然后再启动服务。",
    "这个函数会返回一个新的列表，而不是修改原来的对象。",
    "测试全部通过了，但是覆盖率还不够高，尤其是错误处理的分支。",
    "数据库迁移已经完成，索引也重建好了。",
    "設定ファイルを読み込んでから、キャッシュを更新します。",
    "このテストは時々失敗するので、原因を調査しています。",
    "変更をコミットする前に、フォーマッタを実行してください。",
    "빌드가 성공했지만 경고가 세 개 있습니다.",
    "이 함수는 빈 문자열을 받으면 오류를 반환합니다.",
    "تم تحديث الملف بنجاح، ولكن هناك تحذير واحد يجب مراجعته.",
    "يرجى التحقق من إعدادات الاتصال بقاعدة البيانات قبل التشغيل.",
    "הקובץ נשמר בהצלחה, אבל הבדיקות עדיין רצות.",
    "Сборка завершилась успешно, но есть два предупреждения.",
    "Проверьте, что путь к файлу указан правильно: «/srv/данные/отчёт.csv».",
    "Η δοκιμή απέτυχε λόγω χρονικού ορίου στο δίκτυο.",
    "परीक्षण सफलतापूर्वक पूरा हुआ, अब हम परिवर्तन भेज सकते हैं।",
    "ไฟล์ถูกบันทึกเรียบร้อยแล้ว และการทดสอบผ่านทั้งหมด",
    "Ça marche déjà très bien, merci à l'équipe ! Reste à vérifier l'encodage.",
    "Größere Änderungen müssen überprüft werden, bevor wir fortfahren – „bitte“ sorgfältig.",
    "¿Podrías revisar la configuración? La señal «niño» está en el año pasado.",
    "Tiếng Việt có nhiều dấu: người, được, những, nghiêng.",
    "Zażółć gęślą jaźń — polski tekst z ogonkami.",
    "Ångström, smörgåsbord och fjärran; naïve café résumé façade coöperate.",
    'The parser splits on "\\n", not on "\\r\\n"; Windows paths like C:\\Users\\dev\\src stay intact.',
    "Run `make test` and check that the output says 'all passed' before you commit.",
    'I changed `load("config.json")` to read the file once and cache the parsed result.',
    'The regex `^\\s*(\\d+)\\.(\\d+)\\s*$` matches a version like "1.2" with surrounding blanks.',
    "Next I will update the README, then re-run the benchmark to confirm the speed-up.",
    "∑ᵢ xᵢ² ≤ ε holds for every batch → the bound ≠ the estimate ≈ ∞ only in theory.",
    "“Smart quotes”, ‘single ones’, «guillemets» and „Anführungszeichen“ all survive a round trip.",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math letters 𝑥² + 𝑦² = 𝑧² sit outside the Basic Multilingual Plane.",
]
EMOJI = [
    "🚀",
    "✅",
    "❌",
    "🔥",
    "👩‍💻",
    "👨‍👩‍👧‍👦",
    "🇯🇵",
    "🇩🇪",
    "🧪",
    "📦",
    "😀",
    "🤖",
    "⚠️",
    "💡",
    "🎉",
    "🏳️‍🌈",
]
WORDS = ["données", "配置", "ファイル", "résumé", "путь", "naïve", "数据", "테스트", "ملف", "straße", "cache"]
CODE = [
    'def {w}_{n}(path: str, sep: str = "\\t") -> list[str]:',
    '    """{s}"""',
    '    return path.replace("\\\\", "/").split("\\n")',
    '    msg = f"{w}: {{value!r}}\\t→ {{other}}"',
    '    pattern = re.compile(r"^\\s*(\\d+)\\.(\\d+)\\s*$")',
    '    target = "C:\\\\Users\\\\dev\\\\文档\\\\{w}_{n}.txt"',
    "const {w}{n} = (x) => `${{x}} — {s}`;",
    'printf("%s\\t%d\\n", "{w}", {n});',
    '    "{w}_{n}": "{s}",',
    "# {s}",
    "// TODO({w}): {s}",
    "    if (s[i] == '\"' || s[i] == '\\\\') {{ return -{n}; }}",
    '\tcase {n}: return "{w}";',
    "SELECT id, name FROM \"{w}\" WHERE note LIKE '%{w}%' AND n > {n};",
]
COMMANDS = [
    'rg -n "TODO|FIXME" src/ --glob "!*.lock"',
    "sed -n '1,200p' src/模块/数据_{n}.py",
    'python -c "import json,sys; print(json.dumps({{\\"a\\": {n}}}))"',
    'grep -rn "\\b{w}\\b" . | head -50',
    "printf 'a\\tb\\n' | awk -F'\\t' '{{print $2}}'",
    "git log --oneline -n 20 -- docs/Überblick.md",
    'cat "docs/{w} notes.md"',
    "pytest -q tests/test_{w}_{n}.py -k 'not slow'",
]


class Text:
    """Seeded generator of long multilingual texts, code and tool output."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.counter = 0
        self.prose_pool = self._pool(self._paragraph, 2_000_000)
        self.code_pool = self._pool(self._code_block, 600_000)

    def _pool(self, part: Any, size: int) -> str:
        parts, n = [], 0
        while n < size:
            p = part()
            parts.append(p)
            n += len(p)
        return "".join(parts)

    def _sentence(self) -> str:
        s = self.rnd.choice(SENTENCES)
        if self.rnd.random() < 0.25:
            s += " " + self.rnd.choice(EMOJI)
        return s

    def _code_line(self) -> str:
        line = self.rnd.choice(CODE)
        return line.format(w=self.rnd.choice(WORDS), n=self.rnd.randint(0, 999), s=self.rnd.choice(SENTENCES))

    def _code_block(self) -> str:
        return "\n".join(self._code_line() for _ in range(self.rnd.randint(3, 30))) + "\n"

    def _paragraph(self) -> str:
        r = self.rnd.random()
        if r < 0.12:
            return "```python\n" + self._code_block() + "```\n\n"
        if r < 0.25:
            return "".join(f"- {self._sentence()}\n" for _ in range(self.rnd.randint(2, 6))) + "\n"
        if r < 0.3:
            return f"## {self._sentence()}\n\n"
        return " ".join(self._sentence() for _ in range(self.rnd.randint(1, 6))) + "\n\n"

    def _window(self, pool: str, lo: int, hi: int) -> str:
        n = self.rnd.randint(lo, hi)
        start = self.rnd.randrange(0, len(pool) - n)
        return pool[start : start + n]

    def prose(self, lo: int, hi: int) -> str:
        """A unique text (its first characters number it) of lo..hi characters."""
        self.counter += 1
        return f"[h{self.counter}] " + self._window(self.prose_pool, lo, hi)

    def code(self, lo: int, hi: int) -> str:
        return self._window(self.code_pool, lo, hi)

    def command(self) -> str:
        self.counter += 1
        return self.rnd.choice(COMMANDS).format(w=self.rnd.choice(WORDS), n=self.counter)

    def output(self) -> str:
        """What a shell command prints: a file, grep hits, a coloured test run or JSON."""
        r = self.rnd.random()
        if r < 0.4:
            return self.code(200, 30000)
        if r < 0.6:
            hits = self.code(200, 8000).split("\n")
            return "\n".join(f"src/{self.rnd.choice(WORDS)}.py:{i + 1}:{h}" for i, h in enumerate(hits))
        if r < 0.8:
            lines = [
                f"\x1b[32mPASSED\x1b[0m tests/test_{self.rnd.choice(WORDS)}.py::test_{i} {self._sentence()}"
                for i in range(self.rnd.randint(3, 60))
            ]
            lines.append(f"\x1b[31mFAILED\x1b[0m\r\n{self.prose(50, 800)}")
            return "\n".join(lines)
        doc = {"items": [{"name": self.rnd.choice(WORDS), "note": self.prose(10, 300)} for _ in range(8)]}
        return json.dumps(doc, ensure_ascii=self.rnd.random() < 0.5, indent=2)

    def patch(self) -> str:
        path = f"src/{self.rnd.choice(WORDS)}/{self.rnd.choice(WORDS)}_{self.counter}.py"
        old = "\n".join("-" + x for x in self.code(100, 1500).split("\n"))
        new = "\n".join("+" + x for x in self.code(100, 3000).split("\n"))
        return f"*** Begin Patch\n*** Update File: {path}\n@@\n{old}\n{new}\n*** End Patch"


def _sessions() -> list[tuple[str, list[dict[str, Any]]]]:
    """Every corpus rollout (generation, records) with a session_meta and a few records after it."""
    out = []
    for gen in GENERATIONS:
        for f in sorted((CORPUS / gen / "sessions").rglob("rollout-*.jsonl")):
            records = [json.loads(x) for x in f.read_bytes().splitlines() if x.strip()]
            if len(records) >= 3 and records[0].get("type") == "session_meta":
                out.append((gen, records))
    return out


# text length (characters) by what a text is
LENGTHS = {
    "user": (20, 2500),
    "assistant": (200, 12000),
    "developer": (1000, 15000),
    "system": (1000, 15000),
    "reasoning": (100, 3000),
    "base": (8000, 25000),
    "other": (20, 1500),
}
EVENT_KINDS = {"user_message": "user", "agent_message": "assistant", "agent_reasoning": "reasoning"}


class Rollout:
    """One held-out rollout replaying the records of a corpus session with new content."""

    def __init__(
        self,
        gen: str,
        base: list[dict[str, Any]],
        text: Text,
        tpl: dict[tuple[str, ...], dict[str, Any]],
        rnd: random.Random,
        file_no: int,
    ) -> None:
        self.gen, self.base, self.text, self.tpl, self.rnd = gen, base, text, tpl, rnd
        self.tid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        self.base_sid = base[0]["payload"].get("id")
        self.t0 = datetime(2026, 12, 7, 1, 0, 0, tzinfo=UTC) + timedelta(seconds=file_no * 3600)
        self.ms = self.ordinal = self.size = self.episode = 0
        self.lines: list[str] = []
        self.ascii = rnd.random() < 0.15
        self.ids: dict[str, str] = {}
        self.texts: dict[str, str] = {}

    def new_id(self, old: str) -> str:
        if old == self.base_sid:
            return self.tid
        return self.ids.setdefault(old, f"{old}-e{self.episode}")

    def new_text(self, old: str, kind: str) -> str:
        """The replacement of `old` in this episode (a copy of a text stays a copy)."""
        if old not in self.texts:
            lo, hi = LENGTHS[kind]
            if old.startswith("<environment_context>"):
                new = old  # structured, short: the mapper classifies it by its first line
            elif old.startswith(("<", "#")):
                first, _, rest = old.partition("\n")
                last = rest.rsplit("\n", 1)[-1]
                new = f"{first}\n{self.text.prose(lo, hi)}" + (f"\n{last}" if last.startswith("</") else "")
            else:
                new = self.text.prose(lo, hi)
            self.texts[old] = new
        return self.texts[old]

    def walk(self, v: Any, key: str, kind: str | None) -> Any:
        """`v` with ids renamed and, where `kind` is given, texts replaced."""
        if isinstance(v, dict):
            return {k: self.walk(x, k, kind) for k, x in v.items()}
        if isinstance(v, list):
            return [self.walk(x, key, kind) for x in v]
        if isinstance(v, str) and v:
            if key in ID_KEYS:
                return self.new_id(v)
            if kind is not None and key in ("text", "message", "last_agent_message"):
                return self.new_text(v, kind)
        return v

    def rewrite(self, o: dict[str, Any]) -> dict[str, Any]:
        t, p = o.get("type"), o.get("payload")
        pt = p.get("type") if isinstance(p, dict) else None
        kind: str | None = None
        if t == "session_meta":
            kind = "base"
        elif t == "response_item" and pt == "message":
            kind = str(p.get("role")) if p.get("role") in LENGTHS else "other"
        elif t == "response_item" and pt == "reasoning":
            kind = "reasoning"
        elif t == "event_msg":
            item = p.get("item") if isinstance(p.get("item"), dict) else {}
            kind = "user" if item.get("type") == "UserMessage" else EVENT_KINDS.get(str(pt), "other")
        elif t == "compacted":
            kind = "assistant"
        out: dict[str, Any] = self.walk(o, "", kind)
        return out

    def put(self, o: dict[str, Any]) -> None:
        self.ms += self.rnd.randint(1, 4000)
        t = self.t0 + timedelta(milliseconds=self.ms)
        o["timestamp"] = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
        if "ordinal" in o:
            o["ordinal"] = self.ordinal
        self.ordinal += 1
        line = json.dumps(o, ensure_ascii=self.ascii, separators=(",", ":"))
        self.lines.append(line)
        self.size += len(line.encode()) + 1

    def template(self, ptype: str, name: str = "None") -> dict[str, Any]:
        o: dict[str, Any] = self.walk(self.tpl[(self.gen, "response_item", ptype, "None", name)], "", None)
        return o

    def tool_calls(self) -> None:
        """0-6 tool calls with their outputs (shell commands mostly, some apply_patch)."""
        inner_ascii = self.rnd.random() < 0.5
        for k in range(self.rnd.choice((0, 1, 1, 2, 2, 3, 4, 6))):
            call_id = f"call_h{self.episode}_{k}_{self.text.counter}"
            if self.rnd.random() < 0.15:
                call, out = (
                    self.template("custom_tool_call", "apply_patch"),
                    self.template("custom_tool_call_output"),
                )
                call["payload"]["input"] = self.text.patch()
                result = {"output": "Success. Updated the following files:\nM src/数据.py\n", "metadata": {}}
                out["payload"]["output"] = json.dumps(result, ensure_ascii=inner_ascii)
            elif self.gen == "codex-0.169.0":
                call, out = (
                    self.template("function_call", "exec_command"),
                    self.template("function_call_output"),
                )
                args = {"cmd": self.text.command(), "workdir": "/home/dev/项目", "yield_time_ms": 1000}
                call["payload"]["arguments"] = json.dumps(args, ensure_ascii=inner_ascii)
                out["payload"]["output"] = (
                    f"Chunk ID: {self.rnd.getrandbits(24):06x}\n"
                    f"Wall time: 0.{self.rnd.randint(10, 99)} seconds\n"
                    f"Process exited with code {self.rnd.randint(0, 2)}\n"
                    f"Original token count: 512\nOutput:\n{self.text.output()}"
                )
            else:
                call, out = self.template("function_call", "shell"), self.template("function_call_output")
                args = {"command": ["bash", "-lc", self.text.command()], "workdir": "/home/dev/项目"}
                call["payload"]["arguments"] = json.dumps(args, ensure_ascii=inner_ascii)
                result = {"output": self.text.output(), "metadata": {"exit_code": 0, "duration_seconds": 0.1}}
                out["payload"]["output"] = json.dumps(result, ensure_ascii=inner_ascii)
            call["payload"]["call_id"] = out["payload"]["call_id"] = call_id
            self.put(call)
            self.put(out)

    def build(self, target_bytes: int) -> bytes:
        self.put(self.rewrite(self.base[0]))
        while self.size < target_bytes:
            self.episode += 1
            self.ids, self.texts = {}, {}
            for o in self.base[1:]:
                p = o.get("payload")
                if o.get("type") == "response_item" and isinstance(p, dict) and p.get("role") == "assistant":
                    self.tool_calls()
                self.put(self.rewrite(o))
        return ("\n".join(self.lines) + "\n").encode()


def corpus(mb: int) -> list[tuple[str, bytes]]:
    """Deterministic held-out-style rollouts totalling about `mb` MB, cached on disk."""
    folder = CACHE / f"v{GEN_VERSION}-seed{SEED}-{mb}mb"
    done = folder / "DONE"
    if not done.exists():
        folder.mkdir(parents=True, exist_ok=True)
        sessions, tpl = _sessions(), templates()
        rnd = random.Random(SEED)
        text = Text(random.Random(rnd.getrandbits(64)))
        total, n = 0, 0
        while total < mb * 1_000_000:
            gen, base = rnd.choice(sessions)
            g = Rollout(gen, base, text, tpl, random.Random(rnd.getrandbits(64)), n)
            data = g.build(min(rnd.randint(100_000, 1_500_000), mb * 1_000_000 - total + 10_000))
            (folder / f"rollout-2026-12-07T01-00-00-{g.tid}.jsonl").write_bytes(data)
            total += len(data)
            n += 1
        done.write_text(str(n))
    return [(str(p), p.read_bytes()) for p in sorted(folder.glob("rollout-*.jsonl"))]


if __name__ == "__main__":  # `python benches/heldout.py [MB]`: generate (or find) the cached corpus
    import sys

    files = corpus(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
    print(f"{len(files)} held-out rollouts, {sum(len(d) for _, d in files) / 1e6:.0f} MB in {CACHE}")
