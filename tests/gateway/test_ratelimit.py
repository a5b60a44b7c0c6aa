"""The failed-auth limiter on a controlled clock: burst, refill, one log line per burst, eviction."""

from __future__ import annotations

import logging

from oa_actors.gateway.ratelimit import FailedAuthLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill_and_one_warning_per_burst(caplog):
    caplog.set_level(logging.WARNING, logger="oa_actors.gateway.ratelimit")
    clock = Clock()
    lim = FailedAuthLimiter(burst=5, rate=1.0, clock=clock)
    for _ in range(5):
        assert not lim.blocked("10.0.0.1")
        lim.failed("10.0.0.1")
    assert lim.blocked("10.0.0.1") and lim.blocked("10.0.0.1")
    assert not lim.blocked("10.0.0.2")  # another address is not affected
    clock.now += 1.0  # one attempt per second gets through, and fails again
    assert not lim.blocked("10.0.0.1")
    lim.failed("10.0.0.1")
    assert lim.blocked("10.0.0.1")
    starts = [r for r in caplog.records if "too many failed auth attempts" in r.getMessage()]
    assert len(starts) == 1 and lim.bursts == 1 and lim.refused == 3
    clock.now += 60.0  # quiet: the bucket is full again, the burst ends (logged with its count)
    assert not lim.blocked("10.0.0.1")
    ended = [r for r in caplog.records if "ended" in r.getMessage()]
    assert len(ended) == 1 and "3 requests refused" in ended[0].getMessage()
    for _ in range(5):
        lim.failed("10.0.0.1")
    assert lim.blocked("10.0.0.1") and lim.bursts == 2  # a new burst: a new warning


def test_addresses_are_bounded():
    lim = FailedAuthLimiter(burst=1, rate=0.001, max_addresses=3, clock=Clock())
    for n in range(10):
        lim.failed(f"10.0.0.{n}")
    assert len(lim._buckets) == 3
    assert lim.blocked("10.0.0.9") and not lim.blocked("10.0.0.0")  # the oldest was forgotten
