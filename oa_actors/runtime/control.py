"""The supervisor's local control socket and its single-instance lock.

`$OPENAGENTS_HOME/run/supervisor.sock` (mode 0600, in a 0700 directory) speaks the same frames as
the bus; `oa-supervisor status` sends a `StatusRequest` and prints the `StatusReply`. The lock file
`run/supervisor.lock` is held with `fcntl.flock` for the supervisor's lifetime, so a second
`oa-supervisor run` against the same home refuses to start (the kernel drops the lock if the
supervisor dies, so a stale file never blocks a restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import time
from pathlib import Path

from oa_actors.runtime import codec
from oa_actors.runtime.codec import Kind, decode_header, decode_payload, encode_frame, frame_length


class AlreadyRunning(RuntimeError):
    """Another supervisor holds the lock for this OPENAGENTS_HOME."""


def socket_path(run_dir: Path) -> Path:
    return run_dir / "supervisor.sock"


def lock_path(run_dir: Path) -> Path:
    return run_dir / "supervisor.lock"


def prepare_run_dir(run_dir: Path) -> None:
    """Create the run directory, private to the user."""
    run_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(run_dir, 0o700)


def acquire_lock(run_dir: Path) -> int:
    """Take the single-instance lock; returns the fd to keep open, or raises `AlreadyRunning`."""
    prepare_run_dir(run_dir)
    path = lock_path(run_dir)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        other = ""
        with contextlib.suppress(OSError, ValueError):
            other = os.pread(fd, 32, 0).decode().strip()
        os.close(fd)
        home = run_dir.parent
        pid = f" (pid {other})" if other else ""
        raise AlreadyRunning(
            f"oa-supervisor is already running for OPENAGENTS_HOME={home}{pid}; "
            "use `oa-supervisor status` to inspect it, or stop it first"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def bind_control_socket(run_dir: Path) -> socket.socket:
    """A listening Unix socket with mode 0600 from the start (bound under a tight umask)."""
    path = socket_path(run_dir)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # stale: we hold the lock, so no live supervisor owns it
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(16)
    sock.setblocking(False)
    return sock


def _recv_frame(sock: socket.socket) -> bytes:
    buf = b""
    while len(buf) < 4:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("control socket closed")
        buf += chunk
    size = frame_length(buf[:4])
    if size > codec.MAX_FRAME:
        raise ConnectionError("oversized reply")
    while len(buf) < 4 + size:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("control socket closed")
        buf += chunk
    return buf[: 4 + size]


def request_status(run_dir: Path, timeout: float = 5.0, stop: bool = False) -> codec.StatusReply:
    """Ask a running supervisor for its status (blocking client used by the CLI and tests); with
    `stop`, also ask it to shut down (as on SIGTERM: `oa-supervisor stop`)."""
    path = socket_path(run_dir)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise ConnectionError(f"no supervisor is running for OPENAGENTS_HOME={run_dir.parent}") from exc
        request = codec.StopRequest() if stop else codec.StatusRequest()
        sock.sendall(encode_frame(Kind.SYS, codec.SUPERVISOR, "cli", 1, request))
        frame = _recv_frame(sock)
    reply = decode_payload(decode_header(frame).payload)
    if not isinstance(reply, codec.StatusReply):
        raise ConnectionError(f"unexpected reply {type(reply).__name__}")
    return reply


def supervisor_running(run_dir: Path) -> bool:
    """Whether a supervisor holds the single-instance lock of this home (alive, maybe stopping)."""
    path = lock_path(run_dir)
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the shared lock if we got it
    return False


async def request_status_async(run_dir: Path, timeout: float = 5.0) -> codec.StatusReply:
    """`request_status` for an event loop (the gateway's `supervisor.status`)."""
    path = socket_path(run_dir)
    async with asyncio.timeout(timeout):
        try:
            reader, writer = await asyncio.open_unix_connection(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise ConnectionError(f"no supervisor is running for OPENAGENTS_HOME={run_dir.parent}") from exc
        try:
            writer.write(encode_frame(Kind.SYS, codec.SUPERVISOR, "gateway", 1, codec.StatusRequest()))
            head = await reader.readexactly(4)
            size = frame_length(head)
            if size > codec.MAX_FRAME:
                raise ConnectionError("oversized reply")
            frame = head + await reader.readexactly(size)
        except asyncio.IncompleteReadError as exc:
            raise ConnectionError("control socket closed") from exc
        finally:
            writer.close()
    reply = decode_payload(decode_header(frame).payload)
    if not isinstance(reply, codec.StatusReply):
        raise ConnectionError(f"unexpected reply {type(reply).__name__}")
    return reply


def wait_for_status(run_dir: Path, deadline: float = 30.0) -> codec.StatusReply:
    """Poll until a supervisor answers (for tests and scripts)."""
    end = time.monotonic() + deadline
    while True:
        try:
            return request_status(run_dir)
        except (ConnectionError, OSError):
            if time.monotonic() > end:
                raise
            time.sleep(0.05)


def ask(run_dir: Path, actor: str, msg: codec.Message, timeout: float = 10.0) -> codec.Message:
    """Ask an actor of a running supervisor through the control socket (blocking; for tools and
    tests). Raises `RuntimeError` with the reason if the actor could not answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(socket_path(run_dir)))
        sock.sendall(encode_frame(Kind.ASK, actor, "cli", 1, msg))
        frame = _recv_frame(sock)
    h = decode_header(frame)
    reply = decode_payload(h.payload)
    if h.kind == Kind.ERROR:
        raise RuntimeError(getattr(reply, "error", "ask failed"))
    return reply
