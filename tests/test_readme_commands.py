"""The README's command table names every subcommand of the CLI, and only those."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from oa_actors.cli import build_parser

README = Path(__file__).resolve().parents[1] / "README.md"


def subcommands() -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def test_the_readme_command_table_matches_the_cli() -> None:
    rows = [line for line in README.read_text().splitlines() if line.startswith("| `oa-supervisor ")]
    named = {m.group(1) for line in rows if (m := re.match(r"\| `oa-supervisor ([a-z-]+)", line))}
    assert named == subcommands()


def test_every_command_has_user_facing_help() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for choice in sub._choices_actions:
        assert choice.help and len(choice.help) > 15, choice.dest
    assert "dispatcher" not in (parser.description or "")
