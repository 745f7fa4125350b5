"""The built-in commands (``batch`` lives in :mod:`aexy.cli.batch`).

Heavy modules (the gateway, settings, rich) are imported inside each command, so that
``aexy --help`` stays fast and imports no provider SDK.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

from aexy.cli._jobs import Job, job_options
from aexy.cli._util import (
    SECRET_MASK,
    check_encoding,
    get_console,
    host,
    parse_context,
    read_text,
    resolve_spec,
    run_async,
)

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

    from aexy.analysis import AnalysisResult

__all__ = ["COMMANDS"]

ENCODING_HELP = "Text encoding of the input files (default utf-8), e.g. latin-1 or cp1252."
CONTEXT_HELP = (
    "Context for the analysis: key=value for a string, key:=json for any JSON value "
    "(repeatable; wins over --context-json)."
)


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


# -- analyze ---------------------------------------------------------------------------------------

@click.command()
@click.argument("analysis_type", metavar="TYPE")
@click.argument("file", required=False, metavar="[FILE|-]",
                type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("-p", "--provider", help="Provider to use (default: LLM_PROVIDER, or offline).")
@click.option("-m", "--model", help="Model to use (default: the provider's configured model).")
@click.option("-c", "--context", "contexts", multiple=True, metavar="KEY=VALUE",
              help=CONTEXT_HELP)
@click.option("--context-json", type=click.Path(exists=True, dir_okay=False, allow_dash=True),
              metavar="FILE", help="Context as a JSON object in FILE.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")
@click.option("--encoding", default="utf-8", show_default=True, callback=check_encoding,
              help=ENCODING_HELP)
@click.option("--json", "as_json", is_flag=True,
              help='Print {"result": ..., "provenance": ...} as JSON instead of a panel.')
@job_options(dry_run=False)
def analyze(analysis_type: str, file: str | None, provider: str | None, model: str | None,
            contexts: tuple[str, ...], context_json: str | None, no_cache: bool,
            encoding: str, as_json: bool) -> None:
    """Analyse FILE (or stdin) with analysis TYPE and print the typed result.

    \b
    The context key file_path defaults to FILE. Examples:
      aexy analyze skill_extraction examples/oauth.py
      git show HEAD:app.py | aexy analyze code_quality - -c file_path=app.py --json
      aexy analyze task_signals examples/task.md -c labels:='["auth"]'
      aexy analyze code_quality legacy.c --encoding latin-1
    """
    if file is None:
        if sys.stdin is None or sys.stdin.isatty():
            raise click.UsageError("give a FILE to analyse, or - to read stdin")
        file = "-"
    if file == "-" and context_json == "-":
        raise click.BadParameter("stdin cannot be both the content and the context",
                                 param_hint="'--context-json'")
    context = parse_context(contexts, context_json)
    if file != "-":
        context.setdefault("file_path", file)
    label = "stdin" if file == "-" else file
    content = read_text(file, encoding)
    if not content.strip():
        from aexy.errors import InvalidInputError

        raise InvalidInputError(f"{label} is empty (or only whitespace): nothing to analyse")
    result, spec_schema = run_async(
        _analyze(analysis_type, content, context, provider, model, not no_cache))
    provenance = result.provenance
    if as_json:
        click.echo(_dumps({"result": result.model_dump(mode="json"),
                           "provenance": provenance.model_dump(mode="json")}))
        return
    from aexy.cli.render import result_panel

    get_console().print(result_panel(analysis_type, result.model_dump(mode="json"),
                                     spec_schema, provenance, path=label))


async def _analyze(analysis_type: str, content: str, context: Mapping[str, Any],
                   provider: str | None, model: str | None, use_cache: bool
                   ) -> tuple[AnalysisResult, Mapping[str, Any]]:
    spec = resolve_spec(host().analysis_types(), analysis_type)
    async with Job(provider, model).gateway() as gateway:
        result = await gateway.analyze(spec.name, content, context=context, use_cache=use_cache)
    return result, spec.json_schema


# -- plugins ---------------------------------------------------------------------------------------

@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins(as_json: bool) -> None:
    """Every plugin: distribution, version, supported aexy-core range, hooks and status
    (active, disabled, incompatible, failed), then any record rejected at load, name conflict
    or hook error."""
    from aexy._version import PLUGIN_API_VERSION, __version__

    h = host()
    conflicts = []
    for registry in h.registries():  # building them checks every record
        for name, owners in sorted(registry.conflicts.items()):
            conflicts.append({"kind": registry.kind, "name": name, "distributions": owners})
    infos = h.plugins()
    hook_errors = [{"plugin": e.plugin, "distribution": e.distribution, "hook": e.hook,
                    "record": e.record, "error": e.error} for e in h.hook_errors]

    def rejected(name: str) -> list[dict[str, Any]]:
        return [{"hook": e.hook, "record": e.record, "error": e.error}
                for e in h.rejected_records(name)]

    def deprecations(name: str) -> list[str]:
        return [f"{e.hook} record {e.record!r}: {e.error}" for e in h.deprecations
                if e.plugin == name]
    cache_backend = _active_cache_backend(h)
    budget_ledger = _active_ledger(h)
    if as_json:
        click.echo(_dumps({
            "core_version": __version__,
            "plugin_api_version": PLUGIN_API_VERSION,
            "plugins": [
                {"name": i.name, "distribution": i.distribution, "version": i.version,
                 "status": i.status, "builtin": i.builtin, "hooks": list(i.hooks),
                 "requires_core": i.requires_core, "error": i.error,
                 "warnings": list(i.warnings), "rejected": rejected(i.name),
                 "deprecations": deprecations(i.name)}
                for i in infos
            ],
            "conflicts": conflicts,
            "overrides": [{"kind": k, "name": n, "distribution": d} for k, n, d in h.overrides],
            "hook_errors": hook_errors,
            "cache_backend": cache_backend,
            "budget_ledger": budget_ledger,
        }))
        return
    from rich.table import Table
    from rich.text import Text

    from aexy.cli.render import print_table

    console = get_console()
    table = Table(title=f"aexy plugins (aexy-core {__version__}, plugin API "
                        f"{PLUGIN_API_VERSION})", title_justify="left")
    for col in ("name", "distribution", "version", "aexy-core", "status"):
        table.add_column(col, overflow="fold")
    table.add_column("hooks", min_width=17)  # wrapped between hook names, never inside one
    styles = {"active": "green", "disabled": "yellow", "failed": "red", "incompatible": "red"}
    for i in infos:
        hooks = ", ".join(hk.removeprefix("register_") for hk in i.hooks)
        dropped = len(h.rejected_records(i.name))
        status = Text(i.status, style=styles[i.status])
        if dropped:
            status.append(f", {dropped} rejected", style="red")
        if i.builtin:
            requires = ""
        elif i.requires_core is None:
            requires = "undeclared"
        else:
            requires = i.requires_core or "any"
        table.add_row(i.name + (" (built in)" if i.builtin else ""), i.distribution, i.version,
                      requires, status, hooks)
    print_table(console, table)
    for i in infos:
        if i.error:  # failed or incompatible: why, in full, below the table
            who = i.name if i.status == "incompatible" else (  # that message names the dist
                f"{i.name} ({i.distribution} {i.version})")
            console.print(Text.assemble((f"{i.status}: ", styles[i.status]), f"{who}: {i.error}"))
        for warning in i.warnings:
            console.print(Text.assemble(("warning: ", "yellow"), warning))
        for notice in deprecations(i.name):
            console.print(Text.assemble(("deprecated: ", "yellow"),
                                        f"{i.name} ({i.distribution}) {notice}"))
    for kind, name, dist in h.overrides:
        console.print(f"note: {kind} {name!r} from {dist} replaces the built-in one")
    for c in conflicts:
        console.print(Text.assemble(
            ("conflict: ", "red"),
            f"{c['kind']} {c['name']!r} is claimed by {' and '.join(c['distributions'])}; "
            "disable one with AEXY_DISABLE_PLUGINS"))
    for e in h.hook_errors:
        label = "rejected: " if e.record else "hook error: "
        what = f"{e.hook} record {e.record!r}" if e.record else e.hook
        console.print(Text.assemble(
            (label, "red"), f"{e.plugin}.{what} ({e.distribution}): {e.error}"))
    for label, choice in (("cache backend", cache_backend), ("budget ledger", budget_ledger)):
        if "error" in choice:
            console.print(Text.assemble((f"{label}: ", "red"), choice["error"]))
        else:
            console.print(f"{label}: {choice['name']} ({choice['reason']})")


def _active_cache_backend(h: Any) -> dict[str, str]:
    """Which cache backend a gateway would use, and why (or why none can be chosen)."""
    from aexy.assembly import select_backend

    return _active(select_backend, h)


def _active_ledger(h: Any) -> dict[str, str]:
    """Where a budget (AEXY_BUDGET_USD, --max-cost) would keep its spending, and why."""
    from aexy.assembly import select_ledger

    return _active(select_ledger, h)


def _active(select: Any, h: Any) -> dict[str, str]:
    from aexy.errors import ConfigurationError
    from aexy.settings import AexySettings

    try:
        choice = select(AexySettings(), h)
    except ConfigurationError as exc:
        return {"error": str(exc)}
    return {"name": choice.spec.name, "reason": choice.reason}


# -- providers -------------------------------------------------------------------------------------

@click.command()
@click.option("--check", is_flag=True,
              help="Probe each provider's availability and say why not (cheap, never billed).")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds per --check probe.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def providers(check: bool, timeout: float, as_json: bool) -> None:
    """Each installed provider with its configured model and limits.

    With --check, each provider is probed (never a billed call) and the reason is shown (server
    down, model not pulled, key missing, endpoint unreachable); exits 1 when the default
    provider (LLM_PROVIDER) is not available.
    """
    from aexy.settings import AexySettings

    default = AexySettings().llm_provider
    rows = run_async(_provider_rows(check, timeout))
    for row in rows:
        row["default"] = row["name"] == default
    if as_json:
        click.echo(_dumps(rows))
    else:
        from rich.markup import escape
        from rich.table import Table

        from aexy.cli.render import print_table

        table = Table(title="aexy providers", title_justify="left")
        # A health check shows the verdict and its reason instead of limits and distribution
        # (still in --json), so the reason has room on one line.
        columns = ["name", "model"] + (["available", "reason"] if check
                                       else ["limits", "distribution"])
        for col in columns:
            table.add_column(col, overflow="fold")
        for r in rows:
            cells = [r["name"] + (" *" if r["default"] else ""), r.get("model") or ""]
            if r.get("error"):
                cells[1] = f"[red]{escape(r['error'])}[/]"
            if check:
                cells.append("[green]yes[/]" if r.get("available") else "[red]no[/]")
                cells.append(escape(r.get("reason") or ""))
            else:
                cells += [_limits(r), r["distribution"]]
            table.add_row(*cells)
        console = get_console()
        print_table(console, table)
        console.print(f"* default (LLM_PROVIDER={default})", style="dim")
    if check and not any(r["default"] and r.get("available") for r in rows):
        sys.exit(1)


def _limits(row: Mapping[str, Any]) -> str:
    rpm, tpm = row.get("requests_per_minute"), row.get("tokens_per_minute")
    parts = ([f"{rpm:g} req/min"] if rpm else []) + ([f"{tpm:g} tok/min"] if tpm else [])
    return ", ".join(parts) or "unlimited"


async def _provider_rows(check: bool, probe_timeout: float) -> list[dict[str, Any]]:
    import asyncio

    from aexy.cli._errors import error_message

    registry = host().providers()
    rows: list[dict[str, Any]] = []
    for name in registry.names():
        spec = registry.items[name]
        row: dict[str, Any] = {"name": name, "distribution": registry.owners[name],
                               "description": spec.description}
        if name in registry.conflicts:
            row["error"] = f"claimed by {' and '.join(registry.conflicts[name])}"
            rows.append(row)
            continue
        try:
            provider = spec.provider_class()
        except Exception as exc:  # e.g. a missing key: shown, not fatal
            row["error"] = error_message(exc)
            row["available"] = False
            if check:
                row["reason"] = row["error"]
            rows.append(row)
            continue
        row.update({k: v for k, v in provider.describe().items() if k != "name"})
        if check:
            try:
                async with asyncio.timeout(probe_timeout):
                    availability = await provider.check()
                row["available"], row["reason"] = availability.ok, availability.reason
            except TimeoutError:
                row["available"], row["reason"] = False, f"no answer in {probe_timeout:g}s"
            except Exception as exc:  # a provider whose check() breaks its promise
                row["available"], row["reason"] = False, error_message(exc)
        await provider.aclose()
        rows.append(row)
    return rows


# -- types and prompt ------------------------------------------------------------------------------

@click.command(name="types")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def types_(as_json: bool) -> None:
    """The analysis catalogue: every registered type with its input and cache TTL."""
    from aexy.settings import AexySettings

    registry = host().analysis_types()
    default_ttl = AexySettings().llm_cache_ttl
    rows: list[dict[str, Any]] = [
        {"name": name, "description": spec.description, "input": spec.input_description,
         "context_keys": dict(spec.context_keys), "version": spec.version,
         "ttl": spec.ttl if spec.ttl is not None else default_ttl,
         "distribution": registry.owners[name]}
        for name, spec in sorted(registry.items.items())
    ]
    if as_json:
        click.echo(_dumps(rows))
        return
    from rich.table import Table

    from aexy.cli.render import print_table

    table = Table(title=f"aexy analysis types ({len(rows)})", title_justify="left")
    table.add_column("type", no_wrap=True)
    table.add_column("what it gives", ratio=3)
    table.add_column("input", ratio=2)
    table.add_column("ttl (s)", justify="right")
    for r in rows:
        # The first clause of each text: the full texts are in --json and `aexy prompt TYPE`.
        table.add_row(r["name"], r["description"].split(":")[0].rstrip("."),
                      r["input"].split(" (")[0], str(r["ttl"]))
    print_table(get_console(), table)


@click.command()
@click.argument("analysis_type", metavar="TYPE")
@click.option("--sample", type=click.Path(exists=True, dir_okay=False, allow_dash=True),
              metavar="FILE", help="Render the user prompt for FILE instead of placeholders.")
@click.option("-c", "--context", "contexts", multiple=True, metavar="KEY=VALUE",
              help=CONTEXT_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def prompt(analysis_type: str, sample: str | None, contexts: tuple[str, ...],
           as_json: bool) -> None:
    """One type's system prompt, user prompt (rendered for a sample) and JSON schema.

    The prompt shown is the effective one: the first prompt source that has one for TYPE.
    """
    from aexy.analysis import AnalysisRequest
    from aexy.prompts import ordered_sources, render_prompt
    from aexy.settings import AexySettings

    h = host()
    spec = resolve_spec(h.analysis_types(), analysis_type)
    if sample is None:
        content = "{content}"
        context: dict[str, Any] = {key: "{" + key + "}" for key in spec.context_keys}
    else:
        content = read_text(sample, option=None)
        context = {"file_path": sample} if sample != "-" else {}
    context.update(parse_context(contexts, None))
    settings = AexySettings()
    request = AnalysisRequest.create(spec.name, content, context,
                                     max_content_chars=settings.max_content_chars)
    rendered = render_prompt(ordered_sources(h.prompt_sources().items.values()), spec,
                             request.content, request.context, settings)
    if as_json:
        click.echo(_dumps({"analysis_type": spec.name, "source": rendered.source,
                           "version": rendered.version, "system": rendered.system,
                           "user": rendered.user, "json_schema": spec.json_schema}))
        return
    from rich.rule import Rule
    from rich.syntax import Syntax
    from rich.text import Text

    console = get_console()
    console.print(Rule(f"system prompt · source {rendered.source} · version {rendered.version}",
                       align="left"))
    console.print(Text(rendered.system), soft_wrap=True)  # unwrapped: prompts get copied
    which = "placeholders" if sample is None else sample
    console.print(Rule(f"user prompt · rendered for {which}", align="left"))
    console.print(Text(rendered.user), soft_wrap=True)
    console.print(Rule(f"JSON schema · {spec.result_model.__name__}", align="left"))
    console.print(Syntax(_dumps(spec.json_schema), "json", theme="ansi_dark",
                         background_color="default"), soft_wrap=True)


# -- cache -----------------------------------------------------------------------------------------

@click.group()
def cache() -> None:
    """Inspect or clear the result cache (backend: AEXY_CACHE_BACKEND)."""


def _open_cache() -> tuple[Any, str]:
    """The configured :class:`~aexy.cache.TieredCache` (``None`` when caching is off) and why
    its backend was chosen. No provider is built: a misconfigured LLM_PROVIDER cannot stop
    anyone from inspecting or clearing the cache."""
    from aexy.assembly import build_cache, select_backend
    from aexy.settings import AexySettings
    from aexy.telemetry import Recorder

    settings = AexySettings()
    if not settings.llm_cache_enabled:
        return None, "LLM_CACHE_ENABLED=false"
    choice = select_backend(settings, host())
    return (build_cache(settings, host(), recorder=Recorder()),
            f"{choice.spec.name}: {choice.reason}")


@cache.command(name="stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def cache_stats(as_json: bool) -> None:
    """Entries, hits and misses of each cache tier, and which backend is active and why."""
    async def run() -> tuple[list[dict[str, Any]], str]:
        cache, why = _open_cache()
        if cache is None:
            return [], why
        try:
            tiers: list[dict[str, Any]] = await cache.stats()
        finally:
            await cache.aclose()
        tiers[-1]["selected"] = why
        return tiers, why

    tiers, why = run_async(run())
    if as_json:
        click.echo(_dumps(tiers))
        return
    if not tiers:
        click.echo("The cache is disabled (LLM_CACHE_ENABLED=false).")
        return
    from rich.table import Table

    from aexy.cli.render import print_table

    console = get_console()
    # One table per tier, a row per figure: the tiers' figures differ (a file's path and size,
    # Redis' memory), and side by side they would not fit a terminal.
    for tier in tiers:
        table = Table(title=f"{tier.get('backend', '?')} tier", title_justify="left",
                      show_header=False)
        table.add_column(style="cyan", no_wrap=True)
        table.add_column(overflow="fold")
        for k, v in tier.items():
            if k not in ("backend", "selected"):
                table.add_row(k, _figure(k, v))
        print_table(console, table)
    console.print(f"backend {why}")
    if [t.get("backend") for t in tiers] == ["memory"]:
        # The advice fits the installation: the built-in file, or a shared backend that is
        # installed but not chosen, or one to install.
        shared = [n for n in host().cache_backends().names() if n not in ("memory", "sqlite")]
        advice = (f"Set AEXY_CACHE_BACKEND={shared[0]} to share a cache between machines."
                  if shared else "Install aexy-redis (pip install aexy-redis) to share a cache "
                  "between machines.")
        console.print("The memory backend lives in one process: each aexy command starts "
                      "empty. Unset AEXY_CACHE_BACKEND for the built-in sqlite file. "
                      f"{advice}", style="dim")


def _figure(key: str, value: Any) -> str:
    """A figure for people: sizes in bytes also in KiB/MiB/GiB."""
    if key.endswith("bytes") and isinstance(value, int) and not isinstance(value, bool):
        size, unit = float(value), "B"
        for unit in ("B", "KiB", "MiB", "GiB"):
            if size < 1024 or unit == "GiB":
                break
            size /= 1024
        return f"{value:,}" if unit == "B" else f"{value:,} ({size:.1f} {unit})"
    return "" if value is None else str(value)


@cache.command(name="clear")
@click.option("--type", "analysis_type", metavar="TYPE", help="Clear one analysis type only.")
def cache_clear(analysis_type: str | None) -> None:
    """Delete cached results, all of them or those of one type."""
    if analysis_type is not None:
        analysis_type = resolve_spec(host().analysis_types(), analysis_type).name

    async def run() -> int:
        cache, _why = _open_cache()
        if cache is None:
            return 0
        try:
            return await cache.clear(analysis_type)  # type: ignore[no-any-return]
        finally:
            await cache.aclose()

    count = run_async(run())
    what = f"{analysis_type} results" if analysis_type else "cached results"
    click.echo(f"Deleted {count} {what}.")


# -- config ----------------------------------------------------------------------------------------

def _env_sources() -> tuple[set[str], set[str]]:
    """Upper-cased names set in the environment and in ``./.env``."""
    try:
        from dotenv import dotenv_values

        dotenv = {k.upper() for k in dotenv_values(".env")}
    except Exception:  # no python-dotenv, or an unreadable file: report environment only
        dotenv = set()
    return {k.upper() for k in os.environ}, dotenv


def _settings_rows(settings: BaseSettings) -> list[dict[str, Any]]:
    from pydantic import AliasChoices, SecretStr

    from aexy.redact import public_url

    environ, dotenv = _env_sources()
    prefix = str(type(settings).model_config.get("env_prefix") or "")
    rows = []
    for name, info in type(settings).model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            alias = alias.choices[0]
        env = alias if isinstance(alias, str) else f"{prefix}{name}".upper()
        value = getattr(settings, name)
        # SecretStr, or a plain str field whose name says it is a credential.
        secret = isinstance(value, SecretStr) or name.lower().endswith(
            ("key", "secret", "password", "token"))
        if secret:
            shown: Any = "not set" if value in (None, "") else SECRET_MASK
        elif isinstance(value, list | tuple):
            shown = ",".join(map(str, value))
        elif isinstance(value, str):
            shown = public_url(value, SECRET_MASK)  # user:pass@ in a URL
        else:
            shown = value
        source = ("environment" if env.upper() in environ else
                  ".env" if env.upper() in dotenv else "default")
        rows.append({"variable": env, "field": name, "value": shown, "secret": secret,
                     "from": source})
    return rows


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def config(as_json: bool) -> None:
    """The effective settings of the core, of each installed provider and of each cache
    backend, prompt source and post-processor with settings of its own (secrets masked)."""
    from aexy.cli._errors import error_message
    from aexy.settings import AexySettings

    sections: dict[str, Any] = {"core": _settings_rows(AexySettings())}
    titles: dict[str, str] = {"core": "core"}
    registry = host().providers()
    for name in registry.names():
        titles[name] = f"provider {name}"
        try:
            sections[name] = _settings_rows(registry.items[name].settings_class())
        except Exception as exc:
            sections[name] = {"error": error_message(exc)}
    # Other kinds with settings of their own; a section name with a colon cannot clash with a
    # provider's.
    kinds = (("cache", "cache backend", host().cache_backends()),
             ("prompts", "prompt source", host().prompt_sources()),
             ("postprocess", "post-processor", host().postprocessors()))
    for prefix, label, kind in kinds:
        for name in kind.names():
            settings_class = getattr(kind.items[name], "settings_class", None)
            if settings_class is None:
                continue  # configured by the core settings above
            section = f"{prefix}:{name}"
            titles[section] = f"{label} {name}"
            try:
                sections[section] = _settings_rows(settings_class())
            except Exception as exc:
                sections[section] = {"error": error_message(exc)}
    if as_json:
        click.echo(_dumps({section: rows if isinstance(rows, dict) else
                           {r["variable"]: r["value"] for r in rows}
                           for section, rows in sections.items()}))
        return
    from rich.table import Table

    from aexy.cli.render import cell, print_table

    console = get_console()
    for section, rows in sections.items():
        table = Table(title=titles[section], title_justify="left")
        table.add_column("variable")
        table.add_column("value", overflow="fold")
        table.add_column("from")
        if isinstance(rows, dict):
            table.add_row("", cell(rows["error"], "red"), "")
        else:
            for r in rows:
                table.add_row(r["variable"], cell(r["value"]), r["from"])
        print_table(console, table)


COMMANDS = (analyze, plugins, providers, types_, prompt, cache, config)
