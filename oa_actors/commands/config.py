"""`oa-supervisor config`: every effective setting, and where its value came from.

Sources are `flag`, `env`, `file` (`$OPENAGENTS_HOME/config.toml`) or `default`; secrets are
masked. A malformed file or an unknown key is an error naming the file, line and key (exit 2).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from oa_actors.config import Config
from oa_actors.config_table import SETTINGS, Setting

MASK = "********"


def register(sub: Any) -> None:
    """Add the `config` subcommand."""
    p = sub.add_parser(
        "config",
        help="show every setting's value and where it came from (flag, env, config.toml, default)",
        description=(
            "Show every effective setting and its source. Settings come from flags, then environment "
            "variables, then $OPENAGENTS_HOME/config.toml, then defaults (README, Configuration)."
        ),
    )
    p.add_argument("--home", help="OPENAGENTS_HOME (default: $OPENAGENTS_HOME or ~/.openagents)")
    p.add_argument("--json", action="store_true", help="one JSON object: settings, file, prices")
    p.set_defaults(handler=run_config)


def effective_value(cfg: Config, setting: Setting) -> Any:
    """The value of one setting as used (computed defaults filled in)."""
    name = setting.name
    if name == "bridge_bind":
        return f"{cfg.bridge_host}:{cfg.bridge_port}"
    if name == "skills_registry":
        return cfg.skills_registry_dir
    return getattr(cfg, name)


def shown(value: Any, secret: bool) -> Any:
    """JSON-friendly value; a secret that is set shows as a mask, never its value."""
    if secret:
        return MASK if value else None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def settings_report(cfg: Config) -> list[dict[str, Any]]:
    """One entry per setting: name, env, value, source."""
    return [
        {
            "name": s.name,
            "env": s.env,
            "value": shown(effective_value(cfg, s), s.secret),
            "source": cfg.sources.get(s.name, "default"),
        }
        for s in SETTINGS
    ]


def run_config(args: argparse.Namespace) -> int:
    cfg = Config.load(flags={"home": args.home})  # a ConfigError is reported by cli.main (exit 2)
    report = settings_report(cfg)
    exists = cfg.config_file.is_file()
    if args.json:
        doc = {
            "configFile": str(cfg.config_file),
            "configFileExists": exists,
            "settings": report,
            "prices": cfg.price_overrides,
        }
        print(json.dumps(doc, indent=2))
        return 0
    state = "" if exists else " (does not exist: defaults and environment only)"
    print(f"config file: {cfg.config_file}{state}")
    width = max(len(e["name"]) for e in report)
    for e in report:
        value = e["value"]
        text = "(none)" if value is None or value == [] else value
        if isinstance(text, list):
            text = " ".join(text)
        print(f"{e['name']:<{width}}  {e['source']:<7}  {text}")
    if cfg.price_overrides:
        print(f"prices: {len(cfg.price_overrides)} model(s) overridden: {', '.join(cfg.price_overrides)}")
    return 0
