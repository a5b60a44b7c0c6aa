"""The one reader of the environment and of `$OPENAGENTS_HOME/config.toml`.

Every setting is declared once in `oa_actors/config_table.py`; `Config.load` resolves each with
the precedence flag > environment > file > default and remembers where each value came from
(`oa-supervisor config` shows it). Actors receive the resulting `Config`; child processes (agent
CLIs, the Convex backend, `npx convex deploy`) get an environment built from `Config.environ`, the
snapshot of the inherited environment taken here once, never from `os.environ`.

Every path the product writes lives under `home` (OPENAGENTS_HOME), so tests run it in a temp folder.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from oa_actors.config_table import BY_NAME, PRICE_KEYS, SETTINGS, Setting, SettingError

CONFIG_FILE = "config.toml"
PACKAGE_DIR = Path(__file__).resolve().parent
# The Convex functions ship inside the package (a checkout and an installed wheel alike).
PACKAGED_FUNCTIONS = PACKAGE_DIR / "convex" / "functions"
SOURCES = ("flag", "env", "file", "default")


class ConfigError(ValueError):
    """A setting or the config file cannot be used; the message names the variable, key or line."""


def inherited_environment() -> dict[str, str]:
    """A copy of this process's environment (what a child process would inherit)."""
    return dict(os.environ)


def default_node_dir(start: Path = PACKAGE_DIR) -> Path | None:
    """The nearest folder above `start` that has a `node_modules/` (how Node itself resolves
    packages): the checkout when running from one; usually none for an installed wheel."""
    for folder in start.parents:
        if (folder / "node_modules").is_dir():
            return folder
    return None


