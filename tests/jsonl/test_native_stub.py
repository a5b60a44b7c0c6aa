"""The native module's stub (`oa_actors/_oa_native.pyi`) matches the built extension.

`mypy.stubtest` compares every name, signature and default; this test also checks that `__all__`
and the documented values (formats, error kinds, row keys) are the ones the extension produces.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from oa_actors import jsonl

ROOT = Path(__file__).resolve().parents[2]
STUB = ROOT / "oa_actors" / "_oa_native.pyi"
CORPUS = ROOT / "tests" / "data" / "corpus"

pytestmark = pytest.mark.skipif("rust" not in jsonl.implementations(), reason="native extension not built")


def stub_doc(cls: str, name: str) -> str:
    """The docstring of `cls.name` (attribute or method) in the stub."""
    tree = ast.parse(STUB.read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for i, item in enumerate(node.body):
                if isinstance(item, ast.FunctionDef) and item.name == name:
                    return ast.get_docstring(item) or ""
                if isinstance(item, ast.AnnAssign) and getattr(item.target, "id", None) == name:
                    nxt = node.body[i + 1]
                    assert isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
                    return str(nxt.value.value)
    raise AssertionError(f"{cls}.{name} is not documented in the stub")


def test_stubtest_is_clean() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "oa_actors._oa_native"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_all_and_documented_values_are_complete() -> None:
    from oa_actors import _oa_native as native  # type: ignore[attr-defined,unused-ignore]

    tree = ast.parse(STUB.read_text())
    declared = next(
        ast.literal_eval(n.value)
        for n in tree.body
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", None) == "__all__"
    )
    assert sorted(declared) == sorted(native.__all__)
    documented_formats = set(re.findall(r"`([a-z-]+)`\s+\(", stub_doc("JsonlTail", "format")))
    documented_errors = set(re.findall(r"`([a-z0-9_]+)`", stub_doc("TailBatch", "errors")))
    thread_keys, message_keys = (
        " ".join(re.findall(r"keys\s+`([^`]+)`\s+in that order", stub_doc("TailBatch", attr))[0].split())
        for attr in ("threads", "messages")
    )
    seen_formats: set[str] = set()
    for path in sorted(CORPUS.rglob("*.jsonl")):
        tail = native.JsonlTail(str(path))
        batch = tail.feed(path.read_bytes(), final=True)
        seen_formats.add(tail.format)
        assert set(batch.errors) == documented_errors
        for row in batch.threads:
            assert ", ".join(row) == thread_keys
        for row in batch.messages:
            assert ", ".join(row) == message_keys
    assert seen_formats == documented_formats == {"rollout", "exec", "claude", "claude-stream"}
