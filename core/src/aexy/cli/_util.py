"""Helpers shared by the commands: input reading, ``--context`` parsing, rich consoles."""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from aexy.errors import InvalidInputError

if TYPE_CHECKING:
    from rich.console import Console

    from aexy.analysis import AnalysisSpec
    from aexy.plugins import PluginHost, Registry

__all__ = [
    "SECRET_MASK",
    "get_console",
    "host",
    "parse_context",
    "read_text",
    "resolve_spec",
    "run_async",
]

SECRET_MASK = "**********"
T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, with asyncio imported only when a command needs it."""
    import asyncio

    return asyncio.run(coro)


def host() -> PluginHost:
    """The process-wide plugin host (tests replace it with ``reset_plugin_host``)."""
    from aexy.plugins import get_plugin_host

    return get_plugin_host()


def get_console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def read_text(path: str) -> str:
    """A file's text (``-`` is stdin). Content must be UTF-8; a BOM is dropped."""
    if path == "-":
        data = sys.stdin.buffer.read()
        name = "stdin"
    else:
        data = Path(path).read_bytes()
        name = path
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"{name} is not UTF-8 text (byte {exc.start}); aexy analyses text files only"
        ) from None


def parse_context(pairs: Iterable[str], json_file: str | None) -> dict[str, Any]:
    """``--context-json FILE`` first, then each ``--context`` on top.

    ``key=value`` sets a string and ``key:=json`` a JSON value, as in httpie.
    """
    context: dict[str, Any] = {}
    if json_file is not None:
        try:
            loaded = json.loads(read_text(json_file))
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"{json_file} is not valid JSON: {exc}",
                                     param_hint="'--context-json'") from None
        if not isinstance(loaded, dict):
            raise click.BadParameter(f"{json_file} must hold a JSON object",
                                     param_hint="'--context-json'")
        context.update(loaded)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.rstrip(":"):
            raise click.BadParameter(
                f"{pair!r} is not key=value or key:=json", param_hint="'--context'"
            )
        if key.endswith(":"):
            try:
                context[key[:-1]] = json.loads(value)
            except json.JSONDecodeError as exc:
                raise click.BadParameter(f"{pair!r}: the value is not JSON ({exc})",
                                         param_hint="'--context'") from None
        else:
            context[key] = value
    return context


def resolve_spec(types: Registry[AnalysisSpec], name: str) -> AnalysisSpec:
    """The spec for ``name`` from a registry, or a usage error (exit 2) with suggestions."""
    spec = types.get(name)
    if spec is None:
        known = types.names()
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise click.BadParameter(
            f"unknown analysis type {name!r}.{hint} Run `aexy types` for the list.",
            param_hint="'TYPE'",
        )
    return spec
