"""Claude Code hot path throughput: native extension vs the pure-Python twin vs the best pure-Python peer.

Same method as test_bench_jsonl.py (the Codex benchmark), on Claude Code session files:

Plain `pytest` (benchmarks disabled) smoke-runs each benchmark once on a small generated corpus (~2 MB).
`make bench` (`--benchmark-enable`) or `OA_BENCH_MB=300` builds a large realistic corpus (a few hundred
MB of `~/.claude/projects/<escaped-cwd>/<sessionId>.jsonl` files, plus subagent transcripts
`<sessionId>/subagents/agent-<agentId>.jsonl`, generated from the shapes of the real 2.1.197 files in
tests/data/corpus/claude-2.1.197, deterministic, cached under target/bench-claude/), measures all three
paths in ONE run, bytes in to Python row dicts out, with the same number of timed rounds each (after
one warm-up round), prints each target as a ratio beside its goal and records in
`benches/results/claude.json` MB/s (best and median round), lines/s and the ratios native/twin and
native/peer.

The corpus mixes what real sessions hold: queue-operation/last-prompt/mode/ai-title/file-history
metadata lines, typed prompts, attachments (agent/skill listings, hooks), one assistant record per
content block (thinking, text, tool_use) each repeating the response's usage, tool results with their
structured `toolUseResult` (Bash stdout, Read file contents, Edit originalFile + patch, Write content,
Grep file lists, TodoWrite lists, Agent results), system turn_duration records and subagent files.
Session ids, uuids, message/tool ids and texts are unique per file.

The native backend may not map Claude files (an older build counts their lines as `unknown` and
returns no rows). That is detected on the smoke corpus by comparing the native rows with the twin's
(count and keys); the report then says `native: unavailable (...)` and gives no native ratio. As
soon as a build maps Claude files the same way as the twin, native is measured.

The peer mapping is simpler than the product's (fewer tools, no timestamp parsing, whole-file
splitting, no excerpts), so the native/peer ratio is conservative.
"""

from __future__ import annotations

import functools
import json
import os
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from codex_corpus import prose_pool, templates  # the same prose pool as the Codex corpus mix
from measure import Record, figures, goal_line, goal_ratio, timed
from peers import CHUNK, PeerFile, loads_peers, run_tail

from oa_actors.jsonl import _pytail

try:
    from oa_actors import _oa_native
except ImportError:  # pragma: no cover - pure-Python install
    _oa_native = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parent.parent
CLAUDE = ROOT / "tests" / "data" / "corpus" / "claude-2.1.197" / "projects"
CACHE = ROOT / "target" / "bench-claude"
SEED = 20261122
GEN_VERSION = 1
SMOKE_MB = 2
FULL_MB = 300
UNAVAILABLE = "unavailable (no Claude mapping in this build)"


# -- corpus generation --------------------------------------------------------------------------------
def _kind(o: dict[str, Any]) -> str:
    t = str(o.get("type"))
    if t in ("user", "assistant"):
        c = (o.get("message") or {}).get("content")
        return t + ("/str" if isinstance(c, str) else "/" + ",".join(str(b.get("type")) for b in c or []))
    if t == "attachment":
        return t + "/" + str((o.get("attachment") or {}).get("type"))
    if t == "system":
        return t + "/" + str(o.get("subtype"))
    if t == "queue-operation":
        return t + "/" + str(o.get("operation"))
    return t


def _claude_templates() -> dict[str, dict[str, Any]]:
    """The first real main-file line of each kind in the Claude corpus (sidechain lines left out)."""
    out: dict[str, dict[str, Any]] = {}
    for f in sorted(CLAUDE.rglob("*.jsonl")):
        for line in f.read_bytes().splitlines():
            o = json.loads(line)
            if o.get("isSidechain") is True or o.get("isMeta") is True or o.get("isApiErrorMessage"):
                continue
            out.setdefault(_kind(o), o)
    return out


def _uuid(rnd: random.Random) -> str:
    return str(uuid.UUID(int=rnd.getrandbits(128), version=4))


