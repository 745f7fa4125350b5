"""Helpers shared by the commands: input reading, ``--context`` parsing, rich consoles."""

from __future__ import annotations

import codecs
import difflib
import json
import sys
from collections.abc import Callable, Coroutine, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from aexy.errors import InvalidInputError, ProviderNotFoundError

if TYPE_CHECKING:
    from rich.console import Console

    from aexy.analysis import AnalysisSpec
    from aexy.plugins import PluginHost, Registry

__all__ = [
    "SECRET_MASK",
    "check_encoding",
    "get_console",
    "host",
    "looks_like_text",
    "parse_context",
    "provider_option_errors",
    "read_text",
    "resolve_spec",
    "run_async",
    "text_problem",
]

SECRET_MASK = "**********"
T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, with asyncio imported only when a command needs it."""
    import asyncio

    return asyncio.run(coro)


def command_options(ctx: click.Context | None, key: str, record: type[T]) -> T:
    """The running command's ``record`` of options, kept in ``ctx.meta[key]`` by the callbacks
    of :func:`store_option`; a new one (the defaults) when none was given."""
    found = ctx.meta.get(key) if ctx is not None else None
    if isinstance(found, record):
        return found
    found = record()
    if ctx is not None:
        ctx.meta[key] = found
    return found


def store_option(key: str, record: type[Any], name: str,
                 convert: Callable[[Any], Any] = lambda v: v
                 ) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback that sets ``name`` on the command's ``record`` of options (see
    :func:`command_options`) when the option has a value; for options that several commands
    share and that reach the code that needs them without being passed through each one."""
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None:
            setattr(command_options(ctx, key, record), name, convert(value))
        return value
    return callback


def host() -> PluginHost:
    """The process-wide plugin host (tests replace it with ``reset_plugin_host``)."""
    from aexy.plugins import get_plugin_host

    return get_plugin_host()


def get_console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def check_encoding(ctx: click.Context | None, param: click.Parameter | None, value: str) -> str:
    """Click callback for ``--encoding``: a text encoding Python knows, or a usage error."""
    try:
        # LookupError for unknown names and for bytes-to-bytes codecs such as base64 (empty
        # input would skip the lookup; "ignore" keeps one byte from being an error in utf-16).
        b"a".decode(value, "ignore")
    except LookupError:
        raise click.BadParameter(
            f"{value!r} is not a text encoding Python knows (e.g. utf-8, latin-1, cp1252, "
            "utf-16)", ctx=ctx, param=param) from None
    return value


def _codec(encoding: str) -> str:
    # UTF-8 input may start with a byte-order mark: drop it rather than analyse it.
    return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding


#: Byte-order marks of UTF-16 and UTF-32 text (NUL bytes there are part of the encoding).
_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _label(encoding: str) -> str:
    return "UTF-8" if codecs.lookup(encoding).name == "utf-8" else encoding


def text_problem(data: bytes, name: str, encoding: str = "utf-8", *, final: bool = True,
                 option: str | None = "--encoding") -> str | None:
    """Why ``data`` (the start of the file ``name`` when ``final`` is false) is not text in
    ``encoding``, or ``None`` when it is.

    Binary data (compiled code, images, archives) nearly always holds a NUL character once
    decoded; no encoding makes it text, so ``--encoding`` is offered only for bytes that fail
    to decode and hold no NUL byte, which is what text in another encoding looks like.
    """
    try:
        decoder = codecs.getincrementaldecoder(_codec(encoding))()
        text = decoder.decode(data, final=final)  # not final: a character cut at the end is fine
    except UnicodeDecodeError as exc:
        if b"\x00" in data and not data.startswith(_WIDE_BOMS):
            return _binary(data, name)
        if data.startswith(_WIDE_BOMS):
            hint = "; it starts with a UTF-16/32 byte-order mark: try --encoding utf-16"
        elif option:
            hint = (f"; if it is text in another encoding, say which with {option} "
                    f"(e.g. {option} latin-1)")
        else:
            hint = "; it must be UTF-8"
        return f"{name} is not {_label(encoding)} text (byte {exc.start}){hint}"
    if "\x00" in text:
        if data.startswith(_WIDE_BOMS) and option:
            return (f"{name} holds NUL characters in {_label(encoding)}; it starts with a "
                    f"UTF-16/32 byte-order mark: try {option} utf-16")
        return _binary(data, name)
    return None


def _binary(data: bytes, name: str) -> str:
    return (f"{name} is a binary file, not text (a NUL byte at offset {data.index(0)}); aexy "
            "analyses source code and other text")


def read_text(path: str, encoding: str = "utf-8", *, option: str | None = "--encoding") -> str:
    """A file's text (``-`` is stdin) in ``encoding`` (UTF-8 by default; a BOM is dropped).

    Binary input is refused whatever the encoding (:func:`text_problem`).

    :param option: the command's option that sets the encoding, named in the error when the
        bytes are not text in ``encoding``; ``None`` for inputs that are UTF-8 by definition.
    """
    if path == "-":
        data = sys.stdin.buffer.read()
        name = "stdin"
    else:
        data = Path(path).read_bytes()
        name = path
    problem = text_problem(data, name, encoding, option=option)
    if problem is not None:
        raise InvalidInputError(problem)
    return data.decode(_codec(encoding))


def looks_like_text(path: Path, encoding: str = "utf-8", sample: int = 8192) -> bool:
    """Whether the start of ``path`` is text in ``encoding`` (:func:`text_problem`). An
    unreadable file counts as text: reading it later reports the real error."""
    try:
        with path.open("rb") as fh:
            head = fh.read(sample)
    except OSError:
        return True
    return text_problem(head, str(path), encoding, final=False) is None


def parse_context(pairs: Iterable[str], json_file: str | None) -> dict[str, Any]:
    """``--context-json FILE`` first, then each ``--context`` on top.

    ``key=value`` sets a string and ``key:=json`` a JSON value, as in httpie.
    """
    context: dict[str, Any] = {}
    if json_file is not None:
        try:
            loaded = json.loads(read_text(json_file, option=None))
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


@contextmanager
def provider_option_errors(provider: str | None) -> Iterator[None]:
    """A provider named by ``-p/--provider`` that is not installed becomes a usage error of
    that option (exit 2, click's format); the same name from ``LLM_PROVIDER`` stays an error
    that names the variable (exit 2 as well, see :func:`aexy.cli._errors.exit_status`)."""
    try:
        yield
    except ProviderNotFoundError as exc:
        if provider is None or exc.name != provider.strip().lower():
            raise
        # args[0]: the message without the "Set LLM_PROVIDER ..." advice, which is not how
        # this name was given.
        raise click.BadParameter(str(exc.args[0]), param_hint="'-p' / '--provider'") from None
