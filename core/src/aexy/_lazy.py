"""Lazy public names for a package facade, listed once.

A facade module (``aexy``, ``aexy.plugin_api``) imports its public names in an
``if TYPE_CHECKING:`` block as ``from module import Name as Name``: type checkers read them as
explicit re-exports, and :func:`lazy_names` reads the same block, on the first attribute
access, to import each name from its module when it is first used. So ``import aexy`` stays
cheap, and no second list of the names can drift from the first.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(module: str, path: str, namespace: dict[str, Any], constants: tuple[str, ...]
               ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for the facade ``module`` whose source is at ``path``;
    ``constants`` are names the module defines itself (they join ``__all__``)."""
    found: dict[str, str] = {}

    def where() -> dict[str, str]:
        if not found:
            import ast  # on first use only: ``import aexy`` stays cheap
            from pathlib import Path

            tree = ast.parse(Path(path).read_text(encoding="utf-8"))
            block = next(node for node in tree.body if isinstance(node, ast.If)
                         and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
            found.update({alias.name: node.module for node in block.body
                          if isinstance(node, ast.ImportFrom) and node.module
                          for alias in node.names})
        return found

    def getattr_(name: str) -> Any:
        if name == "__all__":
            return [*where(), *constants]
        source = where().get(name)
        if source is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted([*where(), *constants])

    return getattr_, dir_
