"""The core's layering, read from the source: no import cycle, nothing imports upward, and no
module imports the package facade. Every import counts: those inside functions (a cycle all
the same, only deferred) and those under ``TYPE_CHECKING`` (a type-only cycle still ties two
modules together)."""

from __future__ import annotations

import ast
from pathlib import Path

import aexy

PACKAGE = Path(aexy.__file__).parent
FACADE = "aexy"
#: Modules allowed to import the gateway: the layers above it (the test kit drives gateways,
#: and a batch job drives one through a provider's batch API).
ABOVE_GATEWAY = ("aexy.gateway", "aexy.batching", "aexy.cli", "aexy.apps", "aexy.testing",
                 "aexy.eval")
#: Importable by anything; they import only each other.
LEAVES = {"aexy.errors", "aexy.schema", "aexy.redact", "aexy.settings", "aexy.log",
          "aexy._version", "aexy._seed", "aexy._lazy", "aexy.resilience.clock",
          "aexy.resilience.incident"}
#: The plugin contract sits right above the leaves.
CONTRACT = "aexy.contract"
#: The host and what it checks records with import only the contract (and the leaves).
ON_THE_CONTRACT = {"aexy.hookspecs", "aexy.plugin_checks", "aexy.plugins"}
#: Compatibility modules: names kept importable where earlier releases had them.
SHIMS = {"aexy.analysis", "aexy.completion", "aexy.provider", "aexy.providers.base"}


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
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    deps = set()
    for name in names:
        while name and name not in known:  # "aexy.cache.TieredCache" -> "aexy.cache"
            name = name.rpartition(".")[0]
        if name:
            deps.add(name)
    return deps


MODULES = _modules()
GRAPH = {name: _imports(path, MODULES) - {name} for name, path in MODULES.items()}


def _cycle_from(start: str) -> list[str] | None:
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for dep in GRAPH.get(node, ()):
            if dep == FACADE:
                continue  # reported by its own test
            if dep == start:
                return [*path, start]
            if dep not in seen:
                seen.add(dep)
                stack.append((dep, [*path, dep]))
    return None


def test_the_graph_sees_deferred_and_type_only_imports() -> None:
    # builtin_plugin imports the catalogue inside its hook functions only.
    assert "aexy.catalogue" in GRAPH["aexy.builtin_plugin"]
    assert "aexy.gateway" in GRAPH["aexy.cli._jobs"]
    # hookspecs names the records it returns under TYPE_CHECKING only.
    assert "aexy.contract.provider" in GRAPH["aexy.hookspecs"]


def test_no_import_cycle() -> None:
    cycles = [c for c in map(_cycle_from, sorted(GRAPH)) if c]
    assert not cycles, " | ".join(" -> ".join(c) for c in cycles)


def test_no_module_imports_the_package_facade() -> None:
    importers = sorted(m for m, deps in GRAPH.items() if FACADE in deps)
    assert importers == [], importers


def test_nothing_below_the_gateway_imports_it() -> None:
    importers = {m for m, deps in GRAPH.items() if "aexy.gateway" in deps} - {FACADE}
    assert importers and all(m.startswith(ABOVE_GATEWAY) for m in importers), importers


def test_leaves_import_only_leaves() -> None:
    for leaf in LEAVES:
        assert GRAPH[leaf] <= LEAVES, (leaf, GRAPH[leaf] - LEAVES)


def test_the_contract_imports_only_itself_and_the_leaves() -> None:
    contract = {m for m in GRAPH if m == CONTRACT or m.startswith(CONTRACT + ".")}
    assert len(contract) > 5
    for module in contract:
        outside = {d for d in GRAPH[module] if d.startswith("aexy")} - contract - LEAVES
        assert not outside, (module, outside)


def test_the_host_and_its_checks_import_only_the_contract() -> None:
    # The host registers the core's own plugin like any other (its hooks import the built-in
    # features when first called).
    allowed = LEAVES | ON_THE_CONTRACT | {"aexy.builtin_plugin"}
    for module in ON_THE_CONTRACT:
        outside = {d for d in GRAPH[module] if d.startswith("aexy")
                   and not d.startswith(CONTRACT)} - allowed
        assert not outside, (module, outside)


def test_only_compatibility_shims_re_export_the_contract_under_old_names() -> None:
    # A shim holds imports and nothing else: the names have one home, in the contract.
    for shim in SHIMS:
        tree = ast.parse(MODULES[shim].read_text(encoding="utf-8"))
        body = [n for n in tree.body if not (isinstance(n, ast.Expr)
                                             and isinstance(n.value, ast.Constant))]
        code = [n for n in body if not isinstance(n, ast.Import | ast.ImportFrom)]
        # aexy.provider (0.1.0's module) also warns that it is deprecated.
        assert all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Call) for n in code), shim
