"""Generated sessions for search tests and benchmarks, from the corpus's own prose.

- `topic_sessions`: Codex rollout files whose threads each talk about one topic (English or
  Chinese keywords) amid the same filler text; a search for a topic's keywords must rank its thread
  first. Seeded, so a failure is reproducible, and different per seed, so nothing is tuned to it.
- `bench_rows`: rows (threads, messages) for a store of any size (the 1,000,000-message benchmark),
  prose windows of the corpus with words of several languages at Zipf-like frequencies.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.jsonl.corpus import CORPUS

# Topic words: rare in the filler, so they identify their thread.
_EN_WORDS = (
    "migration rollback postgres kubernetes deployment flaky timeout deadlock mutex websocket "
    "certificate renewal nginx proxy tokenizer embeddings cache eviction memoryleak profiler "
    "regression bisect webpack bundler dockerfile entrypoint cronjob scheduler throttling ratelimit "
    "oauth refresh keychain sandbox seccomp cgroup inotify debounce pagination cursor checksum "
    "compression zstd brotli parquet arrow dataframe pandas numpy tensor gradient optimizer latency "
    "histogram prometheus grafana alerting paging oncall incident postmortem hotfix changelog semver "
    "monorepo workspace lockfile vendoring linker symbol mangling segfault coredump valgrind "
    "sanitizer fuzzing corpus invariant property quickcheck shrinking"
)
EN_WORDS = _EN_WORDS.split()
_ZH_WORDS = (
    "数据库 迁移 回滚 部署 超时 死锁 缓存 分页 证书 代理 分词 向量 内存泄漏 性能分析 回归测试 "
    "打包 容器 镜像 调度 限流 认证 沙箱 监控 告警 日志 事故 复盘 热修复 版本 "
    "依赖 链接器 段错误 模糊测试 不变量 压缩 索引 查询 事务 并发 线程 进程 网络 协议 加密 签名 队列"
)
ZH_WORDS = _ZH_WORDS.split()
_JA_WORDS = (
    "データベース 移行 キャッシュ 認証 検索 テスト 設定 ファイル 日本語 全文検索 "
    "形態素解析 非同期処理 例外 修正 確認 実装 リリース"
)
JA_WORDS = _JA_WORDS.split()
_AR_WORDS = "الكتاب قاعدة البيانات الترحيل الخادم الشبكة المستخدم كلمة المرور البحث النص"
AR_WORDS = _AR_WORDS.split()
EMOJI = ["🚀", "🔥", "✅", "🐛", "🎉", "⚠️", "📦", "🔒", "🧪", "🦀"]
COMMANDS = (
    "pytest -q tests/store",
    "git status --short",
    "rg -n 'def search' oa_actors",
    "cargo test --quiet",
    "npm run build",
    "ls -la src/",
    "make lint",
    "python -m mypy oa_actors",
)


def prose() -> str:
    """The corpus's longest real text: Codex's base instructions (about 21,000 characters)."""
    f = sorted((CORPUS / "codex-0.169.0" / "sessions").rglob("rollout-*.jsonl"))[0]
    meta = json.loads(f.read_text().splitlines()[0])
    return str(meta["payload"]["base_instructions"]["text"])


class _Filler:
    def __init__(self, rnd: random.Random) -> None:
        self.text = " ".join(prose().split())
        self.rnd = rnd

    def window(self, lo: int, hi: int) -> str:
        n = self.rnd.randint(lo, hi)
        start = self.rnd.randrange(0, len(self.text) - n)
        return self.text[start : start + n]


# -- topic sessions (tests) -------------------------------------------------------------------------
@dataclass(frozen=True)
class TopicThread:
    """A generated thread, the words only it talks about, and its language."""

    thread_id: str
    words: tuple[str, ...]
    language: str
    path: Path


def _rollout(thread_id: str, cwd: str, turns: list[tuple[str, str, str, str]], day: int) -> list[str]:
    """A Codex rollout (classic format): per turn a prompt, a shell call with output, a reply."""
    lines: list[str] = []
    n = 0

    def rec(kind: str, payload: dict[str, Any]) -> None:
        nonlocal n
        n += 1
        ts = f"2026-10-{day:02d}T{(n // 3600) % 24:02d}:{(n // 60) % 60:02d}:{n % 60:02d}.000Z"
        lines.append(json.dumps({"timestamp": ts, "type": kind, "payload": payload}, ensure_ascii=False))

    rec("session_meta", {"id": thread_id, "timestamp": f"2026-10-{day:02d}T00:00:00.000Z", "cwd": cwd,
                         "originator": "codex_exec", "cli_version": "0.120.0", "source": "exec"})  # fmt: skip
    for t, (prompt, command, output, reply) in enumerate(turns):
        rec("response_item", {"type": "message", "role": "user",
                              "content": [{"type": "input_text", "text": prompt}]})  # fmt: skip
        rec("event_msg", {"type": "user_message", "message": prompt, "images": []})
        rec("response_item", {"type": "function_call", "name": "shell", "call_id": f"call_{t}",
                              "arguments": json.dumps({"command": ["bash", "-lc", command]})})  # fmt: skip
        rec("response_item", {"type": "function_call_output", "call_id": f"call_{t}",
                              "output": json.dumps({"output": output,
                                                    "metadata": {"exit_code": 0}})})  # fmt: skip
        rec("response_item", {"type": "message", "role": "assistant",
                              "content": [{"type": "output_text", "text": reply}]})  # fmt: skip
        rec("event_msg", {"type": "agent_message", "message": reply})
    return lines


def topic_sessions(root: Path, seed: int, threads: int = 24, turns: int = 4) -> list[TopicThread]:
    """Rollout files under root/2026/10/DD/: each thread mixes 3 topic words (English for half of
    the threads, Chinese for the other half) into filler text every thread shares, and mentions
    two words of other threads' topics once (so a query matches several threads and the ranking
    decides). Topic words are drawn without replacement: no two threads share one."""
    rnd = random.Random(seed)
    filler = _Filler(rnd)
    en, zh = rnd.sample(EN_WORDS, len(EN_WORDS)), rnd.sample(ZH_WORDS, len(ZH_WORDS))
    plans = []
    for i in range(threads):
        language = "en" if i % 2 == 0 else "zh"
        pool = en if language == "en" else zh
        plans.append((language, tuple(pool.pop() for _ in range(3))))
    out = []
    for i, (language, words) in enumerate(plans):
        others = [w for j, (lang, ws) in enumerate(plans) if j != i and lang == language for w in ws]
        tid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        sep = " " if language == "en" else ""
        turn_rows = []
        for turn in range(turns):
            mention = sep.join(rnd.sample(words, 2))
            prompt = f"{filler.window(40, 160)} {mention}"
            output = f"{filler.window(100, 600)} {rnd.choice(words)} {filler.window(20, 80)}"
            distract = " ".join(rnd.sample(others, 2)) if turn == 0 and others else ""
            reply = f"{filler.window(200, 900)} {sep.join(words)} {distract} {filler.window(50, 300)}"
            turn_rows.append((prompt, rnd.choice(COMMANDS), output, reply))
        day = 1 + i % 28
        folder = root / "2026" / "10" / f"{day:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"rollout-2026-10-{day:02d}T00-00-00-{tid}.jsonl"
        path.write_text("\n".join(_rollout(tid, f"/home/dev/p{i % 5}", turn_rows, day)) + "\n")
        out.append(TopicThread(tid, words, language, path))
    return out


# -- benchmark rows ----------------------------------------------------------------------------------
def _zipf_pick(rnd: random.Random, words: list[str]) -> str:
    # Rank r is drawn with probability ~ 1/r: a few words are common, most are rare.
    r = int(len(words) ** rnd.random())
    return words[min(r, len(words)) - 1]


def bench_rows(
    messages: int, seed: int, per_thread: int = 200, batch: int = 2_000
) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Batches of (threads, messages) in thread order, about `per_thread` messages per thread:
    users' prompts, replies, reasoning, commands with output, context; 5% in Chinese or Japanese,
    1% Arabic, 2% with emoji. Timestamps rise through 2025-2026 thread after thread."""
    rnd = random.Random(seed)
    filler = _Filler(rnd)
    vocab = EN_WORDS + ZH_WORDS + JA_WORDS
    threads: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    n_threads = max(1, messages // per_thread)
    t0 = 1_735_689_600_000  # 2025-01-01
    span = 700 * 86_400_000
    made = 0
    for i in range(n_threads):
        tid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        count = per_thread if i < n_threads - 1 else messages - made
        ts = t0 + span * i // n_threads
        source = "codex" if rnd.random() < 0.7 else "claude"
        title = filler.window(30, 80)
        threads.append({"threadId": tid, "source": source, "title": title, "cwd": f"/home/dev/p{i % 50}",
                        "createdAt": ts, "updatedAt": ts + count * 5_000})  # fmt: skip
        for seq in range(count):
            ts += rnd.randint(1_000, 9_000)
            roll = rnd.random()
            text = filler.window(60, 1_200)
            data: dict[str, Any] | None = None
            role, kind = "assistant", "message"
            if roll < 0.15:
                role, kind = "user", "message"
                text = filler.window(20, 300)
            elif roll < 0.3:
                kind = "reason"
            elif roll < 0.7:
                role, kind = "tool", "cmd"
                text = rnd.choice(COMMANDS)
                data = {"command": text, "exitCode": 0, "output": filler.window(0, 2_000), "durationMs": 40}
            elif roll < 0.8:
                role, kind = "system", "context"
            words = [_zipf_pick(rnd, vocab) for _ in range(rnd.randint(0, 3))]
            lang = rnd.random()
            if lang < 0.05:
                text = "".join(rnd.choice(ZH_WORDS + JA_WORDS) for _ in range(rnd.randint(5, 40)))
            elif lang < 0.06:
                text = " ".join(rnd.choice(AR_WORDS) for _ in range(rnd.randint(3, 20)))
            elif lang < 0.08:
                words.append(rnd.choice(EMOJI))
            if words:
                text = f"{text} {' '.join(words)}"
            key = uuid.UUID(int=rnd.getrandbits(128)).hex
            rows.append({"threadId": tid, "key": key, "seq": seq, "ts": ts, "role": role, "kind": kind,
                         "text": text, "data": data, "turnId": None})  # fmt: skip
            made += 1
            if len(rows) >= batch:
                yield threads, rows
                threads, rows = [], []
    if rows or threads:
        yield threads, rows
