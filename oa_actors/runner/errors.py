"""`RunError`: the one error type of the runner, in its own module so that `providers` and
`manager` can both raise it without importing each other."""

from __future__ import annotations


class RunError(ValueError):
    """A run request that cannot be accepted (the message says why)."""
