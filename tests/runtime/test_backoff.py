"""The one backoff helper (supervisor restarts, failed-actor retries, the Convex drain)."""

from __future__ import annotations

import random

import pytest

from oa_actors.runtime.backoff import equal_jitter_delay, exponential_delay


def test_exponential_delay_doubles_from_base_and_is_capped() -> None:
    assert [exponential_delay(a, 30.0, 300.0) for a in range(6)] == [30.0, 60.0, 120.0, 240.0, 300.0, 300.0]
    assert [exponential_delay(a, 0.1, 5.0) for a in range(3)] == [0.1, 0.2, 0.4]
    assert exponential_delay(10_000, 0.5, 30.0) == 30.0  # a huge attempt number does not overflow
    with pytest.raises(ValueError):
        exponential_delay(-1, 1.0, 2.0)


def test_equal_jitter_stays_between_half_and_the_full_delay() -> None:
    rng = random.Random(1)
    for attempt in range(14):
        d = exponential_delay(attempt, 0.5, 30.0)
        samples = [equal_jitter_delay(attempt, 0.5, 30.0, rng) for _ in range(200)]
        assert all(d / 2 <= s <= d for s in samples)
        # Really jittered, over (most of) the upper half: neither constant nor full jitter.
        assert max(samples) - min(samples) > d / 4
    assert min(equal_jitter_delay(20, 0.5, 30.0, rng) for _ in range(100)) >= 15.0
