"""`python -m tests.runtime.start_fault_main run ...`: `oa-supervisor run` with a start fault.

The first `$OA_TEST_START_FAULTS` starts of actor `$OA_TEST_START_FAULT_ACTOR` fail in the
supervisor, after its sockets exist and before its process does, as `fork()` fails when the
machine is out of memory or processes. The supervisor must treat that as a failure of that actor.
"""

from __future__ import annotations

import multiprocessing.process
import os
import sys
from typing import Any

from oa_actors import cli

_real_start = multiprocessing.process.BaseProcess.start
_left = int(os.environ.get("OA_TEST_START_FAULTS", "0"))
_victim = "oa-" + os.environ.get("OA_TEST_START_FAULT_ACTOR", "")


def _start(self: multiprocessing.process.BaseProcess, *args: Any, **kwargs: Any) -> None:
    global _left
    if self.name == _victim and _left > 0:
        _left -= 1
        raise OSError(11, "Resource temporarily unavailable (injected fork failure)")
    _real_start(self, *args, **kwargs)


if __name__ == "__main__":
    multiprocessing.process.BaseProcess.start = _start  # type: ignore[method-assign]
    sys.exit(cli.main(sys.argv[1:]))
