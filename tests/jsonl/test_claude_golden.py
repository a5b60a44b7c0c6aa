"""Golden and semantic tests over the shared Claude Code 2.1.197 corpus.

Every test runs against each backend: `TAIL` is set from the `tail_cls` fixture (python, and rust
when built) by the autouse `_backend` fixture, and the golden files are the byte-for-byte spec of
both.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests.jsonl.corpus import (
    CLAUDE_VERSION,
    CORPUS,
    claude_files,
    golden_path,
    manifest,
    parse_with,
    relative,
)

TAIL: Any = None  # the backend under test (set for each test by `_backend`)
BASE = CORPUS / CLAUDE_VERSION
FILES = claude_files()
MANIFEST = manifest(CLAUDE_VERSION)


@pytest.fixture(autouse=True)
def _backend(tail_cls: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test of this module once per backend (`tail_cls` is parametrized)."""
    monkeypatch.setitem(globals(), "TAIL", tail_cls)


def entry(run: str) -> dict[str, str]:
    return next(e for e in MANIFEST if e["run"] == run)


def session_file(run: str) -> Path:
    return BASE / "projects" / entry(run)["session_files_written"].split(" ")[0]


def parse(
    path: Path, chunk_size: int = 1 << 20
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, int]]:
    messages, thread, errors = parse_with(TAIL, path, chunk_size)
    assert thread is not None
    return messages, thread, errors


def convo(messages: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(m["role"], m["kind"], m["text"]) for m in messages]


def kinds(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(m["role"], m["kind"]) for m in messages]


