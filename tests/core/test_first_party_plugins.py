"""Our own plugins are built from the public contract alone, as a third party's would be: every
``aexy`` import in a plugin's source is ``aexy.plugin_api``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.glob("plugins/aexy-*/src"), *ROOT.glob("examples/plugins/aexy-*/src")])


def _aexy_imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [(node.lineno, n) for n in names if n == "aexy" or n.startswith("aexy.")]
    return found


def test_every_first_party_plugin_is_checked() -> None:
    names = {p.parent.name for p in SOURCES}
    assert {"aexy-claude", "aexy-ollama", "aexy-openai", "aexy-redis", "aexy-llamacpp",
            "aexy-example-provider", "aexy-example-cache"} <= names


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.parent.name)
def test_a_plugin_imports_only_the_plugin_api(source: Path) -> None:
    outside = [f"{path.relative_to(ROOT)}:{line}: {name}"
               for path in sorted(source.rglob("*.py"))
               for line, name in _aexy_imports(path) if name != "aexy.plugin_api"]
    assert outside == [], "\n".join(outside)
