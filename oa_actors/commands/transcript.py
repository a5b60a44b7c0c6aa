"""A stored row as people read it (`oa-supervisor show`): one block per row kind (docs/rows.md)."""

from __future__ import annotations

import json
from typing import Any

OUTPUT_LINES = 12  # command output and MCP results are trimmed to this many lines
_RESET = "\x1b[0m"
# Control characters in stored text (terminal escapes in command output) are shown as pictures,
# so a transcript never drives the terminal.
_SAFE = {c: 0x2400 + c for c in range(32) if c not in (9, 10)} | {0x7F: 0x2421}


class Style:
    """ANSI colours when `on` (a terminal), plain text otherwise."""

    def __init__(self, on: bool) -> None:
        self.on = on

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}{_RESET}" if self.on else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def colour(self, name: str, text: str) -> str:
        code = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "magenta": "35", "cyan": "36"}[name]
        return self._wrap(code, text)


def safe(text: Any) -> str:
    """Stored text made printable (control characters as their Unicode pictures)."""
    return str(text).translate(_SAFE)


def trim(text: str, full: bool, lines: int = OUTPUT_LINES) -> str:
    """At most `lines` lines (unless `full`), saying how many were left out."""
    parts = text.rstrip("\n").split("\n")
    if full or len(parts) <= lines:
        return "\n".join(parts)
    return "\n".join(parts[:lines]) + f"\n… {len(parts) - lines} more lines (--full shows them)"


def indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.split("\n"))


def _data(row: dict[str, Any]) -> dict[str, Any]:
    d = row.get("data")
    return d if isinstance(d, dict) else {}


def _tool(row: dict[str, Any], s: Style, full: bool) -> str:
    kind, d, text = row["kind"], _data(row), safe(row.get("text") or "")
    if kind == "cmd":
        code = d.get("exitCode")
        status = (
            ""
            if code is None
            else (s.colour("green", "exit 0") if code == 0 else s.colour("red", f"exit {code}"))
        )
        out = f"{s.colour('cyan', '$')} {s.bold(safe(d.get('command') or text))}  {status}".rstrip()
        if d.get("output"):
            out += "\n" + s.dim(indent(trim(safe(d["output"]), full)))
        return out
    if kind == "file":
        changes = d.get("changes") or []
        lines = [
            f"  {c.get('kind', '?'):<6} {safe(c.get('path', '?'))}" for c in changes if isinstance(c, dict)
        ]
        return s.colour("yellow", "✎ files changed") + ("\n" + "\n".join(lines) if lines else "")
    if kind == "todo":
        marks = {"completed": "[x]", "in_progress": "[~]"}
        items = [i for i in d.get("items") or [] if isinstance(i, dict)]
        lines = [f"  {marks.get(str(i.get('status')), '[ ]')} {safe(i.get('text', ''))}" for i in items]
        return s.colour("magenta", "☐ todo list") + ("\n" + "\n".join(lines) if lines else "")
    if kind == "mcp":
        call = f"{d.get('server') or '?'}.{d.get('tool') or text}"
        args = json.dumps(d.get("arguments"), ensure_ascii=False) if d.get("arguments") is not None else ""
        out = f"{s.colour('blue', '⚙ mcp')} {s.bold(safe(call))}({safe(args)[:200]})"
        result = d.get("result")
        if result is not None:
            shown = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False, indent=1)
            out += "\n" + s.dim(indent(trim(safe(shown), full)))
        return out
    if kind == "search":
        return f"{s.colour('blue', '⌕ web search')} {safe(d.get('query') or text)}"
    name = d.get("name") or text
    out = f"{s.colour('blue', '⚙ tool')} {s.bold(safe(name))}"
    if d.get("output"):
        out += "\n" + s.dim(indent(trim(safe(d["output"]), full)))
    return out


def render_row(row: dict[str, Any], s: Style, full: bool = False) -> str:
    """One row as text ('' for a row people need not see)."""
    role, kind, text = row["role"], row["kind"], safe(row.get("text") or "")
    if role == "tool":
        return _tool(row, s, full)
    if role == "user" and kind == "message":
        return s.colour("green", s.bold("▶ you")) + "\n" + indent(text)
    if role == "assistant" and kind == "message":
        return s.colour("cyan", s.bold("◀ agent")) + "\n" + indent(text)
    if kind == "reason":
        if full:
            return s.dim("… reasoning\n" + indent(text))
        first = text.strip().split("\n", 1)[0][:100]
        return s.dim(
            f"… reasoning: {first}" + (" (folded; --full shows it)" if len(text) > len(first) else "")
        )
    if kind == "error":
        return s.colour("red", f"! error: {safe(_data(row).get('message') or text)}")
    if kind == "aborted":
        return s.colour("red", f"! aborted: {safe(_data(row).get('reason') or text)}")
    if kind == "usage":
        d = _data(row)
        return s.dim(
            f"· {d.get('totalTokens') or 0:,} tokens" + (f" ({safe(d['model'])})" if d.get("model") else "")
        )
    if kind == "compaction":
        return s.dim("· context compacted")
    if kind == "context":
        return s.dim(f"· context: {text.strip().split(chr(10), 1)[0][:80]}")
    return s.dim(f"· {role}/{kind}: {text[:200]}")
