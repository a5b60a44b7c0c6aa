"""Failed-auth rate limit per address: no token guessing at line rate (docs/protocol.md, "Limits").

A token bucket per remote address: each failed attempt (a bad token, an unknown cookie) takes one
token; `burst` failures are allowed at once, then `rate` per second. While an address's bucket is
empty every request from it that needs auth answers 429 before any token is compared, so guesses
are not even checked. One warning is logged when an address starts being limited (once per burst),
and one line when the burst ends with how many requests were refused.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass
class _Bucket:
    tokens: float
    at: float
    limited: bool = False
    refused: int = 0


class FailedAuthLimiter:
    """Per-address buckets of failed auth attempts (at most `max_addresses` remembered)."""

    def __init__(
        self,
        burst: int = 20,
        rate: float = 1.0,
        max_addresses: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.clock = clock
        self.rate = rate
        self.max_addresses = max_addresses
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self.refused = 0  # requests answered 429 in total
        self.bursts = 0  # times an address started being limited

    def _bucket(self, address: str, now: float) -> _Bucket:
        b = self._buckets.get(address)
        if b is None:
            b = self._buckets[address] = _Bucket(float(self.burst), now)
            if len(self._buckets) > self.max_addresses:
                self._buckets.popitem(last=False)
        else:
            b.tokens = min(float(self.burst), b.tokens + (now - b.at) * self.rate)
            b.at = now
            self._buckets.move_to_end(address)
        return b

    def blocked(self, address: str) -> bool:
        """Whether a request from `address` is refused now (counted); ends a burst that is over."""
        b = self._buckets.get(address)
        if b is None:
            return False
        now = self.clock()
        b = self._bucket(address, now)
        if b.tokens >= 1.0:
            if b.limited and b.tokens >= self.burst:
                log.warning("auth rate limit for %s ended: %d requests refused", address, b.refused)
                b.limited, b.refused = False, 0
            return False
        b.refused += 1
        self.refused += 1
        return True

    def failed(self, address: str) -> None:
        """Count one failed attempt from `address` (logs once when it starts being limited)."""
        b = self._bucket(address, self.clock())
        b.tokens = max(0.0, b.tokens - 1.0)
        if b.tokens < 1.0 and not b.limited:
            b.limited = True
            self.bursts += 1
            log.warning(
                "too many failed auth attempts from %s: slowed to %g per second (HTTP 429)",
                address,
                self.rate,
            )
