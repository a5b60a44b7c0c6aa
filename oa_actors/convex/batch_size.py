"""How big the drain's `sync:applyBatch` calls are now: halved after a timeout, grown back after
quick successes.

A batch whose call times out (Convex slow, a big batch of big rows) used to be resent whole, up to
`MAX_BATCH_ROWS` rows and `MAX_BATCH_BYTES` bytes, and time out again forever: the drain never
moved. After a timeout the limits halve (down to one row, which always travels alone); after
`GROW_AFTER` calls in a row that each took less than a quarter of the timeout they double again, up
to the maxima. A call that succeeds slowly (between a quarter and all of the timeout) keeps the
size and starts the count over: growing then would only bring the next timeout.
"""

from __future__ import annotations

GROW_BELOW = 0.25  # of the client timeout: a call faster than this counts towards growing
GROW_AFTER = 4  # quick calls in a row before the limits double


class BatchSize:
    """The current row and byte limits of a drain's batches."""

    def __init__(self, max_rows: int, max_bytes: int, timeout: float) -> None:
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.rows = max_rows
        self.bytes = max_bytes
        self.shrinks = 0  # timeouts that halved the batch
        self.grows = 0
        self._quick = 0  # quick successes in a row since the last change

    @property
    def reduced(self) -> bool:
        return self.rows < self.max_rows or self.bytes < self.max_bytes

    def shrink(self) -> None:
        """A call timed out: halve both limits (a batch always holds at least one row)."""
        self.rows = max(1, self.rows // 2)
        self.bytes = max(1, self.bytes // 2)
        self.shrinks += 1
        self._quick = 0

    def success(self, seconds: float) -> None:
        """A call succeeded after `seconds`: grow back towards the maxima after quick ones."""
        if not self.reduced:
            return
        if seconds >= GROW_BELOW * self.timeout:
            self._quick = 0
            return
        self._quick += 1
        if self._quick >= GROW_AFTER:
            self.rows = min(self.max_rows, self.rows * 2)
            self.bytes = min(self.max_bytes, self.bytes * 2)
            self.grows += 1
            self._quick = 0
