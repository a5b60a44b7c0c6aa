"""`python -m oa_actors.semantic.prepare CACHE_DIR`: builds the int8 graph into CACHE_DIR (once).

The indexer runs this in a child process before loading the model: building the graph holds the
GIL for seconds inside onnx and onnxruntime calls, which in the actor's own process would stall its
event loop (health pings, verbs). Exit status 0 when the graph is there, 1 with the reason on
stderr when the model cannot run here.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m oa_actors.semantic.prepare CACHE_DIR", file=sys.stderr)
        return 2
    from oa_actors.semantic.availability import EmbeddingsUnavailable
    from oa_actors.semantic.embedder import prepare_graph

    try:
        prepare_graph(Path(argv[0]))
    except EmbeddingsUnavailable as exc:
        print(exc.reason, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
