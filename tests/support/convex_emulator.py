"""Start and stop the Convex HTTP emulator (tests/convex_emulator, Node + convex-test) from pytest.

Test infrastructure: the real `convex/` functions behind the Convex HTTP API on 127.0.0.1.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "tests" / "convex_emulator" / "server.ts"
TSX = ROOT / "node_modules" / ".bin" / "tsx"


def available() -> bool:
    return TSX.exists() and SERVER.exists() and shutil.which("node") is not None


class ConvexEmulator:
    """One emulator process; `url` and `admin_key` are what the writer needs."""

    def __init__(
        self,
        admin_key: str = "test-admin-key",
        state: Path | None = None,
        port: int = 0,
        slow_batch: tuple[int, int] | None = None,
    ) -> None:
        self.admin_key = admin_key
        self.state = state
        self.port = port
        # (rows, ms): an applyBatch with more rows than this is answered ms later (server.ts).
        self.slow_batch = slow_batch
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ConvexEmulator:
        args = [str(TSX), str(SERVER), "--port", str(self.port), "--admin-key", self.admin_key]
        if self.state is not None:
            args += ["--state", str(self.state)]
        if self.slow_batch is not None:
            args += ["--slow-batch-rows", str(self.slow_batch[0]), "--slow-batch-ms", str(self.slow_batch[1])]
        self.proc = subprocess.Popen(
            args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.kill()
                raise RuntimeError(f"the Convex emulator did not start (output: {buf!r})")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                buf += os.read(self.proc.stdout.fileno(), 4096)
        line = buf.split(b"\n", 1)[0].decode()
        assert line.startswith("LISTENING "), line
        self.port = int(line.split()[1])
        return self

    def stop(self) -> None:
        """SIGTERM (lets the request in flight commit), then SIGKILL after 10 s."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._reap()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._reap()

    def _reap(self) -> None:
        if self.proc is not None:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
            if self.proc.stdout:
                self.proc.stdout.close()
            self.proc = None

    def __enter__(self) -> ConvexEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