def test_corpus_is_complete() -> None:
    assert len([f for f in FILES if "/projects/" in str(f)]) == 26
    assert len([f for f in FILES if f.name.startswith("stream-")]) == 26


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_matches_golden_file(path: Path) -> None:
    messages, thread, errors = parse_with(TAIL, path)
    golden = json.loads(golden_path(path).read_text())
    assert errors == golden["errors"]
    assert relative(thread) == golden["thread"]
    assert messages == golden["messages"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_every_file_is_claude_without_errors(path: Path) -> None:
    messages, thread, errors = parse(path)
    assert thread["source"] == "claude"
    assert not any(errors.values()), errors
    keys = [m["key"] for m in messages]
    assert len(keys) == len(set(keys)), "duplicate keys in one file"
    assert [m["seq"] for m in messages] == list(range(len(messages)))
    assert {m["threadId"] for m in messages} <= {thread["threadId"]}
    for m in messages:
        if m["role"] == "user":
            assert not (m["text"] or "").startswith("<"), m  # slash commands and CLI text are context


def test_thread_ids_match_manifest() -> None:
    for e in MANIFEST:
        sid = e["session_id"]
        files = [BASE / "projects" / f for f in e["session_files_written"].split(" ")]
        for f in files:
            _, thread, _ = parse(f)
            if "/subagents/" in str(f):
                agent = f.name[len("agent-") : -len(".jsonl")]
                assert thread["threadId"] == f"{sid}/agent-{agent}", e["run"]
                assert thread["parentThreadId"] == sid
            else:
                assert thread["threadId"] == sid == f.name[:-6], e["run"]
        stream = BASE / f"stream-{e['run']}.jsonl"
        if stream.exists():
            _, sthread, _ = parse(stream)
            assert sthread["threadId"] == sid, e["run"]


def test_plain_turn_and_thread_fields() -> None:
    messages, thread, _ = parse(session_file("plain"))
    assert convo(messages) == [
        ("user", "message", "[[S:plain]] Say hello."),
        ("assistant", "message", "Hello! This is a plain reply from the mock model."),
    ]
    assert messages[0]["ts"] == 1795313882580  # 2026-11-22T02:18:02.580Z of the prompt record
    assert messages[0]["turnId"] == messages[1]["turnId"] is not None  # the prompt's promptId
    assert thread["title"] == "[[S:plain]] Say hello."
    assert thread["cwd"] == "/home/dev/work/plain" and thread["cliVersion"] == "2.1.197"
    assert thread["model"] == "claude-opus-4-8"
    assert thread["git"] == {"commit": None, "branch": "main", "repo": None}
    assert thread["parentThreadId"] is None
    assert thread["createdAt"] <= thread["updatedAt"]
    assert thread["usage"] == {
        "inputTokens": 1200,
        "cachedInputTokens": 0,
        "outputTokens": 15,
        "reasoningOutputTokens": None,
        "totalTokens": 1215,
    }


def test_no_git_repo_has_no_git() -> None:
    _, thread, _ = parse(session_file("plain_nogit"))
    assert thread["git"] is None  # 2.1.197 writes gitBranch "HEAD" outside a repository


def test_named_session_title_and_model() -> None:
    _, thread, _ = parse(session_file("named"))
    assert thread["title"] == "My named session"
    assert thread["model"] == "claude-sonnet-5"


@pytest.mark.parametrize("run", ["bash", "bash_partial"])
def test_bash_exit_codes_in_session_and_stream(run: str) -> None:
    for path in (session_file(run), BASE / f"stream-{run}.jsonl"):
        messages, _, _ = parse(path)
        cmds = [m for m in messages if m["kind"] == "cmd"]
        assert [c["role"] for c in cmds] == ["tool", "tool"]
        assert [c["text"] for c in cmds] == ["echo hello", "exit 3"]
        assert [c["data"]["exitCode"] for c in cmds] == [0, 3]
        assert [c["data"]["isError"] for c in cmds] == [False, True]
        assert cmds[0]["data"]["output"] == "hello"
        assert [m["kind"] for m in messages if m["role"] == "assistant"] == ["message", "message"]


def test_partial_messages_make_no_extra_rows() -> None:
    for run in ("bash", "thinking"):
        full, _, _ = parse(BASE / f"stream-{run}.jsonl")
        partial, _, _ = parse(BASE / f"stream-{run}_partial.jsonl")
        assert convo(full) == convo(partial)


def test_thinking_is_reason() -> None:
    messages, _, _ = parse(session_file("thinking"))
    assert kinds(messages) == [("user", "message"), ("assistant", "reason"), ("assistant", "message")]
    assert messages[1]["text"].startswith("The user wants a short answer.")


def test_denied_command_has_error_flag_and_no_exit_code() -> None:
    messages, _, _ = parse(session_file("denied"))
    (cmd,) = [m for m in messages if m["kind"] == "cmd"]
    assert cmd["data"]["exitCode"] is None and cmd["data"]["isError"] is True
    assert "was blocked" in cmd["data"]["output"]


def test_files_write_edit_read() -> None:
    for run in ("files", "files_checkpoint"):
        messages, _, _ = parse(session_file(run))
        files = [m for m in messages if m["kind"] == "file"]
        assert [c["data"]["changes"][0]["kind"] for c in files] == ["add", "update"]
        assert all(c["data"]["changes"][0]["path"].endswith("/notes.txt") for c in files)
        (read,) = [m for m in messages if m["kind"] == "tool"]
        assert read["text"] == "Read" and read["data"]["output"].startswith("1\talpha")
        # file-history-snapshot lines (files_checkpoint) make no row
        assert len(messages) == 6


def test_todo_write_and_tasks() -> None:
    messages, _, _ = parse(session_file("todo"))
    (todo,) = [m for m in messages if m["kind"] == "todo"]
    assert todo["data"]["items"] == [
        {"text": "Write the plan", "status": "completed"},
        {"text": "Run the tests", "status": "in_progress"},
        {"text": "Ship it", "status": "pending"},
    ]
    messages, _, _ = parse(session_file("tasks"))
    todos = [m for m in messages if m["kind"] == "todo"]
    assert [t["text"] for t in todos] == [
        "Task #1 created successfully: Write the plan",
        "Task #2 created successfully: Run the tests",
        "Updated task #1 status",
        "#1 [completed] Write the plan\n#2 [pending] Run the tests",
    ]
    assert todos[-1]["data"]["items"] == [
        {"text": "Write the plan", "status": "completed"},
        {"text": "Run the tests", "status": "pending"},
    ]


def test_parallel_tools_pair_by_id() -> None:
    messages, _, _ = parse(session_file("multitool"))
    assert kinds(messages) == [
        ("user", "message"),
        ("assistant", "reason"),
        ("tool", "cmd"),
        ("tool", "cmd"),
        ("assistant", "message"),
    ]
    assert [m["data"]["output"] for m in messages if m["kind"] == "cmd"] == ["a\nb", ".\n..\n.git\nREADME.md"]


def test_subagent_is_its_own_thread() -> None:
    e = entry("subagent")
    main_path, agent_path = (BASE / "projects" / f for f in e["session_files_written"].split(" "))
    main, mthread, _ = parse(main_path)
    sub, sthread, _ = parse(agent_path)
    assert sthread["threadId"] == f"{e['session_id']}/agent-ac4f11bf2fc190939"
    assert sthread["parentThreadId"] == mthread["threadId"] == e["session_id"]
    assert convo(sub) == [
        ("user", "message", "[[S:subagent]] Reply with hi."),
        ("tool", "cmd", "echo from-subagent"),
        ("assistant", "message", "hi from the subagent"),
    ]
    (agent_row,) = [m for m in main if m["kind"] == "tool"]
    assert agent_row["text"] == "Agent"
    assert agent_row["data"]["subagentThreadId"] == sthread["threadId"]
    # The subagent's own messages are not rows of the parent (neither from the file nor the stream).
    assert "hi from the subagent" not in [m["text"] for m in main]
    stream, _, _ = parse(BASE / "stream-subagent.jsonl")
    assert convo(stream) == [("tool", "tool", "Agent"), ("assistant", "message", "The subagent answered.")]


def test_resume_appends_to_the_same_thread_and_compaction_does_not_duplicate() -> None:
    messages, thread, _ = parse(session_file("resume1"))
    assert (
        thread["threadId"]
        == entry("resume1")["session_id"]
        == entry("resume2")["session_id"]
        == entry("after_compact")["session_id"]
    )
    users = [m["text"] for m in messages if m["role"] == "user"]
    assert users == [
        "[[S:resume1]] Remember the secret word: pineapple.",
        "[[S:resume2]] What was the secret word?",
        "[[S:resume3]] Run pwd, then finish.",
        "[[S:plain]] Hello after compaction.",
    ]
    replies = [m["text"] for m in messages if (m["role"], m["kind"]) == ("assistant", "message")]
    assert replies == [
        "Noted: the secret word is 'pineapple'. Ask me later.",
        "You told me earlier that the secret word is 'pineapple'.",
        "Third turn done (continued session).",
        # "No response requested." (synthetic) is not shown
        "Hello! This is a plain reply from the mock model.",
    ]
    comp = [m for m in messages if m["kind"] == "compaction"]
    assert len(comp) == 1 and comp[0]["text"].startswith("Summary:\n1. Primary Request")
    texts = [m["text"] for m in messages]
    assert len(texts) == len(set(texts)), "compaction must not repeat earlier rows"
    # The /compact command records are context, in order after the summary.
    assert [m["kind"] for m in messages[messages.index(comp[0]) :]] == [
        "compaction",
        "context",
        "context",
        "context",
        "context",
        "message",
        "message",
    ]
    # Four prompts = four turns, each with its promptId as turnId.
    assert len({m["turnId"] for m in messages if m["role"] == "user"}) == 4


def test_resumed_parts_have_stable_keys() -> None:
    """Reading the file as it was after the first invocation gives keys that the full file keeps."""
    path = session_file("resume1")
    lines = path.read_bytes().split(b"\n")
    first = b"\n".join(lines[:7]) + b"\n"  # up to the first last-prompt
    tail = TAIL(str(path))
    early = tail.feed(first).messages
    full, _, _ = parse(path)
    assert [m["key"] for m in early] == [m["key"] for m in full[: len(early)]]


def test_fork_is_a_new_thread_with_the_copied_history() -> None:
    fork, fthread, _ = parse(session_file("resume_fork"))
    orig, othread, _ = parse(session_file("resume1"))
    assert fthread["threadId"] == entry("resume_fork")["session_id"] != othread["threadId"]
    assert fthread["parentThreadId"] is None  # the file names no parent (docs/formats-mapping.md)
    assert convo(fork)[:7] == convo(orig)[:7]
    assert convo(fork)[7:] == [
        ("user", "message", "[[S:resume2]] Forked: what was the secret word?"),
        ("assistant", "message", "You told me earlier that the secret word is 'pineapple'."),
    ]
    assert not {m["key"] for m in fork} & {m["key"] for m in orig}


def test_errors_and_synthetic_messages() -> None:
    for run, status in (("apierror", "400"), ("overloaded", "529")):
        messages, thread, _ = parse(session_file(run))
        assert kinds(messages) == [("user", "message"), ("system", "error")]
        assert messages[1]["text"].startswith(f"API Error: {status}")
        assert thread["model"] is None  # "<synthetic>" is never a model
        smessages, _, _ = parse(BASE / f"stream-{run}.jsonl")
        assert kinds(smessages) == [("system", "error")]
    messages, _, _ = parse(BASE / "stream-max_turns.jsonl")
    assert convo(messages)[-1] == ("system", "error", "Reached maximum number of turns (1)")
    messages, _, _ = parse(session_file("maxtokens"))
    assert [m["text"] for m in messages if m["role"] == "assistant"] == [
        "This reply is cut off because max_tok",
        "ens ran out; resumed after the output-token limit. Done.",
    ]


def test_hooks_and_attachments_make_no_rows() -> None:
    for path in (session_file("hooks"), BASE / "stream-hooks.jsonl"):
        messages, _, _ = parse(path)
        assert not any(
            "hook-ran" in json.dumps(m) or "extra context from" in json.dumps(m) for m in messages
        ), convo(messages)
        assert [m["kind"] for m in messages if m["role"] != "user"] == ["cmd", "message"]


def test_structured_output_and_unicode() -> None:
    messages, _, _ = parse(session_file("structured"))
    assert convo(messages)[1] == ("tool", "tool", "StructuredOutput")
    assert messages[1]["data"]["arguments"] == {"name": "pineapple", "count": 3}
    messages, thread, _ = parse(session_file("unicode"))
    assert messages[0]["text"] == "[[S:unicode]] Écris une longue réponse — 日本語 🚀"
    assert "日本語のテキスト" in messages[1]["text"]
    assert thread["threadId"] == "0c0ffee0-1234-4abc-9def-0123456789ab"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_random_chunks_equal_one_chunk(path: Path) -> None:
    whole, wthread, werrors = parse(path)
    data = path.read_bytes()
    rng = random.Random(path.name)
    for _ in range(3):
        tail = TAIL(str(path))
        got: list[dict[str, Any]] = []
        threads: list[dict[str, Any]] = []
        pos = 0
        while pos < len(data):
            n = rng.randint(1, 700)
            b = tail.feed(data[pos : pos + n])
            got += b.messages
            threads += b.threads
            pos += n
            if rng.random() < 0.1:  # checkpoint and restore in the middle
                tail = TAIL.restore(tail.snapshot())
                pos = tail.position  # a restore re-reads the partial line
        b = tail.feed(b"", final=True)
        got += b.messages
        threads += b.threads
        assert got == whole
        assert threads[-1] == wthread
        assert tail.errors == werrors


def test_rows_of_a_line_by_line_append_are_emitted_once() -> None:
    path = session_file("resume1")
    tail = TAIL(str(path))
    got: list[dict[str, Any]] = []
    for line in path.read_bytes().splitlines(keepends=True):
        got += tail.feed(line).messages
    whole, _, _ = parse(path)
    assert got == whole


# -- rules the corpus does not exercise (synthetic lines, same envelope as the CLI writes) ----------
SID = "11111111-2222-4333-8444-555555555555"


def rec(
    kind: str, uid: str, content: Any, ts: str = "2026-11-22T02:00:00.000Z", **extra: Any
) -> dict[str, Any]:
    role = "assistant" if kind == "assistant" else "user"
    message: dict[str, Any] = {"role": role, "content": content}
    if kind == "assistant":
        message.update(
            id=extra.pop("mid", "msg_" + uid),
            model=extra.pop("model", "claude-opus-4-8"),
            usage={"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 2},
        )
    return {
        "parentUuid": None,
        "isSidechain": False,
        "type": kind,
        "message": message,
        "uuid": uid,
        "timestamp": ts,
        "cwd": "/w",
        "sessionId": SID,
        "version": "2.1.197",
        "gitBranch": "dev",
        **extra,
    }


def tool_use(uid: str, tid: str, name: str, inp: Any) -> dict[str, Any]:
    return rec("assistant", uid, [{"type": "tool_use", "id": tid, "name": name, "input": inp}])


def tool_result(
    uid: str, tid: str, content: Any, is_error: bool | None = None, result: Any = None
) -> dict[str, Any]:
    block: dict[str, Any] = {"tool_use_id": tid, "type": "tool_result", "content": content}
    if is_error is not None:
        block["is_error"] = is_error
    extra = {} if result is None else {"toolUseResult": result}
    return rec("user", uid, [block], promptId="p1", **extra)


def feed(lines: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, int]]:
    tail = TAIL("/x/projects/-w/" + SID + ".jsonl")
    data = b"".join(json.dumps(x, ensure_ascii=False).encode() + b"\n" for x in lines)
    b1 = tail.feed(data, final=True)
    return b1.messages, b1.threads[-1], tail.errors


def test_tool_kinds_and_flush_rules() -> None:
    lines = [
        {"type": "ai-title", "aiTitle": "AI title", "sessionId": SID},
        rec(
            "user",
            "u1",
            [{"type": "text", "text": "look"}, {"type": "image", "source": {"type": "base64", "data": "x"}}],
            promptId="p1",
        ),
        tool_use("a1", "t1", "mcp__github__search_issues", {"q": "bug"}),
        tool_result("r1", "t1", '{"total": 2}'),
        tool_use("a2", "t2", "WebSearch", {"query": "claude code"}),
        tool_result("r2", "t2", [{"type": "text", "text": "results"}]),
        tool_use("a3", "t3", "WebFetch", {"url": "https://example.com"}),
        tool_use("a4", "t4", "MultiEdit", {"file_path": "/w/a.py", "edits": []}),
        tool_result("r4", "t4", "ok"),
        tool_use("a5", "t5", "Bash", {"command": "sleep 100", "run_in_background": True}),
        tool_result("r5", "t5", "Command running in background with ID: b1", False),
        tool_use("a6", "t6", "TaskGet", {"taskId": "1"}),
        tool_result(
            "r6", "t6", "Task #1", result={"task": {"id": "1", "subject": "Plan", "status": "in_progress"}}
        ),
        tool_use("a7", "t7", "Bash", {"command": "false"}),
        tool_result("r7", "t7", "Exit code 1\nboom", True),
        {"type": "custom-title", "customTitle": "Mine", "sessionId": SID},
        {"type": "ai-title", "aiTitle": "Later AI title", "sessionId": SID},
        rec("user", "u2", [{"type": "text", "text": "[Request interrupted by user]"}], promptId="p1"),
        rec("user", "u3", "next prompt", promptId="p2"),
        {
            **rec("assistant", "s1", [{"type": "text", "text": "sidechain text"}]),
            "isSidechain": True,
            "agentId": "a9",
        },
        {"type": "brand-new-type", "sessionId": SID},
    ]
    messages, thread, errors = feed(lines)
    assert errors["unknown"] == 1  # the unknown type is skipped and counted
    assert thread["title"] == "Mine" and thread["git"] == {"commit": None, "branch": "dev", "repo": None}
    assert thread["usage"] == {
        "inputTokens": 105,
        "cachedInputTokens": 35,
        "outputTokens": 14,
        "reasoningOutputTokens": None,
        "totalTokens": 119,
    }
    got = [(m["role"], m["kind"], m["text"]) for m in messages]
    assert got == [
        ("user", "message", "look"),
        ("tool", "mcp", "github.search_issues"),
        ("tool", "search", "claude code"),
        ("tool", "file", "update /w/a.py"),
        ("tool", "cmd", "sleep 100"),
        ("tool", "todo", "Task #1"),
        ("tool", "cmd", "false"),
        ("tool", "search", "https://example.com"),  # no result: flushed by the interrupt
        ("system", "aborted", "[Request interrupted by user]"),
        ("user", "message", "next prompt"),
    ]
    by_text = {m["text"]: m for m in messages}
    assert messages[0]["data"] == {"images": ["inline"]}
    assert by_text["github.search_issues"]["data"] == {
        "server": "github",
        "tool": "search_issues",
        "arguments": {"q": "bug"},
        "result": {"total": 2},
        "isError": False,
    }
    assert by_text["claude code"]["data"] == {"query": "claude code", "output": "results", "isError": False}
    assert by_text["https://example.com"]["data"] == {
        "query": "https://example.com",
        "output": None,
        "isError": None,
    }
    assert by_text["sleep 100"]["data"]["exitCode"] is None
    assert (
        by_text["false"]["data"]["exitCode"] == 1
        and by_text["false"]["data"]["output"] == "Exit code 1\nboom"
    )
    assert by_text["Task #1"]["data"]["items"] == [{"text": "Plan", "status": "in_progress"}]
    assert messages[-1]["turnId"] == "p2"


def test_a_call_without_result_is_flushed_by_the_next_prompt() -> None:
    messages, _, _ = feed(
        [
            rec("user", "u1", "first", promptId="p1"),
            tool_use("a1", "t1", "Read", {"file_path": "/w/x"}),
            rec("user", "u2", "second", promptId="p2"),
        ]
    )
    assert [(m["kind"], m["text"]) for m in messages] == [
        ("message", "first"),
        ("tool", "Read"),
        ("message", "second"),
    ]
    assert messages[1]["data"] == {
        "name": "Read",
        "arguments": {"file_path": "/w/x"},
        "output": None,
        "isError": None,
    }
    assert messages[1]["turnId"] == "p1"


def test_detection_order_and_non_claude_lines() -> None:
    from oa_actors.jsonl import _pyclaude

    assert _pyclaude.detect({"type": "user", "sessionId": SID, "uuid": "u"}) == "claude"
    assert _pyclaude.detect({"type": "queue-operation", "sessionId": SID}) == "claude"
    assert _pyclaude.detect({"type": "summary", "summary": "s", "leafUuid": "u"}) == "claude"
    assert _pyclaude.detect({"type": "system", "subtype": "init", "session_id": SID}) == "claude-stream"
    assert _pyclaude.detect({"type": "user", "uuid": "u"}) is None
    assert _pyclaude.detect({"type": "thread.started", "thread_id": "x"}) is None
    # A Codex rollout is still a Codex rollout (Codex is detected first), with source codex.
    codex = CORPUS / "codex-0.169.0"
    path = sorted(codex.glob("sessions/**/*.jsonl"))[0]
    _, thread, _ = parse_with(TAIL, path)
    assert thread is not None and thread["source"] == "codex"


def test_non_string_types_later_in_a_claude_file_are_counted_not_raised(tail_cls) -> None:
    first = (
        b'{"type":"queue-operation","operation":"enqueue","timestamp":"2026-11-22T02:00:00.000Z",'
        b'"sessionId":"s1"}\n'
    )
    tail = tail_cls("x.jsonl")
    tail.feed(first + b'{"type":[1]}\n{"type":{"a":1}}\n', final=True)
    assert tail.errors["unknown"] == 2
