"""One log stream for the whole process tree.

Actors do not write log files themselves: their records travel to the supervisor as `LogLine`
messages (see `ShippingHandler`), and the supervisor writes every line, tagged with the actor name,
to stderr and to a rotating file `$OPENAGENTS_HOME/logs/supervisor.log`. Only one process writes
the file, so rotation is safe. `--log-json` switches both sinks to one JSON object per line.
"""

from __future__ import annotations

import io
import json
import logging
import logging.handlers
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)-7s [%(actor)s] %(name)s: %(message)s"


class ActorFilter(logging.Filter):
    """Make sure every record has an `actor` attribute (default: this process's actor name)."""

    def __init__(self, actor: str) -> None:
        super().__init__()
        self.actor = actor

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "actor"):
            record.actor = self.actor
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, actor, logger, msg (and exc)."""

    def format(self, record: logging.LogRecord) -> str:
        obj = {
            "ts": round(record.created, 6),
            "level": record.levelname,
            "actor": getattr(record, "actor", "supervisor"),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        exc = record.exc_text or (self.formatException(record.exc_info) if record.exc_info else "")
        if exc:
            obj["exc"] = exc
        return json.dumps(obj, ensure_ascii=False)


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file created with mode 0600 whatever the umask (rotation renames the file,
    so the rotated ones keep that mode): logs quote session content."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)  # (rotating: always "a")


def _formatter(json_lines: bool) -> logging.Formatter:
    return JsonFormatter() if json_lines else logging.Formatter(LOG_FORMAT)


def setup_supervisor_logging(
    logs_dir: Path | None, level: str | int = "INFO", json_lines: bool = False
) -> None:
    """Configure the root logger of the supervisor: stderr plus a rotating file under `logs_dir`."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.setLevel(level)
    fmt = _formatter(json_lines)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if logs_dir is not None:
        logs_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        handlers.append(
            PrivateRotatingFileHandler(
                logs_dir / "supervisor.log", maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8"
            )
        )
    for h in handlers:
        h.setFormatter(fmt)
        h.addFilter(ActorFilter("supervisor"))
        root.addHandler(h)


def emit_remote(actor: str, level: int, logger: str, msg: str, created: float, exc: str) -> None:
    """Re-emit a record received from an actor through the supervisor's handlers."""
    record = logging.LogRecord(logger, level, "", 0, msg, None, None)
    record.created = created
    record.msecs = (created - int(created)) * 1000
    record.actor = actor
    if exc:
        record.exc_text = exc
    logging.getLogger(logger).handle(record)


class ShippingHandler(logging.Handler):
    """In an actor: hand each record to `ship(level, logger, msg, created, exc)` (never blocks)."""

    def __init__(self, ship: Callable[[int, str, str, float, str], None]) -> None:
        super().__init__()
        self.ship = ship

    def emit(self, record: logging.LogRecord) -> None:
        try:
            exc = ""
            if record.exc_info:
                exc = "".join(traceback.format_exception(*record.exc_info)).rstrip()
            self.ship(record.levelno, record.name, record.getMessage(), record.created, exc)
        except Exception:
            self.handleError(record)


def setup_actor_logging(actor: str, level: str | int) -> logging.Logger:
    """Before the supervisor link is up, an actor logs to stderr in the same format."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.setLevel(level)
    h = logging.StreamHandler(sys.stderr)
    h.setFormatter(logging.Formatter(LOG_FORMAT))
    h.addFilter(ActorFilter(actor))
    root.addHandler(h)
    return root


def now() -> float:
    """Wall-clock time (for log records)."""
    return time.time()
