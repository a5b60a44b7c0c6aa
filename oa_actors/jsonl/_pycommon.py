"""Helpers shared by the pure-Python parsers (the Rust crate has an exact twin of each).

Every rule here is defined byte for byte so both backends give identical rows: timestamps,
excerpts, titles, tool-output prose, strict JSON and idempotency keys.
"""

from __future__ import annotations

import json
import math
import re
from hashlib import blake2b
from typing import Any

EXCERPT_CHARS = 2000
TITLE_CHARS = 80
MAX_JSON_DEPTH = 127  # serde_json accepts 127 nested containers and rejects 128; so do both backends
I64_MIN, I64_MAX = -(2**63), 2**63 - 1

_ASCII_WS = re.compile(r"[ \t\n\r\x0b\x0c]+")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
_UUID_TAIL = re.compile(
    r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\.jsonl$"
)


class InvalidJson(ValueError):
    """A line (or an embedded JSON string) that strict JSON rejects."""


def _reject_constant(name: str) -> Any:
    raise InvalidJson(f"non-standard JSON constant {name}")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise InvalidJson(f"number out of range: {text[:40]}")
    return value


def _bounded_int(text: str) -> int:
    # serde_json parses integers beyond u64 as floats and rejects those that overflow a float.
    if len(text) > 300 and math.isinf(float(text)):
        raise InvalidJson("integer out of range")
    return int(text)


_DECODER = json.JSONDecoder(
    parse_constant=_reject_constant, parse_float=_finite_float, parse_int=_bounded_int
)


def _max_depth(text: str) -> int:
    """Nesting depth of arrays/objects, ignoring brackets inside strings."""
    depth = best = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            best = max(best, depth)
        elif ch in "]}":
            depth -= 1
    return best


def loads_strict(text: str) -> Any:
    """Parse JSON the way serde_json does.

    No NaN/Infinity, finite numbers, no lone surrogates, depth <= 127."""
    try:
        value = _DECODER.decode(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidJson(str(exc)) from None
    if (text.count("[") + text.count("{")) > MAX_JSON_DEPTH and _max_depth(text) > MAX_JSON_DEPTH:
        raise InvalidJson("recursion limit exceeded")
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidJson("lone surrogate in string escape") from None
    return value


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def as_int(value: Any) -> int | None:
    """An integer JSON number that fits in i64, else None (floats and bools are not integers)."""
    if isinstance(value, int) and not isinstance(value, bool) and I64_MIN <= value <= I64_MAX:
        return value
    return None


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _digits(s: str, start: int, count: int) -> int | None:
    part = s[start : start + count]
    if len(part) != count or not all("0" <= c <= "9" for c in part):
        return None
    return int(part)


def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_ts(value: Any) -> int | None:
    """RFC 3339 (`2026-11-22T01:55:52.944Z`, offsets allowed) to ms since epoch; None if malformed.

    Fractions are truncated to milliseconds. Hand-written so the Rust twin matches exactly.
    """
    if not isinstance(value, str) or len(value) < 20:
        return None
    s = value
    year, month, day = _digits(s, 0, 4), _digits(s, 5, 2), _digits(s, 8, 2)
    hour, minute, sec = _digits(s, 11, 2), _digits(s, 14, 2), _digits(s, 17, 2)
    if (
        None in (year, month, day, hour, minute, sec)
        or s[4] != "-"
        or s[7] != "-"
        or s[13] != ":"
        or s[16] != ":"
    ):
        return None
    if s[10] not in "Tt ":
        return None
    assert year is not None and month is not None and day is not None
    assert hour is not None and minute is not None and sec is not None
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and sec <= 60):
        return None
    i = 19
    millis = 0
    if i < len(s) and s[i] == ".":
        j = i + 1
        while j < len(s) and "0" <= s[j] <= "9":
            j += 1
        frac = s[i + 1 : j]
        if not frac:
            return None
        millis = int((frac + "00")[:3])
        i = j
    rest = s[i:]
    if rest in ("Z", "z"):
        offset_min = 0
    elif len(rest) == 6 and rest[0] in "+-" and rest[3] == ":":
        oh, om = _digits(rest, 1, 2), _digits(rest, 4, 2)
        if oh is None or om is None:
            return None
        offset_min = (oh * 60 + om) * (1 if rest[0] == "+" else -1)
    else:
        return None
    days = _days_from_civil(year, month, day)
    secs = days * 86400 + hour * 3600 + minute * 60 + sec - offset_min * 60
    return secs * 1000 + millis


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """At most `limit` characters, with `…` appended when cut."""
    return text if len(text) <= limit else text[:limit] + "…"


