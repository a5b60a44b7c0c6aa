"""Convex limits applied by the writer before sending (docs/convex.md).

1 MiB per document: a longer text is cut (the full text stays in the local store) and the row's
`data.truncated` says so. 16,000 documents and 16 MiB written per mutation: batches stay well
below both (`sync:applyBatch` checks the same numbers and refuses anything larger).
"""

from __future__ import annotations

from typing import Any

import msgspec

MAX_DOCUMENT_BYTES = 900_000  # below Convex's 1 MiB, leaving room for system fields and indexes
MAX_BATCH_ROWS = 1_500  # Convex allows 4,096 index reads per mutation: about 2 per row
MAX_BATCH_BYTES = 8 * 1024 * 1024
TRUNCATION_MARK = "\n…[truncated: the full text is in the local store]"

_encode = msgspec.json.Encoder().encode


def _valid_field(name: object) -> bool:
    # Convex field names: non-empty printable ASCII, not starting with `$` (convex-js values.ts).
    return (
        isinstance(name, str)
        and 0 < len(name) <= 1024
        and name.isascii()
        and name.isprintable()
        and not name.startswith("$")
    )


def _storable(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_valid_field(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    return True


def convex_safe(doc: dict[str, Any]) -> dict[str, Any]:
    """The row itself, or a copy whose nested values Convex cannot store (object keys such as
    `$schema` or non-ASCII ones, found in tool arguments and skill metadata) are kept as a JSON
    string `{"json": "..."}` instead of being refused."""
    bad = [k for k, v in doc.items() if isinstance(v, dict | list) and not _storable(v)]
    if not bad:
        return doc
    out = dict(doc)
    for k in bad:
        out[k] = {"json": _encode(doc[k]).decode()}
    return out


def doc_size(doc: dict[str, Any]) -> int:
    return len(_encode(doc))


def fit_document(doc: dict[str, Any], limit: int = MAX_DOCUMENT_BYTES) -> dict[str, Any]:
    """The row itself when it fits, else a copy with `text` (and if needed `data`) cut to fit."""
    doc = convex_safe(doc)
    size = doc_size(doc)
    if size <= limit:
        return doc
    out = dict(doc)
    data = out.get("data")
    if data is not None and len(_encode(data)) > limit // 4:
        out["data"] = {
            "truncated": True,
            "note": "structured data too large for Convex; kept in the local store",
        }
    else:
        out["data"] = {
            **(data if isinstance(data, dict) else {"value": data} if data is not None else {}),
            "truncated": True,
        }
    text = out.get("text")
    if isinstance(text, str):
        budget = limit - doc_size({**out, "text": ""}) - len(TRUNCATION_MARK.encode()) - 16
        raw = text.encode()[: max(budget, 0)]
        out["text"] = raw.decode("utf-8", errors="ignore") + TRUNCATION_MARK
    return out
