"""``aexy profile``, ``aexy match`` and ``aexy predict``: the application layer
(:mod:`aexy.apps`) on the command line.

Exit status: 0 when the work is done (people and files skipped are listed with the reason; a
refusal, the provider saying it cannot answer from this data, is shown where the answer would
be); 1 on an error, or when an analysis failed for another reason, or when the command's
answer is missing (``match``: nobody ranked; ``predict``: nothing answered); 2 for a usage
error; 130 when interrupted (every report finished by then is kept).

Names, addresses and paths come from a repository's history, which anyone with commit access
writes: they are printed as text, never as markup, with control characters and escape
sequences shown as escapes (``\\x1b``); ``--json`` keeps them exact.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from aexy.apps.text import printable
from aexy.cli._batch_api import (
    BatchOptions,
    batch_api_options,
    cancel,
    job_name,
    progress_text,
)
from aexy.cli._jobs import Job, job_options
from aexy.cli._util import check_encoding, get_console, read_text, run_async

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from rich.console import Console, RenderableType
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID
    from rich.text import Text

    from aexy.apps import (
        Cost,
        Failure,
        GitHistory,
        MatchReport,
        Outcome,
        Population,
        Prediction,
        ProfileReport,
        TeamPrediction,
        TeamReport,
    )
    from aexy.batching import BatchProgress

__all__ = ["APP_COMMANDS", "match", "predict", "profile"]

T = TypeVar("T")

#: Exit status when interrupted (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130

_DATE = click.DateTime(formats=["%Y-%m-%d"])
_PROVIDER_HELP = "Provider to use (default: LLM_PROVIDER, or offline)."
_MODEL_HELP = "Model to use (default: the provider's configured model)."
#: Rows listed by name in each "not profiled" line before "and N more".
_LISTED = 5


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def _aliases(pairs: Iterable[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        alias, sep, canonical = pair.partition("=")
        if not sep or not alias.strip() or not canonical.strip():
            raise click.BadParameter(f"{pair!r} is not ALIAS_EMAIL=EMAIL",
                                     param_hint="'--alias'")
        out[alias.strip()] = canonical.strip()
    return out


def _patterns(values: Iterable[str]) -> tuple[str, ...]:
    out = []
    for value in values:
        try:
            re.compile(value)
        except re.error as exc:
            raise click.BadParameter(f"{value!r} is not a regular expression: {exc}",
                                     param_hint="'--bot'") from None
        out.append(value)
    return tuple(out)


class _Bar:
    """:class:`aexy.apps.Progress` drawn as one rich progress bar on stderr."""

    def __init__(self, progress: RichProgress, task: TaskID) -> None:
        self.progress, self.task, self.total = progress, task, 0
        self._waiting_said = False

    def planned(self, steps: int) -> None:
        self.total += steps
        self.progress.update(self.task, total=self.total)

    def advanced(self, label: str) -> None:
        self.progress.update(self.task, advance=1, step=printable(label))

    def batch(self, p: BatchProgress) -> None:
        """Where a ``--batch-api`` job is; in a log, one line when it starts to wait."""
        self.progress.update(self.task, step=progress_text(p))
        console = self.progress.console
        if (self.progress.disable and p.phase == "waiting" and p.processing
                and not self._waiting_said):
            self._waiting_said = True
            console.print(f"{progress_text(p)}; waiting for the provider (an interrupted run "
                          "resumes the batches)", style="dim", soft_wrap=True)


def _with_progress(title: str, work: Callable[[_Bar], Coroutine[Any, Any, T]]) -> T:
    """Run ``work`` under a progress bar (a spinner until the steps are known)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    console = get_console(stderr=True)
    # Drawn for a person at a terminal only: in a log, a pipe or a recording, a bar is noise.
    progress = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                        MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.fields[step]}", markup=False, style="dim"),
                        console=console, transient=True, disable=not console.is_interactive)
    task = progress.add_task(title, total=None, step="")
    with progress:
        return run_async(work(_Bar(progress, task)))


def _interrupted(message: str) -> SystemExit:
    click.echo(f"Interrupted: {message}", err=True)
    return SystemExit(EXIT_INTERRUPTED)