class _ClaudeGen:
    """One session file (or one subagent transcript) of realistic Claude Code records."""

    def __init__(
        self,
        tpl: dict[str, dict[str, Any]],
        pool: str,
        rnd: random.Random,
        file_no: int,
        sid: str,
        cwd: str,
        agent_id: str | None = None,
    ) -> None:
        self.tpl, self.pool, self.rnd, self.file_no = tpl, pool, rnd, file_no
        self.sid, self.cwd, self.agent_id = sid, cwd, agent_id
        self.t0 = datetime(2026, 11, 22, 1, 0, 0, tzinfo=UTC) + timedelta(seconds=file_no * 3600)
        self.ms = 0
        self.counter = 0
        self.parent: str | None = None
        self.prompt_id: str | None = None
        self.lines: list[str] = []
        self.size = 0
        self.subagents: list[_ClaudeGen] = []

    # helpers
    def text(self, lo: int, hi: int) -> str:
        self.counter += 1
        n = self.rnd.randint(lo, hi)
        start = self.rnd.randrange(0, len(self.pool) - n)
        return (
            f"[c{self.file_no}{'/' + self.agent_id if self.agent_id else ''}#{self.counter}] "
            + self.pool[start : start + n]
        )

    def ts(self) -> str:
        self.ms += self.rnd.randint(1, 3000)
        t = self.t0 + timedelta(milliseconds=self.ms)
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"

    def t(self, kind: str) -> Any:
        return json.loads(json.dumps(self.tpl[kind]))

    def hexid(self, prefix: str, n: int = 24) -> str:
        return prefix + f"{self.rnd.getrandbits(n * 4):0{n}x}"

    def write(self, obj: dict[str, Any]) -> None:
        line = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        self.lines.append(line)
        self.size += len(line.encode()) + 1

    def meta(self, obj: dict[str, Any]) -> None:
        """A metadata line (no uuid)."""
        if "sessionId" in obj:
            obj["sessionId"] = self.sid
        if "timestamp" in obj:
            obj["timestamp"] = self.ts()
        self.write(obj)

    def rec(self, obj: dict[str, Any]) -> str:
        """A transcript record chained on the previous one; returns its uuid."""
        u = _uuid(self.rnd)
        obj["parentUuid"] = self.parent
        obj["isSidechain"] = self.agent_id is not None
        if self.agent_id is not None:
            obj["agentId"] = self.agent_id
        if "promptId" in obj:
            obj["promptId"] = self.prompt_id
        obj["uuid"] = u
        obj["timestamp"] = self.ts()
        obj["cwd"] = self.cwd
        obj["sessionId"] = self.sid
        self.write(obj)
        self.parent = u
        return u

    # records
    def prompt(self) -> str:
        self.prompt_id = _uuid(self.rnd)
        text = self.text(20, 1500)
        if self.agent_id is None:
            q = self.t("queue-operation/enqueue")
            q["content"] = text
            self.meta(q)
            self.meta(self.t("queue-operation/dequeue"))
        u = self.t("user/str")
        u["message"]["content"] = text
        self.rec(u)
        return text

    def response(self, blocks: list[dict[str, Any]]) -> list[str]:
        """One API response: one assistant record per block, all with the response's id and usage."""
        mid, req = self.hexid("msg_"), self.hexid("req_", 20)
        usage = self.t("assistant/text")["message"]["usage"]
        usage["input_tokens"] = self.rnd.randint(1, 50)
        usage["cache_creation_input_tokens"] = self.rnd.randint(0, 20000)
        usage["cache_read_input_tokens"] = self.rnd.randint(0, 150000)
        usage["output_tokens"] = self.rnd.randint(10, 4000)
        stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
        uids = []
        for b in blocks:
            a = self.t("assistant/" + b["type"])
            a["message"]["id"] = mid
            a["message"]["content"] = [b]
            a["message"]["usage"] = usage
            a["message"]["stop_reason"] = stop
            a["requestId"] = req
            uids.append(self.rec(a))
        return uids

    def tool(self, name: str) -> tuple[dict[str, Any], Any, Any, bool]:
        """A tool_use block and its result: (block, result content, toolUseResult, is_error)."""
        path = f"{self.cwd}/src/mod{self.rnd.randint(0, 400)}_{self.counter}.py"
        if name == "Bash":
            body = self.text(50, 4000)
            inp: dict[str, Any] = {
                "command": f"grep -rn item{self.counter} src/ | head -50",
                "description": "Search",
            }
            if self.rnd.random() < 0.1:
                code = self.rnd.randint(1, 2)
                return (
                    self.block(name, inp),
                    f"Exit code {code}\n{body}",
                    f"Error: Exit code {code}\n{body}",
                    True,
                )
            res = {
                "stdout": body,
                "stderr": "",
                "interrupted": False,
                "isImage": False,
                "noOutputExpected": False,
            }
            return self.block(name, inp), body, res, False
        if name == "Read":
            content = self.text(300, 12000)
            lines = content.split("\n")
            numbered = "\n".join(f"{i + 1:6}\t{x}" for i, x in enumerate(lines))
            res = {
                "type": "text",
                "file": {
                    "filePath": path,
                    "content": content,
                    "numLines": len(lines),
                    "startLine": 1,
                    "totalLines": len(lines),
                },
            }
            return self.block(name, {"file_path": path}), numbered, res, False
        if name == "Edit":
            original = self.text(500, 15000)
            old = original[10:60]
            new = self.text(20, 200)
            inp = {"replace_all": False, "file_path": path, "old_string": old, "new_string": new}
            patch = [
                {
                    "oldStart": 1,
                    "oldLines": 3,
                    "newStart": 1,
                    "newLines": 3,
                    "lines": [" " + original[:60], "-" + old, "+" + new, " " + original[60:120]],
                }
            ]
            res = {
                "filePath": path,
                "oldString": old,
                "newString": new,
                "originalFile": original,
                "structuredPatch": patch,
                "userModified": False,
                "replaceAll": False,
            }
            return self.block(name, inp), f"The file {path} has been updated successfully.", res, False
        if name == "Write":
            content = self.text(200, 5000)
            res = {
                "type": "create",
                "filePath": path,
                "content": content,
                "structuredPatch": [],
                "originalFile": None,
                "userModified": False,
            }
            return (
                self.block(name, {"file_path": path, "content": content}),
                f"File created successfully at: {path}",
                res,
                False,
            )
        if name == "Grep":
            names = [f"{self.cwd}/src/m{self.counter}_{i}.py" for i in range(self.rnd.randint(1, 40))]
            res = {"mode": "files_with_matches", "filenames": names, "numFiles": len(names)}
            inp = {"pattern": f"item{self.counter}", "path": self.cwd, "output_mode": "files_with_matches"}
            return self.block(name, inp), f"Found {len(names)} files\n" + "\n".join(names), res, False
        # TodoWrite
        todos = [
            {
                "content": self.text(10, 80),
                "status": self.rnd.choice(["pending", "in_progress", "completed"]),
                "activeForm": "Working",
            }
            for _ in range(self.rnd.randint(2, 6))
        ]
        res = {"oldTodos": [], "newTodos": todos}
        ok = "Todos have been modified successfully. Ensure that you continue to use the todo list."
        return self.block(name, {"todos": todos}), ok, res, False

    def block(self, name: str, inp: dict[str, Any]) -> dict[str, Any]:
        return {"type": "tool_use", "id": self.hexid("toolu_"), "name": name, "input": inp}

    def results(self, calls: list[tuple[dict[str, Any], Any, Any, bool]], uids: list[str]) -> None:
        for (b, content, structured, err), src in zip(calls, uids, strict=True):
            u = self.t("user/tool_result")
            u["message"]["content"] = [
                {"tool_use_id": b["id"], "type": "tool_result", "content": content, "is_error": err}
            ]
            if self.agent_id is None:
                u["toolUseResult"] = structured
            else:
                u.pop("toolUseResult", None)  # print-mode subagent results carry none
            u["sourceToolAssistantUUID"] = src
            self.parent = src
            self.rec(u)

    def agent_call(self) -> None:
        agent_id = "a" + f"{self.rnd.getrandbits(64):016x}"
        sub = _ClaudeGen(
            self.tpl,
            self.pool,
            random.Random(self.rnd.getrandbits(64)),
            self.file_no,
            self.sid,
            self.cwd,
            agent_id,
        )
        sub.ms = self.ms
        prompt = sub.session(self.rnd.randint(20_000, 400_000))
        self.subagents.append(sub)
        b = self.block(
            "Agent", {"description": "Investigate", "prompt": prompt, "subagent_type": "general-purpose"}
        )
        uids = self.response([b])
        answer = self.text(200, 3000)
        res = {
            "status": "completed",
            "prompt": prompt,
            "agentId": agent_id,
            "agentType": "general-purpose",
            "content": [{"type": "text", "text": answer}],
            "resolvedModel": "claude-opus-4-8[1m]",
            "totalDurationMs": self.rnd.randint(1000, 90000),
            "totalTokens": self.rnd.randint(1000, 90000),
            "totalToolUseCount": self.rnd.randint(1, 30),
        }
        self.results([(b, [{"type": "text", "text": answer}], res, False)], uids)

    def turn(self, first: bool) -> None:
        r = self.rnd
        self.prompt()
        if first and self.agent_id is None:
            self.rec(self.t("attachment/agent_listing_delta"))
            self.rec(self.t("attachment/skill_listing"))
        if self.agent_id is None and r.random() < 0.1:
            self.rec(self.t("attachment/hook_success"))
        for step in range(r.randint(1, 8)):
            blocks: list[dict[str, Any]] = []
            if r.random() < 0.4:
                blocks.append(
                    {"type": "thinking", "thinking": self.text(100, 3000), "signature": self.hexid("Eq", 120)}
                )
            if r.random() < 0.7:
                blocks.append({"type": "text", "text": self.text(50, 1500)})
            if self.agent_id is None and step == 0 and r.random() < 0.04:
                if blocks:
                    self.response(blocks)
                self.agent_call()
                continue
            names = r.choices(
                ["Bash", "Read", "Edit", "Write", "Grep", "TodoWrite"],
                weights=[40, 25, 15, 5, 10, 5],
                k=r.choices([1, 2, 3], weights=[75, 20, 5])[0],
            )
            calls = [self.tool(n) for n in names]
            uids = self.response(blocks + [c[0] for c in calls])[len(blocks) :]
            self.results(calls, uids)
            if self.agent_id is None and any(n in ("Edit", "Write") for n in names) and r.random() < 0.5:
                s = self.t("file-history-snapshot")
                mid = _uuid(r)
                s["messageId"] = s["snapshot"]["messageId"] = mid
                s["snapshot"]["timestamp"] = self.ts()
                self.write(s)
        self.response([{"type": "text", "text": self.text(100, 5000)}])
        if self.agent_id is None:
            lp = self.t("last-prompt")
            lp["leafUuid"] = self.parent
            lp["lastPrompt"] = self.text(20, 100)
            self.meta(lp)
            if r.random() < 0.3:
                d = {
                    "parentUuid": None,
                    "isSidechain": False,
                    "type": "system",
                    "subtype": "turn_duration",
                    "durationMs": r.randint(1000, 600000),
                    "messageCount": r.randint(2, 60),
                    "timestamp": "",
                    "uuid": "",
                    "isMeta": False,
                    "userType": "external",
                    "entrypoint": "cli",
                    "cwd": "",
                    "sessionId": "",
                    "version": "2.1.197",
                    "gitBranch": "main",
                }
                self.rec(d)

    def session(self, target_bytes: int) -> str:
        """Fill this file up to about `target_bytes`; returns the first prompt (for an Agent call)."""
        if self.agent_id is None:
            self.meta(self.t("mode"))
        first_line = len(self.lines)
        turn = 0
        while self.size < target_bytes:
            self.turn(turn == 0)
            turn += 1
            if turn == 1 and self.agent_id is None and self.rnd.random() < 0.5:
                self.meta({"type": "ai-title", "aiTitle": self.text(10, 60), "sessionId": self.sid})
        first = json.loads(self.lines[first_line + (0 if self.agent_id else 2)])
        return str(first["message"]["content"])

    def data(self) -> bytes:
        return ("\n".join(self.lines) + "\n").encode()


