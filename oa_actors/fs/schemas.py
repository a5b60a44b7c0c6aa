"""JSON Schemas (draft 2020-12) for the front matter of PROJECT.md and SKILL.md files.

Unknown top-level keys are allowed and ignored (other tools put their own keys there); every key we
read is checked. `validate()` turns jsonschema's errors into `(field, reason)` pairs with a dotted
field path, sorted, so a report names the file, the field and the reason.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

#: Codex approval policies (`codex --ask-for-approval`).
APPROVALS = ["untrusted", "on-failure", "on-request", "never"]
#: Codex sandbox modes (`codex --sandbox`).
SANDBOXES = ["read-only", "workspace-write", "danger-full-access"]
#: Agent Skills `name`: lowercase letters, digits and single hyphens (kebab case).
SKILL_NAME_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"

_OPT_STR: dict[str, Any] = {"type": ["string", "null"], "maxLength": 4096}

PROJECT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://openagents.com/schemas/project-front-matter.json",
    "title": "PROJECT.md front matter",
    "type": "object",
    "required": ["name", "workingDir"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"\S"},
        "workingDir": {
            "type": "string",
            "minLength": 1,
            "maxLength": 4096,
            # absolute (POSIX or Windows drive) or home-relative; a relative path has no anchor
            "pattern": r"^(/|~|[A-Za-z]:[\\/])",
        },
        "description": {"type": ["string", "null"], "maxLength": 10_000},
        "repo": {
            "type": ["object", "null"],
            "properties": {
                "provider": _OPT_STR,
                "remote": _OPT_STR,
                "url": _OPT_STR,
                "branch": _OPT_STR,
            },
        },
        "agentFile": _OPT_STR,
        "instructions": {"type": ["string", "null"], "maxLength": 100_000},
        "approvals": {"enum": [*APPROVALS, None]},
        "model": {"type": ["string", "null"], "maxLength": 200},
        "sandbox": {"enum": [*SANDBOXES, None]},
    },
}

SKILL_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://openagents.com/schemas/skill-front-matter.json",
    "title": "SKILL.md front matter (Agent Skills)",
    "type": "object",
    "required": ["name", "description"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": SKILL_NAME_PATTERN},
        "description": {"type": "string", "minLength": 1, "maxLength": 1024, "pattern": r"\S"},
        "license": {"type": ["string", "null"], "maxLength": 4096},
        "allowed-tools": {
            "oneOf": [
                {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 200}},
                {"type": "string", "maxLength": 4096},
                {"type": "null"},
            ]
        },
        "metadata": {"type": ["object", "null"]},
    },
}

PROJECT_VALIDATOR = Draft202012Validator(PROJECT_SCHEMA)
SKILL_VALIDATOR = Draft202012Validator(SKILL_SCHEMA)
Draft202012Validator.check_schema(PROJECT_SCHEMA)
Draft202012Validator.check_schema(SKILL_SCHEMA)


def _field(err: ValidationError) -> str:
    path = ".".join(str(p) for p in err.absolute_path)
    if err.validator == "required":
        # "'name' is a required property": the field is the missing key
        missing = err.message.split("'")[1] if "'" in err.message else ""
        return f"{path}.{missing}" if path else missing
    return path or "(front matter)"


def _reason(err: ValidationError) -> str:
    v = err.validator
    schema: dict[str, Any] = err.schema if isinstance(err.schema, dict) else {}
    if v == "required":
        return "is required"
    if v == "pattern" and schema.get("pattern") == SKILL_NAME_PATTERN:
        return f"must be kebab case (lowercase letters, digits, single hyphens), got {err.instance!r}"
    if v == "pattern" and "/" in str(schema.get("pattern")):
        return f"must be an absolute path (or start with ~), got {err.instance!r}"
    if v == "pattern":
        return "must not be blank"
    if v == "enum":
        allowed = ", ".join(repr(x) for x in schema.get("enum", []) if x is not None)
        return f"must be one of {allowed}, got {err.instance!r}"
    if v == "oneOf":
        return "must be a list of tool names or a string of them"
    if v in ("maxLength", "minLength"):
        return (
            err.message.replace(repr(err.instance), "value") if len(repr(err.instance)) > 80 else err.message
        )
    return err.message


def validate(validator: Draft202012Validator, data: Any) -> list[tuple[str, str]]:
    """All `(field, reason)` problems of `data` under `validator`, sorted by field; empty if valid."""
    out = {(_field(e), _reason(e)) for e in validator.iter_errors(data)}
    return sorted(out)