# -- text and tables -------------------------------------------------------------------------------
def _text(value: str, style: str = "") -> Text:
    """Text from data (a name, a path, a message): never markup, control characters shown."""
    from rich.text import Text

    return Text(printable(value), style=style)


def _clean(value: Any) -> Any:
    """Every string in ``value`` made printable (for a panel of a result's fields)."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _line(console: Console, text: str, style: str = "") -> None:
    """One line of data; in a pipe or a file it stays one line (never wrapped at 80)."""
    console.print(_text(text, style=style), soft_wrap=not console.is_terminal)


#: A table cell: one line of text, or several (a tuple).
Cell = str | tuple[str, ...]


def _print_table(console: Console, title: str, columns: Sequence[tuple[str, str]],
                 rows: Sequence[Sequence[Cell]]) -> None:
    """A table of data (names and paths printed as text, never markup) that never loses a
    column: :func:`aexy.cli.render.print_table` prints it, wrapped to a terminal, one line per
    row in a pipe or a file. Right-aligned columns hold numbers and dates and never wrap."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from aexy.cli.render import print_table

    table = Table(title=_text(title), title_justify="left", box=box.SIMPLE_HEAD)
    for name, justify in columns:
        table.add_column(name, justify=justify,  # type: ignore[arg-type]
                         overflow="fold", no_wrap=justify == "right")
    for row in rows:
        table.add_row(*(Text("\n").join(_text(x) for x in cell) if isinstance(cell, tuple)
                        else _text(cell) for cell in row))
    print_table(console, table)


def _cost_line(cost: Cost) -> str:
    tokens = f"{cost.input_tokens}+{cost.output_tokens} tokens"
    if cost.tokens_estimated:
        tokens = f"~{tokens} (est.)"
    by = ", ".join(cost.answered_by) or "no provider answered"
    return (f"{cost.analyses} analyses ({by}) · {cost.provider_calls} provider calls · "
            f"{cost.cache_hits} cache hits · {tokens} · {cost.latency_ms:.0f} ms summed"
            + (f" · {cost.failed} failed" if cost.failed else ""))


def _outcome_panel(title: str, outcome: Outcome[Any]) -> RenderableType:
    """The result's panel, or the failure where the result would be."""
    from rich.markup import escape
    from rich.panel import Panel
    from rich.text import Text

    from aexy.cli.render import result_panel

    safe_title = escape(printable(title))
    if outcome.result is not None:
        schema = outcome.result.model_json_schema()
        return result_panel(safe_title, _clean(outcome.result.model_dump(mode="json")), schema,
                            outcome.provenance)
    failure = outcome.failure
    assert failure is not None
    verdict = "refused" if failure.refused else "failed"
    style = "yellow" if failure.refused else "red"
    where = f" by {escape(failure.provider)}" if failure.provider else ""
    return Panel(Text(printable(f"[{failure.code}] {failure.message}")),
                 title=f"[{style}]{verdict}{where}[/] · [bold]{safe_title}[/]",
                 title_align="left", border_style=style)


def _broken(failures: Iterable[Failure | None]) -> bool:
    """An analysis failed for a reason other than a refusal."""
    return any(f is not None and not f.refused for f in failures)


def _report_broken(reports: Iterable[ProfileReport]) -> bool:
    return _broken(f for r in reports
                   for f in (r.profile.failure, *(x for s in r.samples
                                                  for x in s.failures.values())))


def _share(value: float | None) -> str:
    return "not measured" if value is None else f"{value * 100:.0f}%"


def _more(items: Sequence[str], total: int | None = None) -> str:
    total = len(items) if total is None else total
    shown = "; ".join(items[:_LISTED])
    return shown + (f"; and {total - _LISTED} more" if total > _LISTED else "")


# -- profile ---------------------------------------------------------------------------------------
def _code_languages(report: ProfileReport, limit: int = 3) -> list[str]:
    from aexy.catalogue.activity import DOC_LANGUAGES

    if report.profile.result is not None and report.profile.result.primary_languages:
        return report.profile.result.primary_languages[:limit]
    code = [lang for lang in report.figures.lines_by_language if lang not in DOC_LANGUAGES]
    docs = [lang for lang in report.figures.lines_by_language if lang in DOC_LANGUAGES]
    return code[:limit] or ([f"docs: {', '.join(docs[:limit])}"] if docs else [])