def corpus(mb: int) -> list[tuple[str, bytes]]:
    """Deterministic generated Claude session files totalling about `mb` MB, cached on disk."""
    folder = CACHE / f"v{GEN_VERSION}-seed{SEED}-{mb}mb"
    done = folder / "DONE"
    if not done.exists():
        projects = folder / "projects"
        projects.mkdir(parents=True, exist_ok=True)
        tpl = _claude_templates()
        pool = prose_pool(templates())
        rnd = random.Random(SEED)
        total, n = 0, 0
        while total < mb * 1_000_000:
            sid = _uuid(rnd)
            project = f"bench{rnd.randint(0, 15)}"
            g = _ClaudeGen(tpl, pool, random.Random(rnd.getrandbits(64)), n, sid, f"/home/dev/work/{project}")
            g.session(min(rnd.randint(100_000, 2_500_000), max(mb * 1_000_000 - total, 20_000), mb * 160_000))
            d = projects / f"-home-dev-work-{project}"
            d.mkdir(exist_ok=True)
            data = g.data()
            (d / f"{sid}.jsonl").write_bytes(data)
            total += len(data)
            for sub in g.subagents:
                sd = d / sid / "subagents"
                sd.mkdir(parents=True, exist_ok=True)
                data = sub.data()
                (sd / f"agent-{sub.agent_id}.jsonl").write_bytes(data)
                total += len(data)
            n += 1
        done.write_text(str(n))
    return [(str(p), p.read_bytes()) for p in sorted(folder.rglob("*.jsonl"))]


