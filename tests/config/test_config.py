"""Config: flag > environment > config.toml > default, clear errors for bad input, child envs."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from oa_actors.config import PACKAGED_FUNCTIONS, Config, ConfigError, default_node_dir
from oa_actors.config_table import SETTINGS

ROOT = Path(__file__).resolve().parents[2]


def write_config(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(text)
    return path


def test_precedence_flag_env_file_default(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_config(home, 'codex_home = "/from/file"\nconvex_port = 9001\nbridge_bind = "127.0.0.1:9100"\n')
    env = {"OPENAGENTS_HOME": str(home), "CODEX_HOME": "/from/env"}
    cfg = Config.load(env=env)
    assert cfg.codex_home == Path("/from/env") and cfg.sources["codex_home"] == "env"
    assert cfg.convex_port == 9001 and cfg.sources["convex_port"] == "file"
    assert (cfg.bridge_host, cfg.bridge_port) == ("127.0.0.1", 9100)
    assert cfg.sources["bridge_bind"] == "file"
    assert cfg.convex_interface == "127.0.0.1" and cfg.sources["convex_interface"] == "default"
    assert cfg.home == home and cfg.sources["home"] == "env"
    flagged = Config.load(flags={"codex_home": "/from/flag", "home": str(home)}, env=env)
    assert flagged.codex_home == Path("/from/flag") and flagged.sources["codex_home"] == "flag"
    assert flagged.sources["home"] == "flag"
    # An empty variable counts as unset: the file's value is used.
    assert Config.load(env={**env, "CODEX_HOME": ""}).codex_home == Path("/from/file")
    # Every setting has a source.
    assert set(cfg.sources) == {s.name for s in SETTINGS}


def test_file_values_of_every_type(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_config(
        home,
        "\n".join(
            [
                "watch_claude = false",
                'claude_args = ["--model", "sonnet"]',
                "codex_args = \"--sandbox 'read only'\"",
                'skills_registry = "~/shared-skills"',
                'jsonl_backend = "python"',
                'start_method = "spawn"',
                "convex_secret_in_argv = true",
                "[prices.gpt-test]",
                "input = 1.25",
                "cached_input = 0",
                "output = 10",
            ]
        ),
    )
    cfg = Config.load(env={"OPENAGENTS_HOME": str(home), "HOME": str(tmp_path)})
    assert cfg.watch_claude is False and cfg.claude_projects_dir is None
    assert cfg.claude_args == ("--model", "sonnet")
    assert cfg.codex_args == ("--sandbox", "read only")
    assert cfg.skills_registry_dir == Path("~/shared-skills").expanduser()
    assert (cfg.jsonl_backend, cfg.start_method, cfg.convex_secret_in_argv) == ("python", "spawn", True)
    assert cfg.price_overrides == {"gpt-test": {"input": 1.25, "cached_input": 0.0, "output": 10.0}}
    # Defaults that depend on others.
    plain = Config.load(env={"OPENAGENTS_HOME": str(tmp_path / "other")})
    assert plain.skills_registry_dir == tmp_path / "other" / "registry" / "skills"
    assert plain.price_overrides == {} and plain.convex_functions == PACKAGED_FUNCTIONS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("codex_home = \n", "is not valid TOML"),
        ('bridge_bind = "x:1"\nnot_a_setting = 3\n', "line 2: 'not_a_setting' is not a setting"),
        ('# home\n\nhome = "/x"\n', "line 3: 'home' is set by flag or environment only"),
        ('\nconvex_port = "many"\n', "line 2: convex_port: expected an integer"),
        ('watch_claude = "maybe"\n', "line 1: watch_claude: expected true or false"),
        ('jsonl_backend = "fortran"\n', "jsonl_backend: expected one of auto, rust, python"),
        ("[bridge]\nbind = 1\n", "line 1: 'bridge' is not a setting"),
        ("[prices]\ngpt = 3\n", "line 2: prices.gpt must be a table"),
        ("[prices.gpt]\ninput = -1\n", "line 2: prices.gpt.input must be a number >= 0"),
        ("[prices.gpt]\nfree = 1\n", "line 2: prices.gpt.free is not one of input, cached_input"),
    ],
)
def test_bad_file_names_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        Config.load(env={"OPENAGENTS_HOME": str(tmp_path)})
    assert str(path) in str(err.value) and expected in str(err.value)


def test_toml_syntax_error_gives_its_line(tmp_path: Path) -> None:
    write_config(tmp_path, 'codex_home = "/a"\nconvex_port = 1\nconvex_port = 2\n')
    with pytest.raises(ConfigError, match=r"line 3"):
        Config.load(env={"OPENAGENTS_HOME": str(tmp_path)})


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^OPENAGENTS_CONVEX_PORT: expected an integer, got 'abc'"):
        Config.load(env={"OPENAGENTS_HOME": str(tmp_path), "OPENAGENTS_CONVEX_PORT": "abc"})
    with pytest.raises(ConfigError, match=r"^--start-method: expected one of forkserver, spawn"):
        Config.load(flags={"start_method": "fork"}, env={"OPENAGENTS_HOME": str(tmp_path)})


def test_child_env_is_the_snapshot_without_our_secrets(tmp_path: Path) -> None:
    env = {
        "OPENAGENTS_HOME": str(tmp_path),
        "PATH": "/usr/bin",
        "OPENAGENTS_BRIDGE_TOKEN": "t" * 20,
        "OPENAGENTS_CONVEX_ADMIN_KEY": "admin|1",
        "CONVEX_DEPLOY_KEY": "prod:abc",
        "LANG": "C.UTF-8",
    }
    cfg = Config.load(env=env)
    assert cfg.bridge_token == "t" * 20 and cfg.convex_deploy_key == "prod:abc"
    child = cfg.child_env({"EXTRA": "1", "LANG": "fr_FR.UTF-8"}, drop=("PATH",))
    assert child == {"OPENAGENTS_HOME": str(tmp_path), "EXTRA": "1", "LANG": "fr_FR.UTF-8"}
    assert "t" * 20 not in repr(cfg) and "admin|1" not in repr(cfg)
    # The snapshot is taken once: later changes of the process environment do not leak in.
    assert cfg.environ is not os.environ and dict(cfg.environ) == env


def test_agent_cli_lookup_configured_then_path_then_node_dir(tmp_path: Path) -> None:
    from oa_actors.runner.providers import ClaudeProvider, CodexProvider

    on_path, node = tmp_path / "bin", tmp_path / "node"
    for folder in (on_path, node / "node_modules" / ".bin"):
        folder.mkdir(parents=True)
    local = node / "node_modules" / ".bin" / "codex"
    local.write_text("#!/bin/sh\n")
    local.chmod(0o755)
    env = {"OPENAGENTS_HOME": str(tmp_path), "PATH": str(on_path), "OPENAGENTS_NODE_DIR": str(node)}
    cfg = Config.load(env=env)
    assert CodexProvider().binary(cfg) == str(local)
    first = on_path / "codex"
    first.write_text("#!/bin/sh\n")
    first.chmod(0o755)
    assert CodexProvider().binary(cfg) == str(first)
    assert CodexProvider().binary(Config.load(env={**env, "CODEX_BIN": "/opt/codex"})) == "/opt/codex"
    with pytest.raises(FileNotFoundError, match="claude not found: set CLAUDE_BIN"):
        ClaudeProvider().binary(cfg)
    # Codex is told its home explicitly (it may come from config.toml, not the environment).
    write_config(tmp_path, f'codex_home = "{tmp_path / "ch"}"\n')
    filed = Config.load(env=env)
    assert CodexProvider().env(None, filed)["CODEX_HOME"] == str(tmp_path / "ch")
    assert CodexProvider().argv(None, "/ws", filed)[:2] == [str(first), "exec"]
    assert (tmp_path / "ch").is_dir()


def test_default_node_dir_is_the_nearest_node_modules_above(tmp_path: Path) -> None:
    (tmp_path / "a" / "node_modules").mkdir(parents=True)
    pkg = tmp_path / "a" / "b" / "site" / "oa_actors"
    pkg.mkdir(parents=True)
    assert default_node_dir(pkg) == tmp_path / "a"
    assert default_node_dir(tmp_path / "a" / "node_modules") == tmp_path / "a"
    # From this checkout: the repository, where `npm install` put the pinned agent CLIs.
    assert default_node_dir() == ROOT


def test_only_config_reads_the_environment() -> None:
    """`os.environ` / `os.getenv` appear in oa_actors/config.py only (issue: one reader)."""
    offenders = []
    for path in sorted((ROOT / "oa_actors").rglob("*.py")):
        if path.name == "config.py" and path.parent.name == "oa_actors":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            reads = (
                isinstance(node, ast.Attribute)
                and node.attr in ("environ", "getenv", "putenv")
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
            ) or (
                isinstance(node, ast.ImportFrom)
                and node.module == "os"
                and any(a.name in ("environ", "getenv") for a in node.names)
            )
            if reads:
                offenders.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}")
    assert offenders == []


def test_no_checkout_paths_in_the_package() -> None:
    """No `parents[N]` walks to the repository: defaults work from an installed wheel too."""
    hits = [
        f"{p.relative_to(ROOT)}"
        for p in (ROOT / "oa_actors").rglob("*.py")
        if ".parents[" in p.read_text() or "REPO_ROOT" in p.read_text()
    ]
    assert hits == []
