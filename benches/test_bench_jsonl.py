"""JSONL hot path throughput: native extension vs the pure-Python twin vs the best pure-Python peer.

Plain `pytest` (benchmarks disabled) smoke-runs each benchmark once on a small generated corpus.
`make bench` (`--benchmark-enable`) or `OA_BENCH_MB=300` builds a large realistic corpus (a few
hundred MB of Codex rollouts generated from the shapes of the real ones in tests/data/corpus,
deterministic, cached under target/bench-corpus/), measures all three paths in ONE run, bytes in to
Python row dicts out, with the same number of timed rounds each (after one warm-up round), and writes
`benches/results/jsonl.json` with MB/s (best and median round), lines/s and the ratios native/twin and
native/peer. The peer mapping is simpler than the product's (fewer record kinds, no timestamp parsing,
whole-file splitting), so the native/peer ratio is conservative.
"""

from __future__ import annotations

import json
import os
import platform
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from hashlib import blake2b
from pathlib import Path
from typing import Any

import pytest

from oa_actors.jsonl import _pytail

try:
    from oa_actors import _oa_native
except ImportError:  # pragma: no cover - pure-Python install
    _oa_native = None  # type: ignore[assignment]

try:
    import orjson
except ImportError:  # pragma: no cover
    orjson = None  # type: ignore[assignment]
try:
    import msgspec
except ImportError:  # pragma: no cover
    msgspec = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "corpus"
CACHE = ROOT / "target" / "bench-corpus"
RESULTS = Path(__file__).resolve().parent / "results" / "jsonl.json"
CHUNK = 1 << 20
SEED = 20261122
GEN_VERSION = 1
SMOKE_MB = 2
FULL_MB = 300


# -- corpus generation --------------------------------------------------------------------------------
def _templates() -> dict[tuple[str, ...], dict[str, Any]]:
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


def _prose_pool(tpl: dict[tuple[str, ...], dict[str, Any]]) -> str:
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


class _Gen:
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
                out = f"Chunk ID: {k}\nWall time: 0.{self.rnd.randint(10, 99)} seconds\nProcess exited with code {self.rnd.randint(0, 2)}\nOriginal token count: 5\nOutput:\n{body}"
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
        tpl = _templates()
        pool = _prose_pool(tpl)
        rnd = random.Random(SEED)
        total, n = 0, 0
        while total < mb * 1_000_000:
            gen = "codex-0.169.0" if rnd.random() < 0.7 else "codex-0.50.0"
            g = _Gen(tpl, pool, random.Random(rnd.getrandbits(64)), n, gen)
            data = g.rollout(min(rnd.randint(200_000, 3_000_000), mb * 1_000_000 - total + 10_000))
            name = f"rollout-2026-11-22T01-00-00-{g.tid}.jsonl"
            (folder / name).write_bytes(data)
            total += len(data)
            n += 1
        done.write_text(str(n))
    return [(str(p), p.read_bytes()) for p in sorted(folder.glob("rollout-*.jsonl"))]


# -- the three contenders --------------------------------------------------------------------------
def run_tail(cls: Any, files: list[tuple[str, bytes]]) -> int:
    """JsonlTail.feed over 1 MiB chunks; returns the number of message rows."""
    rows = 0
    for path, data in files:
        t = cls(path)
        for i in range(0, len(data), CHUNK):
            rows += len(t.feed(data[i : i + CHUNK]).messages)
        rows += len(t.feed(b"", final=True).messages)
    return rows


def _key(*parts: Any) -> str:
    return blake2b("\x1f".join(map(str, parts)).encode(), digest_size=16).hexdigest()


def _texts(content: Any, types: tuple[str, ...]) -> str:
    if not isinstance(content, list):
        return ""
    return "\n".join(
        c["text"]
        for c in content
        if isinstance(c, dict) and c.get("type") in types and isinstance(c.get("text"), str)
    )