# -- the three contenders --------------------------------------------------------------------------
def _tail(cls: Any) -> Any:
    return functools.partial(cls, source="claude")


def _rows(cls: Any, files: list[tuple[str, bytes]]) -> tuple[list[str], dict[str, int]]:
    """Every row key (in order) and the summed error counters of one pass."""
    keys: list[str] = []
    errors: dict[str, int] = {}
    for path, data in files:
        t = cls(path, source="claude")
        for i in range(0, len(data) + 1, CHUNK):
            final = i + CHUNK > len(data)
            b = t.feed(data[i : i + CHUNK], final=final)
            keys.extend(m["key"] for m in b.messages)
            for k, v in b.errors.items():
                errors[k] = errors.get(k, 0) + v
    return keys, errors


@functools.cache
def native_status() -> str | None:
    """None if the native build maps Claude files like the twin (checked on the smoke corpus), else why."""
    if _oa_native is None:
        return "unavailable (native extension not built)"
    files = corpus(SMOKE_MB)
    twin_keys, _ = _rows(_pytail.JsonlTail, files)
    try:
        native_keys, errors = _rows(_oa_native.JsonlTail, files)
    except TypeError:  # a build without the `source` argument
        return UNAVAILABLE
    if native_keys == twin_keys:
        return None
    if not native_keys:
        return f"{UNAVAILABLE}: 0 rows vs twin {len(twin_keys)}, errors {errors}"
    return f"unavailable (native Claude rows differ from the twin: {len(native_keys)} vs {len(twin_keys)})"


