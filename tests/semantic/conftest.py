"""Fixtures for the semantic-search tests: the real model, loaded once per session per precision.

The `semantic` extra is part of the dev install, so a missing model is a failure here, not a skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from oa_actors.semantic import model_status


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


def _open(precision: str, cache: Path):  # type: ignore[no-untyped-def]
    status = model_status()
    assert status.available, f"semantic extra not installed: {status.reason}"
    from oa_actors.semantic.embedder import Embedder

    return Embedder.open(precision=precision, cache_dir=cache)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def embedder_fp32(model_cache: Path) -> Iterator[object]:
    yield _open("fp32", model_cache)


@pytest.fixture(scope="session")
def embedder_int8(model_cache: Path) -> Iterator[object]:
    yield _open("int8", model_cache)