class _PeerFile:
    """Per-file state of the peer mapping."""

    def __init__(self, tid: str, seen: set[str]) -> None:
        self.tid, self.seen = tid, seen
        self.turn, self.seq = 0, 0
        self.turn_id: str | None = None
        self.pending: dict[Any, Any] = {}
        self.out: list[dict[str, Any]] = []

    def emit(self, role: str, kind: str, text: Any, data: Any, ident: Any, ts: Any) -> None:
        key = _key(self.tid, role, kind, ident, self.turn, 0)
        if key not in self.seen:
            self.seen.add(key)
            self.out.append(
                {
                    "threadId": self.tid,
                    "key": key,
                    "seq": self.seq,
                    "ts": ts,
                    "role": role,
                    "kind": kind,
                    "text": text,
                    "data": data,
                    "turnId": self.turn_id,
                }
            )
        self.seq += 1


def run_peer(loads: Any, files: list[tuple[str, bytes]]) -> int:
    """What a user would write: `loads` per line, a small mapping of the same records, a set for dedupe."""
    seen: set[str] = set()
    rows = 0
    for path, data in files:
        st = _PeerFile(path[-42:-6], seen)
        for line in data.split(b"\n"):
            if not line:
                continue
            try:
                o = loads(line)
            except Exception:
                continue
            p: Any
            t, p, ts = o.get("type"), o.get("payload"), o.get("timestamp")
            if not isinstance(p, dict):
                continue
            pt: Any = p.get("type")
            if t == "session_meta":
                st.tid = p.get("id") or st.tid
            elif t == "turn_context":
                st.turn_id = p.get("turn_id") or st.turn_id
            elif t == "event_msg":
                if pt == "user_message" or (
                    pt == "item_completed" and (p.get("item") or {}).get("type") == "UserMessage"
                ):
                    text = (
                        p.get("message")
                        if pt == "user_message"
                        else _texts(p["item"].get("content"), ("text",))
                    )
                    st.turn += 1
                    st.emit("user", "message", text, None, text, ts)
                elif pt == "task_started":
                    st.turn_id = p.get("turn_id") or st.turn_id
            elif t == "response_item":
                if pt == "message":
                    role = p.get("role")
                    if role == "assistant":
                        text = _texts(p.get("content"), ("output_text",))
                        st.emit("assistant", "message", text, None, text, ts)
                    elif role in ("developer", "system"):
                        text = _texts(p.get("content"), ("input_text",))
                        st.emit("system", "context", text, None, text, ts)
                elif pt == "reasoning":
                    text = _texts(p.get("summary"), ("summary_text",))
                    st.emit("assistant", "reason", text, None, text, ts)
                elif pt == "function_call":
                    st.pending[p.get("call_id")] = p
                elif pt == "function_call_output":
                    call = st.pending.pop(p.get("call_id"), None)
                    if call is not None:
                        args = loads(call.get("arguments") or "{}")
                        cmd = args.get("cmd") or " ".join(args.get("command") or [])
                        body: Any = p.get("output")
                        data_ = {"command": cmd, "exitCode": None, "output": body[:2000], "durationMs": None}
                        st.emit("tool", "cmd", cmd, data_, p.get("call_id"), ts)
        rows += len(st.out)
    return rows


# -- measurement -------------------------------------------------------------------------------------
def _mb(benchmark: Any) -> int:
    env = os.environ.get("OA_BENCH_MB")
    if env:
        return int(env)
    return FULL_MB if getattr(benchmark, "enabled", False) else SMOKE_MB


_RESULTS: dict[str, Any] = {}