def _text(blocks: list[Any], kind: str, field: str = "text") -> str:
    return "\n".join(
        b[field]
        for b in blocks
        if isinstance(b, dict) and b.get("type") == kind and isinstance(b.get(field), str)
    )


class _PeerFile(PeerFile):
    """Per-file state of the peer mapping: the Codex peer's rows and key scheme (`PeerFile.emit`),
    plus what Claude files need."""

    def __init__(self, tid: str, seen: set[str]) -> None:
        super().__init__(tid, seen)
        self.fixed = False
        self.sidechain = False
        self.last_mid: Any = None
        self.usage = [0, 0, 0]
        self.title: Any = None

    def tool(self, call_id: Any, call: tuple[Any, Any, Any], text: Any, is_error: Any) -> None:
        name, inp, ts = call
        inp = inp if isinstance(inp, dict) else {}
        out = text[:2000] if isinstance(text, str) else None
        if name == "Bash":
            cmd = inp.get("command")
            data = {"command": cmd, "exitCode": 1 if is_error else 0, "output": out, "isError": is_error}
            self.emit("tool", "cmd", cmd, data, call_id, ts)
        elif name in ("Edit", "Write", "MultiEdit"):
            path = inp.get("file_path")
            data = {"changes": [{"path": path, "kind": "update"}], "output": out, "isError": is_error}
            self.emit("tool", "file", f"update {path}", data, call_id, ts)
        else:
            data = {"name": name, "arguments": inp, "output": out, "isError": is_error}
            self.emit("tool", "tool", name, data, call_id, ts)


