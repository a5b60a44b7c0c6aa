"""How the instance secret reaches `convex-local-backend` without a command line.

A clap program reads an argument from the environment only if it declares an `env` source, and
its `--help` then shows it as `[env: INSTANCE_SECRET=]`. `secret_from_env` asks a binary (or its
key generator) exactly that, once per binary version; the caller passes the secret in the child's
environment when the answer is yes (docs/convex.md, "The backend actor").
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping

SECRET_ENV = "INSTANCE_SECRET"  # clap's `env` name for --instance-secret (self-hosted Convex's name)
_ENV_SOURCE = re.compile(r"\[env:\s*" + SECRET_ENV + "=")

# argv -> (mtime of argv[0], answer): a replaced binary is asked again.
_seen: dict[tuple[str, ...], tuple[int, bool]] = {}


def secret_from_env(argv: list[str], env: Mapping[str, str]) -> bool:
    """Whether the program `argv` reads the instance secret from `INSTANCE_SECRET`: its `--help`
    lists that source the way clap does. Asked with `env` (the inherited environment, from
    `Config.environ`) minus the variable, so the help cannot print a value; remembered until the
    binary changes."""
    try:
        mtime = os.stat(argv[0]).st_mtime_ns
    except OSError:
        return False
    seen = _seen.get(tuple(argv))
    if seen is not None and seen[0] == mtime:
        return seen[1]
    answer = _help_lists_env_source(argv, env)
    _seen[tuple(argv)] = (mtime, answer)
    return answer


def forget() -> None:
    """Ask every binary again (tests switch a stand-in's behaviour without changing the file)."""
    _seen.clear()


def _help_lists_env_source(argv: list[str], inherited: Mapping[str, str]) -> bool:
    env = {k: v for k, v in inherited.items() if k != SECRET_ENV}
    try:
        out = subprocess.run(
            [*argv, "--help"], capture_output=True, text=True, timeout=30, env=env, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return _ENV_SOURCE.search(out.stdout + out.stderr) is not None