def figures(files: list[tuple[str, bytes]], times: list[float], rows: int) -> dict[str, Any]:
    """Best of the timed rounds (the headline figure) and their median, per second."""
    nbytes = sum(len(d) for _, d in files)
    lines = sum(d.count(b"\n") for _, d in files)
    seconds = min(times)
    median = sorted(times)[len(times) // 2]
    return {
        "seconds": round(seconds, 4),
        "seconds_median": round(median, 4),
        "MB_per_s": round(nbytes / seconds / 1e6, 1),
        "MB_per_s_median": round(nbytes / median / 1e6, 1),
        "lines_per_s": round(lines / seconds),
        "lines_per_s_median": round(lines / median),
        "rounds": len(times),
        "rows": rows,
    }


def _record(name: str, files: list[tuple[str, bytes]], times: list[float], rows: int) -> None:
    _RESULTS[name] = figures(files, times, rows)
    _RESULTS["_corpus"] = {
        "files": len(files),
        "bytes": sum(len(d) for _, d in files),
        "lines": sum(d.count(b"\n") for _, d in files),
    }


def _timed(fn: Any, rounds: int) -> tuple[list[float], int]:
    times, rows = [], 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        rows = fn()
        times.append(time.perf_counter() - t0)
    return times, rows


def _rounds(files: list[tuple[str, bytes]]) -> int:
    """Timed rounds per contender: the same for all of them (one on the smoke corpus)."""
    return 3 if len(files) > 20 else 1


@pytest.fixture(scope="module")
def bench_files(request: pytest.FixtureRequest) -> list[tuple[str, bytes]]:
    env = os.environ.get("OA_BENCH_MB")
    enabled = bool(request.config.getoption("benchmark_enable", False)) if env is None else False
    return corpus(int(env) if env else (FULL_MB if enabled else SMOKE_MB))


def _peers() -> dict[str, Any]:
    found: dict[str, Any] = {}
    if orjson is not None:
        found["orjson"] = orjson.loads
    if msgspec is not None:
        found["msgspec"] = msgspec.json.Decoder().decode
    found["json"] = json.loads
    return found


@pytest.mark.skipif(_oa_native is None, reason="native extension not built")
def test_bench_native(benchmark: Any, bench_files: list[tuple[str, bytes]]) -> None:
    assert _oa_native is not None
    rows = benchmark.pedantic(run_tail, args=(_oa_native.JsonlTail, bench_files), rounds=1, iterations=1)
    assert rows > 0
    times, rows = _timed(lambda: run_tail(_oa_native.JsonlTail, bench_files), _rounds(bench_files))
    _record("native", bench_files, times, rows)


def test_bench_twin(benchmark: Any, bench_files: list[tuple[str, bytes]]) -> None:
    rows = benchmark.pedantic(run_tail, args=(_pytail.JsonlTail, bench_files), rounds=1, iterations=1)
    assert rows > 0
    times, rows = _timed(lambda: run_tail(_pytail.JsonlTail, bench_files), _rounds(bench_files))
    _record("twin", bench_files, times, rows)


@pytest.mark.parametrize("peer", sorted(_peers()))
def test_bench_peer(benchmark: Any, bench_files: list[tuple[str, bytes]], peer: str) -> None:
    loads = _peers()[peer]
    rows = benchmark.pedantic(run_peer, args=(loads, bench_files), rounds=1, iterations=1)
    assert rows > 0
    times, rows = _timed(lambda: run_peer(loads, bench_files), _rounds(bench_files))
    _record(f"peer_{peer}", bench_files, times, rows)


def test_bench_report(bench_files: list[tuple[str, bytes]]) -> None:
    """Ratios of the figures measured above in this run; written to benches/results/jsonl.json (full runs)."""
    if "native" not in _RESULTS or "twin" not in _RESULTS:
        pytest.skip("needs the native and twin benchmarks of this run")
    peers = {k: v for k, v in _RESULTS.items() if k.startswith("peer_")}
    best_peer = max(peers, key=lambda k: peers[k]["MB_per_s"]) if peers else None
    # same product output: the native path and its twin must produce the same rows
    assert _RESULTS["native"]["rows"] == _RESULTS["twin"]["rows"]
    native = _RESULTS["native"]["MB_per_s"]
    report = {
        "corpus": _RESULTS["_corpus"],
        "machine": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
        },
        "chunk_bytes": CHUNK,
        "results": {k: v for k, v in _RESULTS.items() if not k.startswith("_")},
        "best_peer": best_peer,
        "ratio_native_twin": round(native / _RESULTS["twin"]["MB_per_s"], 2),
        "ratio_native_best_peer": round(native / peers[best_peer]["MB_per_s"], 2) if best_peer else None,
        "ratio_native_best_peer_median": (
            round(_RESULTS["native"]["MB_per_s_median"] / peers[best_peer]["MB_per_s_median"], 2)
            if best_peer
            else None
        ),
    }
    report["targets"] = {
        "native_ge_1GBps": native >= 1000,
        "native_ge_10x_twin": report["ratio_native_twin"] >= 10,
        "native_ge_2x_best_peer": bool(best_peer) and report["ratio_native_best_peer"] >= 2,
    }
    print("\nJSONL throughput:", json.dumps(report, indent=2))
    if report["corpus"]["bytes"] >= 50_000_000:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")