def _print_report(console: Console, report: ProfileReport, status: str | None) -> None:
    from rich.panel import Panel
    from rich.table import Table

    f = report.figures
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="cyan", no_wrap=True)
    grid.add_column(overflow="fold")
    languages = ", ".join(f"{lang} {n:,}" for lang, n in list(f.lines_by_language.items())[:6])
    rows = [
        ("window", f"{report.window_start} .. {report.window_end} "
                   f"({len(report.activity.periods)} weeks with commits)"
         if report.activity.period == "week" else
         f"{report.window_start} .. {report.window_end} "
         f"({len(report.activity.periods)} periods with commits)"),
        ("emails", ", ".join(report.emails)),
        ("commits", f"{f.commits} on {f.active_days} days "
                    f"({f.first_commit:%Y-%m-%d} .. {f.last_commit:%Y-%m-%d})"),
        ("lines", f"+{f.lines_added:,} -{f.lines_deleted:,} in {f.files_touched:,} files"),
        ("by language", languages or "no known language"),
        ("areas", ", ".join(a.path for a in report.areas[:5]) or "none at the revision"),
        ("after hours", f"{_share(f.after_hours_share)} of commits (weekdays outside "
                        "08:00-19:00, author's time zone)"),
        ("weekends", f"{_share(f.weekend_share)} of commits"),
    ]
    if status is not None:
        rows.insert(0, ("status", status))
    for label, value in rows:
        grid.add_row(label, _text(value))
    title = _text(f"{report.name} <{report.developer_id}>", style="bold")
    title.append(" · activity from git", style="")
    console.print(Panel(grid, title=title, title_align="left"))
    console.print(_outcome_panel(f"developer_profile · {report.developer_id}", report.profile))
    if report.samples:
        rows_: list[list[Cell]] = []
        for s in report.samples:
            found = ", ".join(s.skills)
            if s.failures:
                found += " ".join(f" [{k}: {v.code}]" for k, v in s.failures.items())
            if s.code_quality is not None:
                found += f" · quality {s.code_quality.score}/10"
            rows_.append([s.path + (" (cut)" if s.truncated else ""), s.commit[:10],
                          f"{s.lines_changed:,}", found])
        _print_table(console, "code samples (the files the author changed most)",
                     [("file", "left"), ("commit", "right"), ("lines", "right"),
                      ("skills found", "left")], rows_)
    else:
        console.print("No code sample: none of the files this author changed is code aexy "
                      "can read.", style="yellow")
    if report.skipped_files:
        skipped = [f"{s.path} ({s.reason})" for s in report.skipped_files]
        _line(console, f"skipped: {_more(skipped)}", style="dim")
    _line(console, _cost_line(report.cost), style="dim")


def _team_rows(reports: Sequence[ProfileReport], recent: Mapping[str, int], terminal: bool
               ) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    for r in reports:
        refused = r.profile.failure is not None
        rows.append([
            # On a terminal the address goes under the name, where a narrow column keeps it
            # whole; in a pipe, one line per person.
            (r.name, r.developer_id) if terminal else f"{r.name} <{r.developer_id}>",
            str(recent.get(r.developer_id, "")),
            str(r.figures.commits),
            (", ".join(_code_languages(r)) or "-") + (" (no profile)" if refused else ""),
            ", ".join(a.path for a in r.areas[:3]) or "-",
            f"{r.figures.last_commit:%Y-%m-%d}"])
    return rows


