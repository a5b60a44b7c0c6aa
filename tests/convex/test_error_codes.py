"""The typed Convex error codes the writer acts on exist in convex/errors.ts (one list of codes)."""

from __future__ import annotations

import re
from pathlib import Path

from oa_actors.convex import client

ERRORS_TS = Path(__file__).resolve().parents[2] / "convex" / "errors.ts"


def declared_codes() -> set[str]:
    text = ERRORS_TS.read_text()
    body = re.search(r"export const ERROR_CODES = \[(.*?)\] as const;", text, re.S)
    assert body, "convex/errors.ts no longer declares ERROR_CODES as a const array"
    return set(re.findall(r'^\s*"([A-Za-z]+)",', body.group(1), re.M))


def test_the_codes_the_writer_reads_are_declared_by_the_functions() -> None:
    codes = declared_codes()
    assert {"DocumentTooLarge", "BatchTooLarge", "UnknownThread", "InvalidRunTransition"} <= codes
    assert {client.DOCUMENT_TOO_LARGE, client.BATCH_TOO_LARGE} <= codes
