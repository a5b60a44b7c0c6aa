"""Points in time typed by users (`--since`, `--until`): one parser for every command.

Accepted forms, all returned as milliseconds since the epoch:
- milliseconds since the epoch: `1795312551000`;
- ISO 8601 date or date and time, with or without a zone: `2026-11-22`, `2026-11-22T01:55`,
  `2026-11-22 01:55:51.5+02:00`, `...Z`; without a zone the time is local (a date alone is local
  midnight);
- a duration before now: a number and a unit `s`, `m`, `h`, `d` or `w` (`90s`, `15m`, `1h`, `7d`,
  `2w`), or several (`1h30m`), optionally followed by ` ago`.
"""

from __future__ import annotations

import re
import time
from datetime import datetime

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


class TimeSpecError(ValueError):
    """A value that is none of the accepted forms; the message lists them."""


def parse_time(value: str, now: float | None = None) -> int:
    """Milliseconds since the epoch for `value` (see the module docstring); `now` (seconds since
    the epoch, default the current time) anchors durations."""
    text = value.strip()
    if text.isdigit():
        return int(text)
    duration = text.lower().removesuffix("ago").strip().replace(" ", "")
    if _DURATION.fullmatch(duration):
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(duration))
        return int(((time.time() if now is None else now) - seconds) * 1000)
    try:
        dt = datetime.fromisoformat(re.sub(r"[zZ]$", "+00:00", text))
    except ValueError:
        raise TimeSpecError(
            f"{value!r} is not a time: use ISO 8601 (2026-11-22, 2026-11-22T01:55:51Z; no zone = local "
            "time), a duration before now (90s, 15m, 1h, 7d, 2w, 1h30m) or ms since the epoch"
        ) from None
    if dt.tzinfo is None:
        dt = dt.astimezone()  # local time
    return int(dt.timestamp() * 1000)
