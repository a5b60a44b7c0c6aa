"""Write tests/data/usage/fixture.json (the corpus's thread rows and usage rows, as the Python twin
parses them) and expected.json (the Python usage summary of it, grouped every way but by day).

The Convex query `usage:summary` must give the same summaries (convex/usage.test.ts), and
tests/usage/test_usage_parity.py checks both files are what this script writes now.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from oa_actors.jsonl._pytail import JsonlTail
from oa_actors.usage.prices import PriceTable
from oa_actors.usage.summary import rows_of, summarize
from tests.jsonl.corpus import all_codex_files, claude_files, parse_with, relative

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "usage"
GROUPINGS = (None, "model", "source", "project", "thread")


def fixture() -> dict[str, Any]:
    threads: dict[str, dict[str, Any]] = {}
    messages = []
    for path in all_codex_files() + claude_files():
        rows, thread, _ = parse_with(JsonlTail, path)
        if thread is not None:
            threads[thread["threadId"]] = relative(thread) or thread  # the last file of a thread wins
        messages += [r for r in rows if r["kind"] == "usage"]
    return {"threads": sorted(threads.values(), key=lambda t: t["threadId"]), "messages": messages}


def expected(fix: dict[str, Any]) -> list[dict[str, Any]]:
    rows = rows_of(fix["threads"], fix["messages"])
    return [summarize(rows, PriceTable(), by) for by in GROUPINGS]


def dump(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    fix = fixture()
    (OUT / "fixture.json").write_text(dump(fix))
    (OUT / "expected.json").write_text(dump(expected(fix)))
    print(f"wrote {len(fix['messages'])} usage rows of {len(fix['threads'])} threads to {OUT}")


if __name__ == "__main__":
    main()
