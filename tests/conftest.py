"""Shared fixtures: the JSONL implementations (one test body runs against each)."""

from __future__ import annotations

import pytest

from oa_actors import jsonl

IMPLEMENTATIONS = jsonl.implementations()


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def tail_cls(request: pytest.FixtureRequest):
    """Each available JsonlTail implementation in turn (`python`, and `rust` when built)."""
    return IMPLEMENTATIONS[request.param]
