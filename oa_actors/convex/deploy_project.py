"""The folder `npx convex deploy` runs in: a Convex project whose `convex/` holds our functions.

The functions ship inside the package (`oa_actors/convex/functions`). In a checkout the repository
is that project already (its `convex` link points at them, beside `node_modules`). From an
installed wheel a private project is laid out under `$OPENAGENTS_HOME/convex/project/`: a copy of
the functions (tests left out; the CLI writes `_generated/` there, never into site-packages) and a
link to the `node_modules` of `node_dir` (OPENAGENTS_NODE_DIR), which must hold the `convex` npm
package (`npm install convex` there).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from oa_actors.config import Config


class NoConvexProject(RuntimeError):
    """No folder with the `convex` npm package to deploy from (the message says what to do)."""


def _is_test(name: str) -> bool:
    return name.endswith(".test.ts") or name == "test.setup.ts"


def deploy_project(cfg: Config, functions: Path) -> Path:
    """The working folder for `npx convex deploy` of `functions` (laid out when needed)."""
    node = cfg.node_dir
    if node is not None and (node / "convex").resolve() == functions.resolve():
        return node  # a checkout: the repository is the Convex project
    if node is None or not (node / "node_modules" / "convex").is_dir():
        raise NoConvexProject(
            "cannot deploy the Convex functions: no node_modules with the `convex` npm package "
            f"(node_dir: {node or 'none'}); run `npm install convex` in a folder and set "
            "OPENAGENTS_NODE_DIR (or node_dir in config.toml) to it"
        )
    project = cfg.home / "convex" / "project"
    staged = project / "convex"
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(functions, staged, ignore=lambda _d, names: [n for n in names if _is_test(n)])
    link = project / "node_modules"
    target = node / "node_modules"
    if link.is_symlink() and Path(os.readlink(link)) != target:
        link.unlink()
    if not link.exists():
        link.symlink_to(target, target_is_directory=True)
    manifest = project / "package.json"
    if not manifest.exists():
        manifest.write_text('{"private": true, "type": "module"}\n')
    return project
