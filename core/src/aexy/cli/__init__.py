"""The ``aexy`` command line (click; rich is imported only by the commands that print with it).

``aexy --help`` and ``aexy --version`` import click and nothing of any plugin: every command
imports the gateway, settings and rich inside its own body, and the commands plugins add are
listed from their entry points (group ``aexy.commands``) without importing them. A plugin's
commands are loaded when one of them is run.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from aexy._version import __version__
from aexy.cli._errors import EXIT_INTERRUPTED, exit_status, report_error

__all__ = ["AexyGroup", "cli", "main", "make_cli"]


class _WarningLines(logging.Handler):
    """Each aexy warning as one ``Warning: ...`` line on the current stderr."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"Warning: {record.getMessage()}", err=True)


class AexyGroup(click.Group):
    """The root group: adds plugin commands on first need and turns errors into one line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plugins_for: object | None = None
        self._builtin_names: frozenset[str] = frozenset()
        self._loading_plugins = False

    def seal_builtins(self) -> None:
        self._builtin_names = frozenset(self.commands)

    def _declared_commands(self) -> list[click.Command]:
        """Commands plugins declare in the ``aexy.commands`` entry-point group, as placeholders
        that import nothing (so that help stays as light as without plugins)."""
        from importlib.metadata import entry_points

        found: list[click.Command] = []
        for ep in entry_points(group=COMMANDS_GROUP):
            if ep.name in self._builtin_names:
                continue
            dist = ep.dist.name if ep.dist is not None else "a plugin"
            found.append(click.Command(ep.name, short_help=f"(from {dist})"))
        return found

    def _load_declared(self, name: str) -> click.Command | None:
        """The declared command ``name``, imported from its entry point alone."""
        from importlib.metadata import entry_points

        for ep in entry_points(group=COMMANDS_GROUP, name=name):
            try:
                command = ep.load()
            except Exception as exc:  # a broken plugin is reported, never a traceback
                raise click.ClickException(
                    f"the command {name!r} of {ep.dist.name if ep.dist else 'a plugin'} "
                    f"failed to load: {type(exc).__name__}: {exc}") from None
            if isinstance(command, click.Command):
                super().add_command(command, name)
                return command
        return None

    def _load_plugin_commands(self) -> None:
        from aexy.plugins import get_plugin_host

        host = get_plugin_host()
        if self._plugins_for is host:
            return
        self._plugins_for = host
        # Commands from a previous host (tests swap hosts) go; built-ins stay.
        for name in [n for n in self.commands if n not in self._builtin_names]:
            del self.commands[name]
        self._loading_plugins = True
        try:
            host.add_commands(self)
        finally:
            self._loading_plugins = False

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        name = name or cmd.name
        if self._loading_plugins and name in self._builtin_names:
            from aexy.plugins import get_plugin_host

            # A plugin may add commands, never replace one of aexy's own.
            plugins = get_plugin_host()
            plugins.report(plugins.adding_commands_for or "?", "register_commands",
                           f"command {name!r} is built in and was not replaced")
            return
        super().add_command(cmd, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        # Built-ins resolve without loading any plugin; a declared command imports its own
        # plugin only; anything else may come from a plugin's register_commands hook.
        cmd = super().get_command(ctx, cmd_name)
        if cmd is None and cmd_name not in self._builtin_names:
            cmd = self._load_declared(cmd_name)
        if cmd is None:
            self._load_plugin_commands()
            cmd = super().get_command(ctx, cmd_name)
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help lists the built-ins and what plugins declare; no plugin is imported for it.
        listed = {name: cmd for name, cmd in self.commands.items()
                  if name in self._builtin_names and not cmd.hidden}
        for declared in self._declared_commands():
            listed.setdefault(str(declared.name), declared)
        if self._plugins_for is not None:  # plugins already loaded: their hook commands too
            listed.update({n: c for n, c in self.commands.items() if not c.hidden})
        limit = formatter.width - 6 - max(map(len, listed), default=0)
        rows = [(name, listed[name].get_short_help_str(limit)) for name in sorted(listed)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            # click would print "Aborted!" and exit 1; a shell's status for SIGINT is 130.
            # Commands that write as they go (batch, profile -o) have flushed what finished.
            click.echo("Interrupted.", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except Exception as exc:
            report_error(exc, debug=bool(ctx.meta.get("aexy.debug")))
            ctx.exit(exit_status(exc))


#: Where a plugin declares the commands it adds (name -> ``module:command``), so that ``aexy
#: --help`` can list them without importing the plugin. ``register_commands`` still adds them.
COMMANDS_GROUP = "aexy.commands"


def make_cli() -> AexyGroup:
    """A fresh root group with every built-in command (tests build their own)."""

    @click.group(
        cls=AexyGroup,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    )
    @click.option("--debug", is_flag=True, help="Show tracebacks and debug logs on stderr.")
    @click.version_option(__version__, "--version", prog_name="aexy",
                          message="%(prog)s %(version)s")
    @click.pass_context
    def root(ctx: click.Context, debug: bool) -> None:
        """aexy: typed code and developer analysis from any LLM provider.

        \b
        Try it with no key and no server (the built-in offline heuristics):
          aexy analyze skill_extraction examples/oauth.py
        Pick a model provider with LLM_PROVIDER or --provider (see `aexy providers`).
        """
        ctx.meta["aexy.debug"] = debug
        log = logging.getLogger("aexy")
        if debug:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            log.addHandler(handler)
            log.setLevel(logging.DEBUG)
        else:
            # aexy's warnings (a fallback to heuristics, a discarded cache entry) as one
            # line each, for this invocation only.
            warnings = _WarningLines()
            log.addHandler(warnings)
            ctx.call_on_close(lambda: log.removeHandler(warnings))

    from aexy.cli.apps import APP_COMMANDS
    from aexy.cli.batch import batch
    from aexy.cli.commands import COMMANDS
    from aexy.cli.eval import eval_command

    for command in (*COMMANDS, batch, *APP_COMMANDS, eval_command):
        root.add_command(command)
    root.seal_builtins()
    return root


cli = make_cli()


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (``aexy``)."""
    # The offline heuristics may use a worker process per CPU here: this entry point is
    # guarded, so a worker importing the main module again runs nothing (library callers
    # keep the default, threads only, unless they set it).
    os.environ.setdefault("AEXY_OFFLINE_WORKERS", str(os.cpu_count() or 1))
    cli.main(args=list(argv) if argv is not None else None, prog_name="aexy")
