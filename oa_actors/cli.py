"""The `oa-supervisor` command line: a dispatcher to the modules that register subcommands
(each has `register(subparsers)`; the order below is the order `--help` lists them)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from oa_actors import __version__
from oa_actors.config import ConfigError
from oa_actors.runtime.privacy import use_private_umask

DESCRIPTION = (
    "Mirror your coding-agent sessions (Codex, Claude Code) into a local store, read them, see what they "
    "cost, and reach them from your phone. Start with `oa-supervisor run` (or `service install`), then "
    "`threads`, `show ID`, `search WORDS` and `usage`."
)

# Modules that add subcommands; each exposes `register(subparsers) -> None`.
COMMAND_MODULES = (
    "oa_actors.runtime.commands",
    "oa_actors.commands.service",
    "oa_actors.commands.threads",
    "oa_actors.commands.search",
    "oa_actors.commands.usage",
    "oa_actors.commands.store",
    "oa_actors.commands.parse",
    "oa_actors.commands.similar",
    "oa_actors.commands.config",
    "oa_actors.commands.convex",
    "oa_actors.commands.pair",
    "oa_actors.commands.devices",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="oa-supervisor",
        description=DESCRIPTION,
        epilog="`oa-supervisor COMMAND --help` explains a command. Settings: `oa-supervisor config` "
        "(environment variables and $OPENAGENTS_HOME/config.toml). Docs: README.md and docs/.",
    )
    parser.add_argument("--version", action="version", version=f"oa-supervisor {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # A subsystem that is not built yet; only its own absence is tolerated.
            if exc.name is not None and name.startswith(exc.name):
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    # Private by default: every file any command (and any actor, which inherits it) creates under
    # OPENAGENTS_HOME is readable by the user only (oa_actors/runtime/privacy.py).
    use_private_umask()
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(handler(args) or 0)
    except BrokenPipeError:
        # `oa-supervisor parse ... | head` is normal use, not an error.
        return 0
    except ConfigError as exc:
        # A malformed config.toml or a bad setting: one clear line (it names the key or line).
        print(f"oa-supervisor: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