def make_title(text: str) -> str | None:
    """A thread title from a prompt: ASCII whitespace runs collapsed, at most 80 characters."""
    flat = _ASCII_WS.sub(" ", text).strip(" ")
    if not flat:
        return None
    return flat if len(flat) <= TITLE_CHARS else flat[:TITLE_CHARS] + "…"


def uuid_from_path(path: str) -> str | None:
    """The UUID at the end of a rollout file name (`rollout-…-<uuid>.jsonl`)."""
    m = _UUID_TAIL.search(path)
    return m.group(1).lower() if m else None


def row_key(base: str, k: int) -> str:
    """Idempotency key: blake2b-128 of the row's identity and its occurrence index, as hex."""
    return blake2b(f"{base}\x1f{k}".encode(), digest_size=16).hexdigest()


def parse_tool_output(raw: Any) -> tuple[str | None, int | None, int | None]:
    """Split a tool output into (body, exitCode, durationMs).

    Two shapes exist: classic JSON `{"output": …, "metadata": {"exit_code", "duration_seconds"}}`,
    and unified-exec prose (`Wall time: 0.06 seconds` / `Process exited with code 3` /
    `Exit code: 0` header lines, then `Output:` and the body).
    """
    if not isinstance(raw, str):
        return None, None, None
    if raw.startswith("{"):
        try:
            obj = loads_strict(raw)
        except InvalidJson:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("output"), str):
            meta = as_dict(obj.get("metadata"))
            dur = meta.get("duration_seconds")
            ms = _seconds_to_ms(dur) if isinstance(dur, (int, float)) and not isinstance(dur, bool) else None
            return obj["output"], as_int(meta.get("exit_code")), ms
        return raw, None, None
    if raw.startswith("Output:\n"):
        header, body = "", raw[len("Output:\n") :]
    else:
        idx = raw.find("\nOutput:\n")
        if idx < 0:
            return raw, None, None
        header, body = raw[:idx], raw[idx + len("\nOutput:\n") :]
    exit_code: int | None = None
    duration: int | None = None
    for line in header.split("\n"):
        if line.startswith("Process exited with code "):
            exit_code = _parse_i64(line[len("Process exited with code ") :])
        elif line.startswith("Exit code: "):
            exit_code = _parse_i64(line[len("Exit code: ") :])
        elif line.startswith("Wall time: ") and line.endswith(" seconds"):
            duration = _parse_seconds(line[len("Wall time: ") : -len(" seconds")])
    return body, exit_code, duration


def _parse_i64(text: str) -> int | None:
    t = text[1:] if text.startswith("-") else text
    if not t or not t.isascii() or not t.isdigit():
        return None
    return as_int(int(text))


def _parse_seconds(text: str) -> int | None:
    if not text or not all(c in "0123456789." for c in text) or text.count(".") > 1 or text == ".":
        return None
    return _seconds_to_ms(float(text))


def _seconds_to_ms(seconds: float) -> int | None:
    ms = seconds * 1000.0
    if not (0 <= ms < 9.2e18):
        return None
    return int(ms + 0.5)


def parse_json_arg(raw: Any) -> Any:
    """Tool arguments arrive as a JSON string; parsed when valid, else kept as the string."""
    if not isinstance(raw, str):
        return raw
    try:
        return loads_strict(raw)
    except InvalidJson:
        return raw