def _print_team(console: Console, team: TeamReport, written: int, output_dir: str | None
                ) -> None:
    pop = team.population
    recent = {p.developer_id: p.recent_commits for p in pop.active + pop.inactive}
    active_ids = {p.developer_id for p in pop.active}
    members = [r for r in team.reports if r.developer_id in active_ids]
    others = [r for r in team.reports if r.developer_id not in active_ids]
    days = pop.active_days
    columns = [("person", "left"), (f"{days} d", "right"), ("all", "right"),
               ("languages", "left"), ("areas", "left"), ("last commit", "right")]
    since = max(pop.active_since, team.window_start)
    terminal = console.is_terminal
    _print_table(console, f"active team: {len(pop.active)} people with commits from "
                          f"{since} to {pop.as_of}", columns,
                 _team_rows(members, recent, terminal))
    if others:
        _print_table(console, f"also profiled (inactive): {len(others)} people", columns,
                     _team_rows(others, recent, terminal))
    lines: list[tuple[str, str]] = []
    if pop.bots:
        lines.append(("yellow", f"not profiled, {len(pop.bots)} bots (--include-bots): "
                      + _more([f"{p.name} <{p.developer_id}> ({p.commits} commits)"
                               for p in pop.bots])))
    inactive = [p for p in pop.inactive if p.developer_id not in {r.developer_id
                                                                  for r in others}]
    if inactive:
        lines.append(("yellow", f"not profiled, {len(inactive)} inactive people, no commit "
                      f"since {pop.active_since} (--include-inactive): "
                      + _more([f"{p.name} <{p.developer_id}> inactive since {p.last_commit}"
                               for p in inactive])))
    if pop.departures:
        lines.append(("", f"left in the {days} days before: " + _more(pop.departures)))
    if pop.suggested_aliases:
        lines.append(("", "possibly one person (merge with --alias or .mailmap): "
                      + _more([f"{', '.join(s.developer_ids)} ({s.reason})"
                               for s in pop.suggested_aliases])))
    for r in team.reports:
        failure = r.profile.failure
        if failure is not None:
            verdict = "no profile (refused)" if failure.refused else "failed"
            lines.append(("yellow" if failure.refused else "red",
                          f"{verdict} {r.developer_id}: [{failure.code}] {_reason(failure)}"))
    for style, line in lines:
        _line(console, line, style=style)
    if output_dir is not None:
        _line(console, f"reports: {output_dir}/ ({written} written, "
                            f"{len(team.reused)} unchanged and reused)", style="dim")
    _line(console, _cost_line(team.cost), style="dim")


def _status_of(population: Population, history: GitHistory, key: str) -> str:
    return population.reason(history.authors[key])


@click.command()
@click.argument("repo", type=click.Path(exists=True, file_okay=False))
@click.option("-a", "--author", "authors", multiple=True, metavar="EMAIL",
              help="An author's email (an alias or name works too); repeatable.")
@click.option("--all", "all_authors", is_flag=True,
              help="The team: everyone active (see --active-days); bots and inactive people "
                   "are listed, not profiled.")
@click.option("--since", type=_DATE, metavar="YYYY-MM-DD", help="First day to read.")
@click.option("--until", type=_DATE, metavar="YYYY-MM-DD", help="Last day to read.")
@click.option("--period", type=click.Choice(["week", "month"]), default="week",
              show_default=True, help="Length of the activity periods.")
@click.option("--alias", "aliases", multiple=True, metavar="ALIAS=EMAIL",
              help="Count ALIAS's commits as EMAIL's (on top of .mailmap); repeatable.")
@click.option("--active-days", default=180, show_default=True, type=click.IntRange(1, 36_500),
              help="Active: a commit in this many days up to the last commit.")
@click.option("--include-inactive", is_flag=True, help="With --all: profile inactive people "
                                                       "too.")
@click.option("--include-bots", is_flag=True, help="Count bots as people.")
@click.option("--bot", "bots", multiple=True, metavar="REGEX",
              help="Also a bot: a name or address this matches; repeatable.")
@click.option("--samples", default=8, show_default=True, type=click.IntRange(0, 100),
              help="Code samples per author.")
@click.option("--sample-chars", default=12_000, show_default=True,
              type=click.IntRange(200, 200_000), help="Characters per sample (cut at a line).")
@click.option("--quality", is_flag=True, help="Also run code_quality on every sample.")
@click.option("--series", is_flag=True,
              help="Put every week in the reports, quiet ones too (default: weeks with "
                   "commits).")
