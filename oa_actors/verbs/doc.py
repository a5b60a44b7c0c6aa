"""docs/protocol.md's tables, generated from the registry (verbs, events, error codes).

    python -m oa_actors.verbs.doc            # rewrite the generated blocks of docs/protocol.md
    python -m oa_actors.verbs.doc --check    # exit 1 if they differ from the registry

Each table sits between `<!-- BEGIN GENERATED <name> ... -->` and `<!-- END GENERATED <name> -->`;
everything outside the markers is hand-written. tests/gateway/test_registry.py runs the check.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi

from oa_actors.verbs.catalog import VERBS
from oa_actors.verbs.events import EVENTS
from oa_actors.verbs.registry import LOCAL, ErrorCode, Verb

NOT_BLANK = r"\S"


def _meta(t: mi.Type) -> tuple[mi.Type, str, str]:
    """The type without its metadata, its title (a name for the docs) and its description."""
    if isinstance(t, mi.Metadata):
        inner, title, description = _meta(t.type)
        extra = t.extra_json_schema or {}
        return inner, title or extra.get("title", ""), description or extra.get("description", "")
    return t, "", ""


def _named(struct: type) -> str | None:
    """How the docs name a Struct that has a table row of its own: an event's data, a verb's reply."""
    event = next((e.name for e in EVENTS if e.data is struct), None)
    if event is not None:
        return f"{event} data"
    verb = next((v.name for v in VERBS if v.reply is struct), None)
    return f"{verb} reply" if verb is not None else None


def type_text(t: mi.Type) -> str:
    """A compact, JSON-flavoured spelling of a type: `string`, `int >= 1`, `[thread row]`, `{a: bool}`."""
    t, title, _ = _meta(t)
    if title:
        return title
    if isinstance(t, mi.StrType):
        return "non-blank string" if t.pattern == NOT_BLANK else "string"
    if isinstance(t, mi.IntType):
        return "int" + (f" >= {t.ge}" if t.ge is not None else "")
    if isinstance(t, mi.UnionType):
        return " | ".join(type_text(x) for x in t.types)
    if isinstance(t, mi.LiteralType):
        return " | ".join(f'"{v}"' for v in t.values)
    if isinstance(t, mi.ListType):
        return f"[{type_text(t.item_type)}]"
    if isinstance(t, mi.DictType):
        return "object" if isinstance(t.value_type, mi.AnyType) else f"{{string: {type_text(t.value_type)}}}"
    if isinstance(t, mi.StructType):
        return _named(t.cls) or struct_text(t)
    simple = {mi.BoolType: "bool", mi.FloatType: "float", mi.NoneType: "null", mi.AnyType: "any"}
    return simple.get(type(t), type(t).__name__)


def struct_text(t: mi.StructType) -> str:
    """`{name: type, ...}` of a reply or event Struct; `name?` for a field that may be left out."""
    parts = []
    for f in t.fields:
        may_be_left_out = (
            not f.required and f.default is msgspec.NODEFAULT and f.default_factory is msgspec.NODEFAULT
        )
        parts.append(f"{f.encode_name}{'?' if may_be_left_out else ''}: {type_text(f.type)}")
    return "{" + ", ".join(parts) + "}"


def args_text(verb: Verb[Any, Any]) -> str:
    """The fields of a verb's arguments, each with its type, whether required, and its note."""
    info = mi.type_info(verb.args)
    assert isinstance(info, mi.StructType)
    out = []
    for f in info.fields:
        inner, _, note = _meta(f.type)
        if isinstance(inner, mi.UnionType):  # `X | None`: the optional field's type is X
            inner = next(x for x in inner.types if not isinstance(x, mi.NoneType))
            note = note or _meta(inner)[2]
        text = f"`{f.encode_name}` ({type_text(inner)}{', required' if f.required else ''})"
        out.append(f"{text}: {note}" if note else text)
    if verb.args.one_of:
        out.append("exactly one of " + ", ".join(f"`{n}`" for n in verb.args.one_of))
    return "; ".join(out) or "none"


def reply_text(verb: Verb[Any, Any]) -> str:
    info = mi.type_info(verb.reply)
    assert isinstance(info, mi.StructType)
    text = struct_text(info)
    for key, part in verb.parts:
        text += f" (`{key}` is asked of `{part.owner}` at the same time)"
    return text


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _owner(verb: Verb[Any, Any]) -> str:
    return "the gateway" if verb.owner == LOCAL else f"`{verb.owner}`"


def verbs_table(public: bool = True) -> str:
    """The verbs WebSocket clients may send (or, `public=False`, those only actors and the CLI send)."""
    rows = [
        [f"`{v.name}`", _owner(v), args_text(v), reply_text(v), v.doc]
        for v in sorted(VERBS, key=lambda v: (v.owner != LOCAL, v.owner, v.name))
        if v.public is public
    ]
    return _table(["verb", "answered by", "fields", "result", "what it does"], rows)


def events_table() -> str:
    rows = []
    for e in EVENTS:
        info = mi.type_info(e.data)
        assert isinstance(info, mi.StructType)
        rows.append([f"`{e.name}`", e.to, struct_text(info), e.doc])
    return _table(["event", "to", "data", "what it means"], rows)


def errors_table() -> str:
    return _table(["code", "meaning"], [[f"`{code.value}`", code.doc] for code in ErrorCode])


BLOCKS: dict[str, Callable[[], str]] = {
    "verbs": verbs_table,
    "internal-verbs": lambda: verbs_table(public=False),
    "events": events_table,
    "errors": errors_table,
}


def render(text: str) -> str:
    """`text` with every generated block replaced by the registry's table; ValueError if one is missing."""
    for name, make in BLOCKS.items():
        begin = re.compile(rf"<!-- BEGIN GENERATED {re.escape(name)}\b[^>]*-->\n")
        start = begin.search(text)
        stop = text.find(f"<!-- END GENERATED {name} -->", start.end()) if start else -1
        if start is None or stop < 0:
            raise ValueError(f"no generated block {name!r} in the document")
        text = text[: start.end()] + make() + "\n" + text[stop:]
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("path", nargs="?", type=Path, default=Path("docs/protocol.md"))
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when they differ")
    args = parser.parse_args(argv)
    path: Path = args.path
    text = path.read_text(encoding="utf-8")
    new = render(text)
    if args.check:
        if new != text:
            print(f"{path}: the generated tables differ from the registry; run python -m oa_actors.verbs.doc")
            return 1
        return 0
    if new != text:
        path.write_text(new, encoding="utf-8")
        print(f"{path}: tables regenerated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
