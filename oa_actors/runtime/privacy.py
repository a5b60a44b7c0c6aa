"""Private by default: what lives under OPENAGENTS_HOME is readable by its owner only.

The store holds every mirrored session (prompts, code, tool output), so it is as private as the
sessions themselves; so are the logs and the secrets. Three layers:

* The process umask of the CLI, the supervisor and every actor is `PRIVATE_UMASK` (0o077); they
  inherit it, so whatever they create is 0600 / 0700 even where no mode can be given: SQLite's
  `-wal` and `-shm` files, rotated logs, the local Convex backend's data.
* Where we create a file or folder we also name the mode (`write_secret`, the log handler, the
  store, projects and skills files, sockets).
* `secure_home` creates the home 0700 and tightens a home, and our files in it, that an older
  version left readable by others (it returns what it changed; the caller logs a warning). Deeper
  files are safe once the home is 0700: nobody else can traverse it.

Agent CLIs started for runs work in the user's own folders: they should get the user's umask back
(the runner's business), not this one.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600

# Our entries directly in the home (files and folders), and the folders whose files are ours.
_HOME_ENTRIES = (
    "store.sqlite3",
    "store.sqlite3-wal",
    "store.sqlite3-shm",
    "bridge.json",
    "devices.json",
    "devices.json.lock",
    "machine.json",
    "logs",
    "run",
)
_OWN_FOLDERS = ("logs", "run", "convex", "tls")


_user_umask: int | None = None  # the umask this process started with (before ours)


def use_private_umask() -> int:
    """Set the process umask to `PRIVATE_UMASK`; returns the previous one. The first call remembers
    the user's own umask (`user_umask()`), which agent CLIs started for runs get back."""
    global _user_umask
    previous = os.umask(PRIVATE_UMASK)
    if _user_umask is None:
        _user_umask = previous
    return previous


def user_umask() -> int:
    """The umask the user started us with (0o022 if `use_private_umask` was never called)."""
    return 0o022 if _user_umask is None else _user_umask


def _tighten(path: Path, changed: list[tuple[Path, int]]) -> None:
    try:
        st = path.lstat()
    except OSError:
        return
    if stat.S_ISLNK(st.st_mode) or st.st_uid != os.getuid():
        return  # never follow a link or touch another user's file
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        os.chmod(path, mode & ~0o077)
        changed.append((path, mode))


def secure_home(home: Path) -> list[tuple[Path, int]]:
    """Create `home` with mode 0700; remove group/other permissions from it and from our files in it
    (store, logs, run, secrets). Returns `(path, old mode)` for each path it had to tighten."""
    home.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    changed: list[tuple[Path, int]] = []
    _tighten(home, changed)
    for name in _HOME_ENTRIES:
        _tighten(home / name, changed)
    for name in _OWN_FOLDERS:
        folder = home / name
        if folder.is_dir() and not folder.is_symlink():
            _tighten(folder, changed)
            for entry in os.scandir(folder):
                _tighten(Path(entry.path), changed)
    return changed
