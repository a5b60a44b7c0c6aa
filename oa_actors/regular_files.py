"""Opening files that sit in folders we do not control: regular files only, never blocking.

A FIFO, socket or device can carry any name (`*.jsonl`, `SKILL.md`): a plain `open` of a FIFO
blocks until a writer appears, which would freeze an actor's event loop. `open_regular` opens
non-blocking (harmless for a regular file, whose reads never block on O_NONBLOCK) and checks the
type with `fstat` on the descriptor it will read, so a file swapped between a `stat` and the
`open` is still caught. `skip_reason` names why a file was skipped, for counters in status.
"""

from __future__ import annotations

import errno
import os
import stat

OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
#: What `open` says for a socket or a device without a driver: the path is then stat'ed to name it.
_NOT_A_FILE_ERRNOS = frozenset({errno.ENXIO, errno.ENODEV, errno.EOPNOTSUPP})


class NotRegularFile(OSError):
    """The path names a FIFO, socket, device or folder: it is never opened for reading."""

    def __init__(self, path: str, kind: str) -> None:
        super().__init__(errno.EINVAL, f"not a regular file ({kind})", path)
        self.kind = kind


def file_kind(mode: int) -> str:
    """`regular`, `directory`, `fifo`, `socket`, `device`, `symlink` or `other`."""
    if stat.S_ISREG(mode):
        return "regular"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "other"


def open_regular(path: str | os.PathLike[str]) -> tuple[int, os.stat_result]:
    """Open `path` read-only without blocking; returns (fd, fstat of that fd).

    Raises `NotRegularFile` (the descriptor is closed) for anything but a regular file, and the
    `OSError` of `open` itself (ENOENT, ELOOP, EACCES...) unchanged.
    """
    try:
        fd = os.open(path, OPEN_FLAGS)
    except OSError as exc:
        if exc.errno in _NOT_A_FILE_ERRNOS:  # a socket (ENXIO) or a device without a driver
            try:
                mode = os.stat(path).st_mode
            except OSError:
                raise exc from None
            if not stat.S_ISREG(mode):
                raise NotRegularFile(os.fsdecode(path), file_kind(mode)) from None
        raise
    try:
        st = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise NotRegularFile(os.fsdecode(path), file_kind(st.st_mode))
    return fd, st


def skip_reason(exc: OSError) -> str:
    """A short, stable name for why a file could not be read (a status counter key)."""
    if isinstance(exc, NotRegularFile):
        return exc.kind
    if exc.errno == errno.ELOOP:
        return "symlink_loop"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission_denied"
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return "missing"
    name = errno.errorcode.get(exc.errno or 0)
    return name.lower() if name else "os_error"