def run_peer(loads: Any, files: list[tuple[str, bytes]]) -> int:
    """What a user would write: `loads` per line, a small mapping of the same records, a set for dedupe."""
    seen: set[str] = set()
    rows = 0
    for path, data in files:
        st = _PeerFile(Path(path).stem, seen)
        for line in data.split(b"\n"):
            if not line:
                continue
            try:
                o = loads(line)
            except Exception:
                continue
            t = o.get("type")
            if t != "user" and t != "assistant":
                if t == "custom-title" or t == "ai-title":
                    st.title = o.get("customTitle") or o.get("aiTitle")
                continue  # metadata, attachments and system records make no row
            side = o.get("isSidechain") is True
            if not st.fixed:
                st.fixed, st.sidechain = True, side
                sid = o.get("sessionId")
                st.tid = f"{sid}/agent-{o.get('agentId')}" if side else sid
            if side and not st.sidechain:
                continue
            ts = o.get("timestamp")
            msg = o.get("message") or {}
            content = msg.get("content")
            if t == "assistant":
                if msg.get("model") == "<synthetic>":
                    continue
                mid = msg.get("id")
                if mid != st.last_mid:
                    st.last_mid = mid
                    u = msg.get("usage") or {}
                    st.usage[0] += (u.get("input_tokens") or 0) + (u.get("cache_creation_input_tokens") or 0)
                    st.usage[1] += u.get("cache_read_input_tokens") or 0
                    st.usage[2] += u.get("output_tokens") or 0
                uid = o.get("uuid")
                for i, b in enumerate(content or ()):
                    bt = b.get("type")
                    if bt == "text":
                        st.emit("assistant", "message", b.get("text"), None, f"{uid}:{i}", ts)
                    elif bt == "thinking":
                        st.emit("assistant", "reason", b.get("thinking"), None, f"{uid}:{i}", ts)
                    elif bt == "tool_use":
                        st.pending[b.get("id")] = (b.get("name"), b.get("input"), ts)
                continue
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else (content or [])
            prompt_id = o.get("promptId")
            results = [b for b in blocks if b.get("type") == "tool_result"]
            if results:
                st.turn_id = prompt_id or st.turn_id
                for b in results:
                    call = st.pending.pop(b.get("tool_use_id"), None)
                    if call is not None:
                        c = b.get("content")
                        text = c if isinstance(c, str) else _text(c or [], "text")
                        st.tool(b.get("tool_use_id"), call, text, b.get("is_error") is True)
                continue
            text = _text(blocks, "text")
            if not text:
                continue
            st.turn_id = prompt_id or st.turn_id
            if o.get("isMeta") is True or text.startswith("<"):
                st.emit("system", "context", text, None, o.get("uuid"), ts)
            else:
                for call_id in sorted(st.pending):
                    st.tool(call_id, st.pending[call_id], None, None)
                st.pending = {}
                st.turn += 1
                st.emit("user", "message", text, None, text, ts)
        for call_id in sorted(st.pending):
            st.tool(call_id, st.pending[call_id], None, None)
        rows += len(st.out)
    return rows


# -- measurement -------------------------------------------------------------------------------------
GOALS = {"native_MB_per_s": 1000.0, "native_over_twin": 10.0, "native_over_best_peer": 2.0}


def _rounds(files: list[tuple[str, bytes]]) -> int:
    """Timed rounds per contender: the same for all of them (one on the smoke corpus)."""
    return 5 if sum(len(d) for _, d in files) >= 50_000_000 else 1  # 5: steadier medians on a shared box


@pytest.fixture(scope="module")
def bench_files(request: pytest.FixtureRequest) -> list[tuple[str, bytes]]:
    env = os.environ.get("OA_BENCH_MB")
    enabled = bool(request.config.getoption("benchmark_enable", False)) if env is None else False
    return corpus(int(env) if env else (FULL_MB if enabled else SMOKE_MB))


def _contenders() -> dict[str, Any]:
    """name -> a function of the files returning the row count: native (when it maps Claude files),
    the twin, and every peer."""
    out: dict[str, Any] = {}
    if native_status() is None:
        native = _tail(_oa_native.JsonlTail)
        out["native"] = functools.partial(run_tail, native)
    out["twin"] = functools.partial(run_tail, _tail(_pytail.JsonlTail))
    for name, loads in sorted(loads_peers().items()):
        out[f"peer_{name}"] = functools.partial(run_peer, loads)
    return out


