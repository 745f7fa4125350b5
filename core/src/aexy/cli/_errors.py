"""Errors as one line on stderr that names the fix; a traceback only with ``--debug``; and the
exit status of every command (the table in docs/cli.md)."""

from __future__ import annotations

import sys
import traceback

import click

from aexy.errors import (
    AexyError,
    ConfigurationError,
    InvalidInputError,
    LLMError,
    LLMUnavailableError,
    ProviderNotFoundError,
    UnknownAnalysisTypeError,
)

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "error_code",
           "error_message", "exit_status", "report_error"]

#: The exit statuses of every ``aexy`` command.
EXIT_OK = 0
#: An analysis failed (for ``batch``, at least one file), or any other error.
EXIT_ERROR = 1
#: A usage error: unknown command, option, analysis type or provider, missing file, bad value
#: (click's own status for these).
EXIT_USAGE = 2
#: Interrupted (Ctrl-C, SIGINT): 128 + 2, as shells report it; finished work is kept.
EXIT_INTERRUPTED = 130


def exit_status(exc: BaseException) -> int:
    """The exit status for an error that ended a command: a name that is not installed or
    registered (a provider, an analysis type), wherever it was given, is a usage error."""
    if isinstance(exc, ProviderNotFoundError | UnknownAnalysisTypeError):
        return EXIT_USAGE
    return EXIT_ERROR


def error_message(exc: BaseException) -> str:
    """One line for ``exc``: what went wrong and, where aexy knows it, what to do."""
    if isinstance(exc, LLMUnavailableError):
        head = str(exc).splitlines()[0]
        tried = "; ".join(f"{a.provider}/{a.model}: [{a.code}] {a.message}" for a in exc.attempts)
        return f"{head} ({tried})" if tried else head
    if isinstance(exc, ConfigurationError):
        text = _one_line(str(exc))
        # A missing provider's fix is the pip command already in the message.
        if exc.env_var and exc.env_var not in text and not isinstance(exc, ProviderNotFoundError):
            text += f" (set {exc.env_var})"
        return text
    if isinstance(exc, AexyError):
        return _one_line(str(exc))
    if type(exc).__name__ == "ValidationError" and hasattr(exc, "errors"):
        # pydantic settings read from the environment: name the variable that is wrong.
        problems = []
        for err in exc.errors()[:3]:
            where = ".".join(str(p) for p in err.get("loc", ())) or "?"
            problems.append(f"{where}: {err.get('msg', '')}")
        return "invalid configuration: " + "; ".join(problems)
    if isinstance(exc, OSError):
        return _one_line(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
    return (f"unexpected {type(exc).__name__}: {_one_line(str(exc))} "
            "(run with --debug for the traceback)")


def error_code(exc: BaseException) -> str:
    """A stable code for JSON output (``aexy batch`` lines)."""
    if isinstance(exc, LLMError):
        return exc.code.value
    if isinstance(exc, LLMUnavailableError):
        return exc.last_code or "unavailable"
    if isinstance(exc, InvalidInputError):
        return "invalid_input"
    if isinstance(exc, ConfigurationError):
        return "configuration_error"
    if isinstance(exc, OSError):
        return "io_error"
    return "internal_error"


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.strip().splitlines() if part.strip())


def report_error(exc: BaseException, *, debug: bool) -> None:
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    click.echo(f"Error: {error_message(exc)}", err=True)
