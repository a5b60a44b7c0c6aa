"""Regenerate tests/data/golden from the pure-Python twin. Review the diff before committing it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from oa_actors.jsonl._pytail import JsonlTail
from tests.jsonl.corpus import GOLDEN, all_codex_files, claude_files, golden_path, parse_with, relative


def main() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    files = all_codex_files() + claude_files()
    for path in files:
        messages, thread, errors = parse_with(JsonlTail, path)
        doc = {"thread": relative(thread), "messages": messages, "errors": errors}
        golden_path(path).write_text(json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(files)} golden files to {GOLDEN}")


if __name__ == "__main__":
    main()
