"""Shared fixtures: the JSONL backends (one test body runs against each)."""

from __future__ import annotations

import pytest

from oa_actors import jsonl

BACKENDS = jsonl.backends()


@pytest.fixture(params=sorted(BACKENDS))
def tail_cls(request: pytest.FixtureRequest):
    """Each available JsonlTail implementation in turn (`python`, and `rust` when built)."""
    return BACKENDS[request.param]