def _ratio(a: float, b: float) -> float:
    return round(a / b, 2)


def _report(files: list[tuple[str, bytes]], results: dict[str, Any]) -> dict[str, Any]:
    """Every contender's figures, the ratios between them and each target as value / goal."""
    peers = {k: v for k, v in results.items() if k.startswith("peer_")}
    best_peer = max(peers, key=lambda k: peers[k]["MB_per_s_median"]) if peers else None
    twin = results["twin"]
    report: dict[str, Any] = {
        "format": "claude-2.1.197 session files (+ subagent transcripts)",
        "corpus": {
            "files": len(files),
            "subagent_files": sum("/subagents/" in p for p, _ in files),
            "bytes": sum(len(d) for _, d in files),
            "lines": sum(d.count(b"\n") for _, d in files),
        },
        "chunk_bytes": CHUNK,
        "results": results,
        "best_peer": best_peer,
        "ratio_twin_best_peer_median": (
            _ratio(twin["MB_per_s_median"], peers[best_peer]["MB_per_s_median"]) if best_peer else None
        ),
        "goals": GOALS,
    }
    native = results.get("native")
    if native is None:  # no Claude mapping in this native build: no misleading speed
        report["native"] = native_status()
        report["targets"] = {"note": f"not measured: native {native_status()}"}
        return report
    # same product output: the native path and its twin must produce the same rows
    assert native["rows"] == twin["rows"]
    report["native"] = "measured"
    report["ratio_native_twin"] = _ratio(native["MB_per_s"], twin["MB_per_s"])
    report["ratio_native_twin_median"] = _ratio(native["MB_per_s_median"], twin["MB_per_s_median"])
    if best_peer:
        report["ratio_native_best_peer"] = _ratio(native["MB_per_s"], peers[best_peer]["MB_per_s"])
        report["ratio_native_best_peer_median"] = _ratio(
            native["MB_per_s_median"], peers[best_peer]["MB_per_s_median"]
        )
    report["targets"] = {
        "native_MB_per_s_vs_1000": goal_ratio(native["MB_per_s_median"], GOALS["native_MB_per_s"]),
        "native_over_twin_vs_10": goal_ratio(report["ratio_native_twin_median"], GOALS["native_over_twin"]),
        **(
            {
                "native_over_best_peer_vs_2": goal_ratio(
                    report["ratio_native_best_peer_median"], GOALS["native_over_best_peer"]
                )
            }
            if best_peer
            else {}
        ),
        "note": "judged on the median rounds (shared, noisy machine)",
    }
    return report


def test_bench_claude(benchmark: Any, bench_files: list[tuple[str, bytes]], record: Record) -> None:
    """Native, twin and every peer on the same files in this one test: figures, ratios, goals."""
    contenders = _contenders()
    twin_rows = benchmark.pedantic(contenders["twin"], args=(bench_files,), rounds=1, iterations=1)
    assert twin_rows > 0
    results: dict[str, Any] = {}
    for name, run in contenders.items():
        run(bench_files)  # warm-up round
        times, rows = timed(functools.partial(run, bench_files), _rounds(bench_files))
        assert rows > 0, name
        results[name] = figures(bench_files, times, rows)
    report = _report(bench_files, results)
    print("\nClaude throughput:", json.dumps(report, indent=2))
    if "native" in results:
        native = results["native"]["MB_per_s_median"]
        print(goal_line("native (median)", native, GOALS["native_MB_per_s"], "MB/s"))
        print(
            goal_line("native / twin (median)", report["ratio_native_twin_median"], GOALS["native_over_twin"])
        )
        if "ratio_native_best_peer_median" in report:
            print(
                goal_line(
                    "native / best peer (median)",
                    report["ratio_native_best_peer_median"],
                    GOALS["native_over_best_peer"],
                )
            )
    else:
        print(f"native: {report['native']} (no native goal can be judged)")
    record(report, save=report["corpus"]["bytes"] >= 50_000_000, name="throughput")
