"""Every module under `oa_actors` imports on its own, and the package has no import cycles.

A cycle that "works" does so by accident: it depends on which module is imported first, and a
bottom-of-file re-export or a function-level import hides it from a reader. Two checks:

- `test_every_module_imports_alone`: one fresh interpreter imports each module with every other
  `oa_actors` module removed from `sys.modules` first, so no module relies on another having been
  imported before it.
- `test_no_import_cycles`: the graph of module-level imports (read with `ast`; imports inside
  functions and under `if TYPE_CHECKING:` are not edges) has no cycle. An import of a package
  counts as an edge to its `__init__`; the implicit import of a parent package does not (a package
  that re-exports its submodules is not a cycle).

Run `python -m tests.test_imports` to print the cycles and each module's imports.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "oa_actors"
# PyO3 extensions cannot be initialised twice in one interpreter, so the extension stays loaded.
NATIVE = "oa_actors._oa_native"


def module_names() -> dict[str, Path]:
    """Dotted name -> file of every Python module under `oa_actors`."""
    names: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """Imports run when the module is imported: the body and its if/try/with blocks, not defs."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                found += _module_level_imports(node.body)
            found += _module_level_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                found += _module_level_imports(block)
        elif isinstance(node, ast.With):
            found += _module_level_imports(node.body)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the `oa_actors` modules it imports at module level."""
    modules = module_names()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in _module_level_imports(ast.parse(path.read_text(encoding="utf-8")).body):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")
                    anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                    base = ".".join([*anchor, base] if base else anchor)
                # `from pkg import sub` imports the submodule when there is one.
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            edges.update(t for t in targets if t in modules and t != name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component: list[str] = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph)))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


_IMPORT_EACH = """
import importlib, json, sys, traceback
failures = {}
for name in json.loads(sys.argv[1]):
    for loaded in [m for m in sys.modules if m == "oa_actors" or m.startswith("oa_actors.")]:
        if loaded != sys.argv[2]:
            del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except BaseException:
        failures[name] = traceback.format_exc(limit=-3)
print(json.dumps(failures))
"""


def test_every_module_imports_alone() -> None:
    names = [n for n in module_names() if n != "oa_actors.__main__"]
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH, json.dumps(names), NATIVE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    failures = json.loads(out.stdout.strip().splitlines()[-1])
    assert failures == {}, "\n".join(f"{k}:\n{v}" for k, v in failures.items())
    assert len(names) > 50  # the walk found the package


def test_no_import_cycles() -> None:
    graph = import_graph()
    assert "oa_actors.fs.scan" in graph and "oa_actors.fs.scan" in graph["oa_actors.fs.changes"]
    assert cycles(graph) == []


def test_cycle_finder_finds_a_cycle() -> None:
    """The checker itself can fail: a two-module and a three-module cycle are both reported."""
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a"}}
    assert cycles(graph) == [["a", "b"], ["c", "d", "e"]]


if __name__ == "__main__":
    g = import_graph()
    for cycle in cycles(g):
        print("cycle:", " <-> ".join(cycle))
    if "-v" in sys.argv:
        for mod, deps in sorted(g.items()):
            print(mod, "->", ", ".join(sorted(deps)))
