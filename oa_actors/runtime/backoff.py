"""Exponential backoff: the one formula for every retry delay (actor restarts, the Convex drain).

`exponential_delay` is the plain capped doubling, used where one party retries alone (the
supervisor restarting its own child processes: no jitter, so status can say when the next try is).
`equal_jitter_delay` adds "equal jitter" (half the delay fixed, half uniformly random: a delay in
[d/2, d]), used where many clients may retry the same server at once (the outbox drain): it
spreads their retries while keeping a floor, unlike "full jitter" (uniform in [0, d]), which may
retry at once.
"""

from __future__ import annotations

import random

# Past this many doublings every realistic cap is reached; bounding the exponent avoids an
# OverflowError for a very large attempt number.
_MAX_DOUBLINGS = 64


def exponential_delay(attempt: int, base: float, cap: float) -> float:
    """`base * 2**attempt`, at most `cap`: attempt 0 waits `base`, attempt 1 twice that, and so on."""
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, not {attempt}")
    return min(base * 2.0 ** min(attempt, _MAX_DOUBLINGS), cap)


def equal_jitter_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """The exponential delay `d` of `attempt` with equal jitter: uniform in [d/2, d]."""
    d = exponential_delay(attempt, base, cap)
    return (rng or random).uniform(d / 2, d)