@click.option("-j", "--concurrency", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Analyses in flight at once.")
@click.option("-o", "--output-dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Write each report to DIR as soon as it is done (for aexy match "
                   "--profiles DIR); a rerun reuses the reports whose inputs did not change.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False), metavar="FILE.md",
              help="Also write the overview and every profile as one Markdown document.")
@click.option("-p", "--provider", help=_PROVIDER_HELP)
@click.option("-m", "--model", help=_MODEL_HELP)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: the team report with --all, else the profile report (a list "
                   "for several --author).")
@job_options()
@batch_api_options()
def profile(repo: str, authors: tuple[str, ...], all_authors: bool, since: datetime | None,
            until: datetime | None, period: str, aliases: tuple[str, ...], active_days: int,
            include_inactive: bool, include_bots: bool, bots: tuple[str, ...], samples: int,
            sample_chars: int, quality: bool, series: bool, concurrency: int,
            output_dir: str | None, report_file: str | None, provider: str | None,
            model: str | None, no_cache: bool, as_json: bool) -> None:
    """Profile authors of the git repository REPO from their commits.

    Reads the history (git must be installed), picks code samples from the files each author
    changed most, runs skill_extraction on them (and code_quality with --quality), then
    developer_profile over the activity, the code areas and the samples' findings. --all
    profiles the active team and ends with a table of it.

    With --batch-api, the analyses the cache does not hold go through the provider's batch
    API at half the price: the samples' analyses of everyone as one batch, then every
    developer_profile as the next; an interrupted run resumes them.

    \b
    Examples:
      aexy profile . --author alice@example.com
      aexy profile ~/src/shop --all -o profiles/ --report team.md
      aexy profile ~/src/shop --all -p claude --batch-api -o profiles/
      aexy profile . -a bob@example.com --alias bob@old.example.org=bob@example.com --json
    """
    from aexy.apps import PopulationRules
    from aexy.apps.population import BOT_PATTERNS

    if all_authors == bool(authors):
        raise click.UsageError("give --author EMAIL (repeatable) or --all; "
                               "`git shortlog -sne` lists the authors")
    if include_inactive and not all_authors:
        raise click.UsageError("--include-inactive goes with --all (--author profiles anyone)")
    alias_map = _aliases(aliases)
    rules = PopulationRules(active_days=active_days, bot_patterns=BOT_PATTERNS + _patterns(bots),
                            include_bots=include_bots, include_inactive=include_inactive)
    written: list[str] = []
    seen: dict[str, Any] = {}
    job = Job(provider, model)
    options = BatchOptions.current()
    name = job_name("profile", str(Path(repo).resolve()), sorted(authors) or "all", since,
                    until, period, sorted(alias_map.items()), provider, model, samples,
                    sample_chars, quality)

    def on_report(report: ProfileReport, reused: bool) -> None:
        if not reused:
            written.append(report.developer_id)

    async def work(bar: _Bar) -> TeamReport | list[ProfileReport]:
        import asyncio

        from aexy.apps import ProfileAnalyzer, ReportStore, population_of, read_history

        # git reads the history in its own process while the gateway is set up here.
        reading = asyncio.ensure_future(asyncio.to_thread(
            read_history, repo, since=_day(since), until=_day(until),
            period=period, aliases=alias_map))  # type: ignore[arg-type]
        await asyncio.sleep(0)
        # A dry run's reports are stand-ins: nothing is written.
        store = ReportStore(output_dir) if output_dir is not None and not job.dry_run else None
        try:
            async with job.gateway() as gateway:
                batch = (options.job(gateway, name, lambda p: bar.batch(p))
                         if options.batch_api else None)
                if batch is not None and options.cancel:
                    reading.cancel()
                    await cancel(batch)
                    return []
                history = await reading
                seen["history"] = history
                seen["population"] = population_of(history, rules)
                analyzer = ProfileAnalyzer(gateway, max_samples=samples,
                                           max_sample_chars=sample_chars,
                                           concurrency=concurrency, code_quality=quality,
                                           use_cache=not no_cache, series=series, batch=batch)
                if all_authors:
                    return await analyzer.analyze_team(repo, history=history, rules=rules,
                                                       progress=bar, sink=store,
                                                       on_report=on_report)
                reports = await analyzer.analyze_repository(
                    repo, list(authors), history=history, progress=bar, rules=rules)
        except BaseException:
            reading.cancel()  # a no-op once the history is read
            raise
        for r in reports:
            if store is not None:
                store.save(r)
            on_report(r, False)
        return reports

    try:
        result = _with_progress("profile", work)
    except KeyboardInterrupt:
        where = f" to {output_dir}/" if output_dir else ""
        hint = ("; run the same command again to go on from there" if output_dir else
                "; with -o DIR, finished reports are kept and a rerun goes on from there")
        if options.batch_api:
            hint = ("; the submitted batches are recorded: the same command resumes them "
                    "(nothing is paid twice), or cancels them with --cancel")
        raise _interrupted(f"{len(written)} reports finished{where}{hint}") from None
    if options.cancel:
        return
    if job.dry_run:
        job.print_plan(as_json)
        return
    reports = result.reports if not isinstance(result, list) else result
    if report_file is not None:
        from aexy.apps.markdown import profiles_markdown

        population = seen["population"]
        Path(report_file).write_text(
            profiles_markdown(reports, population.summary(), str(repo)), encoding="utf-8")
    if as_json:
        if not isinstance(result, list):
            click.echo(result.model_dump_json(indent=2))
        elif len(result) == 1:
            click.echo(result[0].model_dump_json(indent=2))
        else:
            click.echo("[\n" + ",\n".join(r.model_dump_json(indent=2) for r in result) + "\n]")
    else:
        console = get_console()
        if not isinstance(result, list):
            _print_team(console, result, len(written), output_dir)
        else:
            for r in result:
                _print_report(console, r, _status_of(seen["population"], seen["history"],
                                                     r.developer_id))
            if output_dir is not None:
                _line(console, f"reports: {output_dir}/", style="dim")
        if report_file is not None:
            _line(console, f"report: {report_file}", style="dim")
        job.print_footer()  # for people: --json output is for programs, whole on stdout
    if _report_broken(reports):
        raise SystemExit(1)


# -- match -----------------------------------------------------------------------------------------
def _print_match(console: Console, report: MatchReport) -> None:
    console.print(_outcome_panel(f"task_signals · {report.task}", report.signals))
    rows: list[list[Cell]] = []
    for r in report.ranking:
        m = r.match
        fit = (f"has {', '.join(m.strengths)}" if m.strengths else "",
               f"misses {', '.join(m.gaps)}" if m.gaps else "")
        rows.append([str(r.rank), r.developer_id, str(r.score), str(m.overall_score),
                     r.explanation.partition(": ")[2] or r.explanation,
                     tuple(x for x in fit if x)])
    _print_table(console, f"developers for: {report.task}",
                 [("#", "right"), ("developer", "left"), ("score", "right"), ("fit", "right"),
                  ("why", "left"), ("has / misses", "left")], rows)
    refused = [u for u in report.unmatched if u.failure.refused]
    for u in (u for u in report.unmatched if not u.failure.refused):
        _line(console, f"failed {u.developer_id}: [{u.failure.code}] "
                            f"{u.failure.message}", style="red")
    by_reason: dict[str, list[str]] = {}
    for u in refused:
        by_reason.setdefault(_reason(u.failure), []).append(u.developer_id)
    for reason, ids in by_reason.items():
        _line(console, f"not ranked, {len(ids)} refused: {_more(ids)}: {reason}",
                            style="yellow")
    _line(console, _cost_line(report.cost), style="dim")


def _reason(failure: Failure) -> str:
    """A refusal's message without the list of providers that could answer instead."""
    return failure.message.split("; a model provider can answer it")[0]


@click.command()
@click.argument("task_file", metavar="TASK_FILE|-",
                type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--profiles", "profile_paths", multiple=True, required=True,
              type=click.Path(exists=True), metavar="DIR_OR_FILE",
              help="Profile reports (aexy profile --json / -o DIR) or developer_profile results; "
                   "a directory means its *.json files; repeatable.")
@click.option("-l", "--label", "labels", multiple=True, help="A label of the task; repeatable.")
@click.option("--top", default=0, type=click.IntRange(0), metavar="N",
              help="Show the first N developers only (default: all).")
@click.option("-j", "--concurrency", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Analyses in flight at once.")
@click.option("-p", "--provider", help=_PROVIDER_HELP)
@click.option("-m", "--model", help=_MODEL_HELP)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")
@click.option("--encoding", default="utf-8", show_default=True, callback=check_encoding,
              help="Text encoding of TASK_FILE.")
@click.option("--json", "as_json", is_flag=True, help="Print the ranking as JSON.")
@job_options()
def match(task_file: str, profile_paths: tuple[str, ...], labels: tuple[str, ...], top: int,
          concurrency: int, provider: str | None, model: str | None, no_cache: bool,
          encoding: str, as_json: bool) -> None:
    """Rank developers for the task in TASK_FILE (or stdin), best first.

    Runs task_signals on the task once (it names the code areas the task is about), then
    task_matching for every profile, and ranks by the match, the developer's share of the
    recent work in those areas, and how recently they committed; each rank is explained in
    one line. Exits 1 when no developer could be ranked.

    \b
    Examples:
      aexy profile . --all -o profiles/ && aexy match task.md --profiles profiles/
      aexy match task.md --profiles alice.json --profiles bob.json --json
    """
    from aexy.apps import load_profiles

    task = read_text(task_file, encoding)
    candidates = load_profiles(profile_paths)
    job = Job(provider, model)

    async def work(bar: _Bar) -> MatchReport:
        from aexy.apps import TaskMatcher

        async with job.gateway() as gateway:
            matcher = TaskMatcher(gateway, concurrency=concurrency, use_cache=not no_cache)
            return await matcher.match(task, candidates, labels=list(labels), progress=bar)

    try:
        report = _with_progress("match", work)
    except KeyboardInterrupt:
        raise _interrupted("nothing was ranked") from None
    if job.dry_run:
        job.print_plan(as_json)
        return
    if top:
        report = report.model_copy(update={"ranking": report.ranking[:top]})
    if as_json:
        click.echo(report.model_dump_json(indent=2))
    else:
        _print_match(get_console(), report)
        job.print_footer()
    if not report.ranking or _broken([report.signals.failure,
                                      *(u.failure for u in report.unmatched)]):
        raise SystemExit(1)


# -- predict ---------------------------------------------------------------------------------------
def _print_prediction(console: Console, p: Prediction | TeamPrediction) -> None:
    from aexy.apps import Prediction

    if isinstance(p, Prediction):
        who = p.developer_id
        if p.status_reason is not None:
            _line(console, f"{who}: {p.status_reason}",
                                style="" if p.status == "active" else "yellow")
        for outcome in p.outcomes:
            console.print(_outcome_panel(f"{outcome.analysis_type} · {who}", outcome))
    else:
        console.print(_outcome_panel(f"team_health · {p.team or p.source or 'team'}", p.health))
        m = p.metrics
        if m.departures:
            _line(console, f"left: {_more(m.departures)}", style="dim")
    _line(console, _cost_line(p.cost), style="dim")


@click.command()
@click.argument("activity_file", required=False, metavar="[ACTIVITY.json]",
                type=click.Path(exists=True, dir_okay=False))
@click.option("--repo", type=click.Path(exists=True, file_okay=False),
              help="Read the activity from this git repository instead of a file.")
@click.option("-a", "--author", metavar="EMAIL", help="With --repo: the author to assess.")
@click.option("--team", is_flag=True, help="With --repo: team_health of the active team.")
@click.option("--since", type=_DATE, metavar="YYYY-MM-DD", help="With --repo: first day.")
@click.option("--until", type=_DATE, metavar="YYYY-MM-DD", help="With --repo: last day.")
@click.option("--period", type=click.Choice(["week", "month"]), default="week",
              show_default=True, help="With --repo: length of the activity periods.")
@click.option("--alias", "aliases", multiple=True, metavar="ALIAS=EMAIL",
              help="With --repo: count ALIAS's commits as EMAIL's; repeatable.")
@click.option("--active-days", default=180, show_default=True, type=click.IntRange(1, 36_500),
              help="With --repo: active means a commit in this many days up to the last one.")
@click.option("--include-bots", is_flag=True, help="With --repo: count bots as people.")
@click.option("--bot", "bots", multiple=True, metavar="REGEX",
              help="With --repo: also a bot, a name or address this matches; repeatable.")
@click.option("--horizon", type=click.IntRange(1, 60), metavar="MONTHS",
              help="Forecast horizon of the performance trajectory (default 6).")
@click.option("-p", "--provider", help=_PROVIDER_HELP)
@click.option("-m", "--model", help=_MODEL_HELP)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")
@click.option("--json", "as_json", is_flag=True, help="Print the predictions as JSON.")
@job_options()
def predict(activity_file: str | None, repo: str | None, author: str | None, team: bool,
            since: datetime | None, until: datetime | None, period: str,
            aliases: tuple[str, ...], active_days: int, include_bots: bool,
            bots: tuple[str, ...], horizon: int | None, provider: str | None,
            model: str | None, no_cache: bool, as_json: bool) -> None:
    """Attrition risk, burnout risk and performance trajectory of a developer, or the health of
    a team, from activity data.

    ACTIVITY.json is DeveloperActivity (the three developer analyses), TeamMetrics
    (team_health) or a profile report (its activity); or read git with --repo and --author
    (or --team: the active team). No verdict is made for someone no longer active. An
    analysis the provider cannot answer from the data is shown as refused; the exit status is
    1 only when none answered or one failed for another reason.

    \b
    Examples:
      aexy predict activity.json
      aexy predict --repo . --author alice@example.com --since 2024-01-01
      aexy predict --repo . --team
    """
    from aexy.apps import PopulationRules
    from aexy.apps.population import BOT_PATTERNS

    if (activity_file is None) == (repo is None):
        raise click.UsageError("give ACTIVITY.json, or --repo REPO with --author EMAIL or "
                               "--team")
    if repo is not None and (author is None) == (not team):
        raise click.UsageError("with --repo, give --author EMAIL or --team (one of them)")
    if repo is None and (author or team or aliases or since or until or bots):
        raise click.UsageError("--author, --team, --alias, --bot, --since and --until go "
                               "with --repo")
    alias_map = _aliases(aliases)
    rules = PopulationRules(active_days=active_days, bot_patterns=BOT_PATTERNS + _patterns(bots),
                            include_bots=include_bots)
    team_name = Path(repo).resolve().name if repo is not None else None
    job = Job(provider, model)

    async def work(bar: _Bar) -> Prediction | TeamPrediction:
        from aexy.apps import PredictiveAnalyzer, load_activity
        from aexy.catalogue.activity import TeamMetrics

        async with job.gateway() as gateway:
            analyzer = PredictiveAnalyzer(gateway, horizon_months=horizon,
                                          use_cache=not no_cache)
            if repo is not None and team:
                return await analyzer.team_health_from_git(
                    repo, team=team_name, since=_day(since),
                    until=_day(until), aliases=alias_map, progress=bar, rules=rules)
            if repo is not None:
                assert author is not None
                return await analyzer.predict_from_git(
                    repo, author, since=_day(since), until=_day(until),
                    period=period, aliases=alias_map, progress=bar,  # type: ignore[arg-type]
                    rules=rules)
            assert activity_file is not None
            data = load_activity(activity_file)
            if isinstance(data, TeamMetrics):
                return await analyzer.team_health(data, source=activity_file, progress=bar)
            return await analyzer.predict(data, source=activity_file, progress=bar)

    try:
        result = _with_progress("predict", work)
    except KeyboardInterrupt:
        raise _interrupted("no prediction was made") from None
    if job.dry_run:
        job.print_plan(as_json)
        return
    if as_json:
        click.echo(result.model_dump_json(indent=2))
    else:
        _print_prediction(get_console(), result)
        job.print_footer()
    # Someone no longer active gets no verdict: that is the answer, not a failure.
    settled = getattr(result, "status", None) in ("inactive", "bot")
    if (not any(o.ok for o in result.outcomes) and not settled) or _broken(
            o.failure for o in result.outcomes):
        raise SystemExit(1)


APP_COMMANDS: Sequence[click.Command] = (profile, match, predict)
