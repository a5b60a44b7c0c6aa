"""The JSONL hot path: tail, parse, map and deduplicate agent session logs.

Two implementations with one API: the native extension `oa_actors._oa_native` (Rust, PyO3) and its
pure-Python twin `oa_actors.jsonl._pytail`. The choice is made once, at import, from
`OA_JSONL_BACKEND=auto|rust|python` (or `jsonl_backend` in config.toml; default `auto`: native
when built, else Python) and logged.
This is the only module that imports the native extension.
"""

from __future__ import annotations

import logging
from typing import Any

from oa_actors.config import raw_setting_before_load
from oa_actors.jsonl import _pytail

log = logging.getLogger("oa.jsonl")

DEFAULT_MAX_LINE = _pytail.DEFAULT_MAX_LINE
ERROR_KINDS = _pytail.ERROR_KINDS


class NativeUnavailable(ImportError):
    """OA_JSONL_BACKEND=rust was requested but the native extension is not built."""


def _load_native() -> Any:
    from oa_actors import _oa_native  # type: ignore[attr-defined,unused-ignore]  # the one import of the native module

    return _oa_native


def _choose(requested: str) -> tuple[str, Any, Any]:
    requested = requested.strip().lower() or "auto"
    if requested not in ("auto", "rust", "python"):
        raise ValueError(f"OA_JSONL_BACKEND must be auto, rust or python, not {requested!r}")
    if requested != "python":
        try:
            native = _load_native()
            return "rust", native.JsonlTail, native.TailBatch
        except ImportError as exc:
            if requested == "rust":
                raise NativeUnavailable(
                    f"native JSONL implementation requested but not importable: {exc}"
                ) from exc
            log.warning("native JSONL extension not built (%s); using the pure-Python twin", exc)
    return "python", _pytail.JsonlTail, _pytail.TailBatch


IMPLEMENTATION, JsonlTail, TailBatch = _choose(raw_setting_before_load("jsonl_backend") or "auto")
log.debug("JSONL implementation: %s", IMPLEMENTATION)


def implementations() -> dict[str, Any]:
    """Every importable implementation's JsonlTail class by name (tests run one body against each)."""
    found: dict[str, Any] = {"python": _pytail.JsonlTail}
    try:
        found["rust"] = _load_native().JsonlTail
    except ImportError:
        pass
    return found


__all__ = [
    "DEFAULT_MAX_LINE",
    "ERROR_KINDS",
    "IMPLEMENTATION",
    "JsonlTail",
    "NativeUnavailable",
    "TailBatch",
    "implementations",
]
