"""Regenerate tests/data/golden from the pure-Python twin. Review the diff before committing it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from oa_actors.jsonl._pytail import JsonlTail  # noqa: E402
from tests.jsonl.corpus import GOLDEN, all_codex_files, golden_path, parse_with, relative  # noqa: E402


def main() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for path in all_codex_files():
        messages, thread, errors = parse_with(JsonlTail, path)
        doc = {"thread": relative(thread), "messages": messages, "errors": errors}
        golden_path(path).write_text(json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(all_codex_files())} golden files to {GOLDEN}")


if __name__ == "__main__":
    main()
