"""The files the Convex query is tested against are what the Python side makes now: the usage
fixture and its Python summaries (scripts/gen_usage_fixture.py, used by convex/usage.test.ts) and
the generated price module (convex/usagePrices.ts from oa_actors/usage/prices.json)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from oa_actors.usage.prices import typescript_module

ROOT = Path(__file__).resolve().parents[2]


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "gen_usage_fixture", ROOT / "scripts" / "gen_usage_fixture.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_convex_fixture_and_its_python_summaries_are_current() -> None:
    gen = _generator()
    fix = gen.fixture()
    assert json.loads((ROOT / "tests/data/usage/fixture.json").read_text()) == fix, (
        "run scripts/gen_usage_fixture.py"
    )
    want = json.loads((ROOT / "tests/data/usage/expected.json").read_text())
    assert want == gen.expected(fix), "run scripts/gen_usage_fixture.py"
    assert [s["by"] for s in want] == [None, "model", "source", "project", "thread"]
    assert want[0]["total"]["responses"] > 100 and want[0]["total"]["costUsd"] > 0


def test_the_convex_price_table_is_generated_from_the_package() -> None:
    assert (ROOT / "convex" / "usagePrices.ts").read_text() == typescript_module(), (
        "run: .venv/bin/python -m oa_actors.usage.prices > convex/usagePrices.ts"
    )
