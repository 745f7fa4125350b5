"""The core's layering, read from the source: no import cycle, and nothing below the gateway
imports it. Imports inside functions count (they are cycles all the same, only deferred);
``TYPE_CHECKING`` imports and the package facade ``aexy`` itself do not."""

from __future__ import annotations

import ast
from pathlib import Path

import aexy

PACKAGE = Path(aexy.__file__).parent
#: Modules allowed to import the gateway: the layers above it (the test kit drives gateways).
ABOVE_GATEWAY = ("aexy.gateway", "aexy.cli", "aexy.apps", "aexy.testing", "aexy.eval")
LEAVES = {"aexy.errors", "aexy.completion", "aexy.schema", "aexy.redact", "aexy.settings"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(path: Path, known: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                 and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
                 for stmt in block.body for n in ast.walk(stmt)}
    names: list[str] = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    deps = set()
    for name in names:
        while name and name not in known:  # "aexy.cache.TieredCache" -> "aexy.cache"
            name = name.rpartition(".")[0]
        if name and name != "aexy":
            deps.add(name)
    return deps


GRAPH = {name: _imports(path, _modules()) - {name} for name, path in _modules().items()}


def _cycle_from(start: str) -> list[str] | None:
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for dep in GRAPH.get(node, ()):
            if dep == start:
                return [*path, start]
            if dep not in seen:
                seen.add(dep)
                stack.append((dep, [*path, dep]))
    return None


def test_the_graph_sees_deferred_imports() -> None:
    # builtin_plugin imports the catalogue inside its hook functions only.
    assert "aexy.catalogue" in GRAPH["aexy.builtin_plugin"]
    assert "aexy.gateway" in GRAPH["aexy.cli.commands"]


def test_no_import_cycle() -> None:
    cycles = [c for c in map(_cycle_from, sorted(GRAPH)) if c]
    assert not cycles, " | ".join(" -> ".join(c) for c in cycles)


def test_nothing_below_the_gateway_imports_it() -> None:
    importers = {m for m, deps in GRAPH.items() if "aexy.gateway" in deps}
    assert importers and all(m.startswith(ABOVE_GATEWAY) for m in importers), importers


def test_leaves_import_only_leaves() -> None:
    for leaf in LEAVES:
        assert GRAPH[leaf] <= LEAVES, (leaf, GRAPH[leaf] - LEAVES)