@dataclass(frozen=True)
class Config:
    """Resolved settings for one supervisor (or one CLI command); fields are documented in SETTINGS."""

    home: Path
    codex_home: Path
    codex_bin: str | None = None
    claude_home: Path | None = None
    watch_claude: bool = True
    claude_bin: str | None = None
    codex_args: tuple[str, ...] = ()
    claude_args: tuple[str, ...] = ()
    node_dir: Path | None = field(default_factory=default_node_dir)
    convex_bin: str | None = None
    convex_port: int = 7788
    convex_interface: str = "127.0.0.1"
    convex_url: str | None = None
    convex_admin_key: str | None = field(default=None, repr=False)
    convex_deploy_key: str | None = field(default=None, repr=False)
    convex_deploy: bool = True
    # Today's convex-local-backend takes its instance secret only on the command line (visible to
    # every local user); it is passed that way only when the user accepts it (docs/convex.md).
    convex_secret_in_argv: bool = False
    convex_functions: Path = PACKAGED_FUNCTIONS
    bridge_host: str = "0.0.0.0"
    bridge_port: int = 8787
    bridge_token: str | None = field(default=None, repr=False)
    bridge_tls: bool = False
    bridge_tls_cert: Path | None = None
    bridge_tls_key: Path | None = None
    machine_name: str | None = None
    skills_registry: Path | None = None
    embeddings: bool = True
    jsonl_backend: str = "auto"
    start_method: str = "forkserver"
    actor_specs: str | None = None
    # `[prices]` of config.toml: model -> {input, cached_input, cache_write, output} in USD per
    # million tokens (each optional); overrides the packaged price table of `oa-supervisor usage`.
    price_overrides: dict[str, Any] = field(default_factory=dict)
    # The user's own umask (the supervisor runs with 0o077): agent CLIs started for runs get it
    # back, so files they write in the user's projects get the user's usual modes.
    user_umask: int = 0o022
    extra: dict[str, str] = field(default_factory=dict)
    # The inherited environment, read once; child processes get environments built from it.
    environ: Mapping[str, str] = field(default_factory=inherited_environment, repr=False, compare=False)
    # Setting name -> where its value came from: "flag", "env", "file" or "default".
    sources: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def sessions_dir(self) -> Path:
        """Where Codex writes rollouts: `$CODEX_HOME/sessions`."""
        return self.codex_home / "sessions"

    @property
    def claude_projects_dir(self) -> Path | None:
        """Where Claude Code writes sessions, or None when that watch is off."""
        if not self.watch_claude or self.claude_home is None:
            return None
        return self.claude_home / "projects"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def store_path(self) -> Path:
        """The local SQLite store (the embedded default)."""
        return self.home / "store.sqlite3"

    @property
    def run_dir(self) -> Path:
        """Control socket and lock file of a running supervisor."""
        return self.home / "run"

    @property
    def config_file(self) -> Path:
        """`$OPENAGENTS_HOME/config.toml`."""
        return self.home / CONFIG_FILE

    @property
    def skills_registry_dir(self) -> Path:
        """The shared skills registry (scope `registry`)."""
        return self.skills_registry or self.home / "registry" / "skills"

    @property
    def node_bin_dirs(self) -> list[Path]:
        """`node_modules/.bin` folders searched for agent and Convex CLIs after PATH."""
        return [] if self.node_dir is None else [self.node_dir / "node_modules" / ".bin"]

    def with_overrides(self, **kwargs: Any) -> Config:
        """A copy with the given fields replaced (None values are ignored)."""
        return replace(self, **{k: v for k, v in kwargs.items() if v is not None})

    def child_env(self, extra: Mapping[str, str] | None = None, drop: Iterable[str] = ()) -> dict[str, str]:
        """The environment of a child process: the inherited snapshot without our own secrets
        (admin key, deploy key, bridge token: no child needs them unless given on purpose in
        `extra`) and without `drop`, plus `extra`."""
        hidden = {s.env for s in SETTINGS if s.secret} | set(drop)
        env = {k: v for k, v in self.environ.items() if k not in hidden}
        env.update(extra or {})
        return env

    def which(self, name: str) -> str | None:
        """`name` on the inherited PATH, then in the `node_modules/.bin` folders."""
        import shutil

        found = shutil.which(name, path=self.environ.get("PATH", os.defpath))
        if found:
            return found
        for folder in self.node_bin_dirs:
            candidate = folder / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
        return None

    @classmethod
    def load(cls, flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Config:
        """Resolve every setting: `flags` (setting name -> value, None = not given) > `env`
        (default: os.environ) > `$OPENAGENTS_HOME/config.toml` > default. Raises ConfigError."""
        return _resolve(dict(os.environ if env is None else env), dict(flags or {}))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """`load` without flags (environment, then the config file, then defaults)."""
        return cls.load(env=env)


def _line_of(text: str, key: str) -> int | None:
    pattern = re.compile(rf"""^\s*(\[\s*)?["']?{re.escape(key)}["']?\s*(=|\])""")
    for n, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return n
    return None


def _where(path: Path, text: str, key: str) -> str:
    line = _line_of(text, key)
    return f"{path}, line {line}" if line else str(path)


def read_file(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The settings and the `[prices]` table of a config file (both empty when it does not exist).
    Values are parsed and checked; any problem raises ConfigError naming the file, line and key."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    values: dict[str, Any] = {}
    prices: dict[str, Any] = {}
    for key, raw in doc.items():
        if key == "prices":
            prices = _check_prices(raw, lambda k: _where(path, text, k))
            continue
        setting = BY_NAME.get(key)
        if setting is None or not setting.in_file:
            known = ", ".join(s.name for s in SETTINGS if s.in_file)
            why = "is set by flag or environment only" if setting else "is not a setting"
            raise ConfigError(f"{_where(path, text, key)}: {key!r} {why} (known keys: {known}, [prices])")
        try:
            values[key] = setting.parse(raw)
        except SettingError as exc:
            raise ConfigError(f"{_where(path, text, key)}: {key}: {exc}") from None
    return values, prices


def _check_prices(raw: Any, where: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where('prices')}: [prices] must be a table of models")
    for model, price in raw.items():
        if not isinstance(price, dict):
            raise ConfigError(f"{where(model)}: prices.{model} must be a table ({', '.join(PRICE_KEYS)})")
        for k, v in price.items():
            if k not in PRICE_KEYS:
                raise ConfigError(f"{where(k)}: prices.{model}.{k} is not one of {', '.join(PRICE_KEYS)}")
            if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
                raise ConfigError(
                    f"{where(k)}: prices.{model}.{k} must be a number >= 0 (USD per million tokens)"
                )
    return {m: {k: float(v) for k, v in p.items()} for m, p in raw.items()}


def _resolve(env: dict[str, str], flags: dict[str, Any]) -> Config:
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}

    def pick(setting: Setting, file_values: Mapping[str, Any]) -> None:
        name = setting.name
        given: tuple[str, Any, str] | None = None
        if flags.get(name) is not None:
            given = ("flag", flags[name], "--" + name.replace("_", "-"))
        elif env.get(setting.env):  # an empty variable is the same as an unset one
            given = ("env", env[setting.env], setting.env)
        if given is not None:
            source, raw, origin = given
            try:
                values[name], sources[name] = setting.parse(raw), source
            except SettingError as exc:
                raise ConfigError(f"{origin}: {exc}") from None
        elif name in file_values:
            values[name], sources[name] = file_values[name], "file"
        else:
            sources[name] = "default"

    pick(BY_NAME["home"], {})
    home = values.get("home") or Path("~/.openagents").expanduser()
    file_values, prices = read_file(home / CONFIG_FILE)
    for setting in SETTINGS[1:]:
        pick(setting, file_values)
    host, port = values.pop("bridge_bind", ("0.0.0.0", 8787))
    fields: dict[str, Any] = {k: v for k, v in values.items() if k != "home"}
    fields.setdefault("codex_home", Path("~/.codex").expanduser())
    fields.setdefault("claude_home", Path("~/.claude").expanduser())
    return Config(
        home=home,
        bridge_host=host,
        bridge_port=port,
        price_overrides=prices,
        environ=env,
        sources=sources,
        **fields,
    )


def raw_setting_before_load(name: str) -> Any:
    """One setting without flags (environment > file > None), for the few choices made at import
    time (the JSONL implementation): the environment's raw string (the caller checks it), else the file's
    checked value. A config file that cannot be read is ignored here; every command loads the full
    `Config` and reports it."""
    setting = BY_NAME[name]
    raw = os.environ.get(setting.env)
    if raw:
        return raw
    try:
        home = Path(os.environ.get("OPENAGENTS_HOME") or "~/.openagents").expanduser()
        file_values, _ = read_file(home / CONFIG_FILE)
    except ConfigError:
        file_values = {}
    return file_values.get(name)


def write_secret(path: Path, data: str | bytes) -> None:
    """Write a secret file with mode 0600 from the start (never world-readable, not even briefly)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, raw)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
