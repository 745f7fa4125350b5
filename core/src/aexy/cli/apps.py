"""``aexy profile``, ``aexy match`` and ``aexy predict``: the application layer
(:mod:`aexy.apps`) on the command line.

Exit status, as for ``analyze``: 0 when the command's answer is there, 1 when it is not (an
error, a missing profile, no developer ranked, no prediction answered) or when an analysis
failed for a reason other than a refusal, 2 for a usage error. A refusal (``unsupported``: the
provider cannot answer from this data) is shown where the answer would be.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from aexy.cli._jobs import Job, job_options
from aexy.cli._util import check_encoding, get_console, read_text, run_async

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from rich.console import Console, RenderableType
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

    from aexy.apps import (
        Cost,
        Failure,
        MatchReport,
        Outcome,
        Prediction,
        ProfileReport,
        TeamPrediction,
    )

__all__ = ["APP_COMMANDS", "match", "predict", "profile"]

T = TypeVar("T")

_DATE = click.DateTime(formats=["%Y-%m-%d"])
_PROVIDER_HELP = "Provider to use (default: LLM_PROVIDER, or offline)."
_MODEL_HELP = "Model to use (default: the provider's configured model)."


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


class _Bar:
    """:class:`aexy.apps.Progress` drawn as one rich progress bar on stderr."""

    def __init__(self, progress: RichProgress, task: TaskID) -> None:
        self.progress, self.task, self.total = progress, task, 0

    def planned(self, steps: int) -> None:
        self.total += steps
        self.progress.update(self.task, total=self.total)

    def advanced(self, label: str) -> None:
        self.progress.update(self.task, advance=1, step=label)


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
    # Drawn on a terminal only: in a log or a pipe, a bar is noise.
    progress = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                        MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("[dim]{task.fields[step]}"),
                        console=console, transient=True, disable=not console.is_terminal)
    task = progress.add_task(title, total=None, step="")
    with progress:
        return run_async(work(_Bar(progress, task)))


# -- shared rendering ------------------------------------------------------------------------------
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
    from rich.panel import Panel
    from rich.text import Text

    from aexy.cli.render import result_panel

    if outcome.result is not None:
        schema = outcome.result.model_json_schema()
        return result_panel(title, outcome.result.model_dump(mode="json"), schema,
                            outcome.provenance)
    failure = outcome.failure
    assert failure is not None
    verdict = "refused" if failure.refused else "failed"
    style = "yellow" if failure.refused else "red"
    where = f" by {failure.provider}" if failure.provider else ""
    return Panel(Text(f"[{failure.code}] {failure.message}"),
                 title=f"[{style}]{verdict}{where}[/] · [bold]{title}[/]", title_align="left",
                 border_style=style)


def _broken(failures: Iterable[Failure | None]) -> bool:
    """An analysis failed for a reason other than a refusal."""
    return any(f is not None and not f.refused for f in failures)


def _share(value: float | None) -> str:
    return "not measured" if value is None else f"{value * 100:.0f}%"


# -- profile ---------------------------------------------------------------------------------------
def _file_name(developer_id: str) -> str:
    return re.sub(r"[^\w@.+-]", "_", developer_id) + ".json"


def _print_report(console: Console, report: ProfileReport) -> None:
    from rich.panel import Panel
    from rich.table import Table

    f = report.figures
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="cyan", no_wrap=True)
    grid.add_column(overflow="fold")
    languages = ", ".join(f"{lang} {n:,}" for lang, n in list(f.lines_by_language.items())[:6])
    rows = [
        ("window", f"{report.window_start} .. {report.window_end} "
                   f"({len(report.activity.periods)} periods)"),
        ("emails", ", ".join(report.emails)),
        ("commits", f"{f.commits} on {f.active_days} days "
                    f"({f.first_commit:%Y-%m-%d} .. {f.last_commit:%Y-%m-%d})"),
        ("lines", f"+{f.lines_added:,} -{f.lines_deleted:,} in {f.files_touched:,} files"),
        ("by language", languages or "no known language"),
        ("after hours", f"{_share(f.after_hours_share)} of commits (weekdays outside "
                        "08:00-19:00, author's time zone)"),
        ("weekends", f"{_share(f.weekend_share)} of commits"),
    ]
    for label, value in rows:
        grid.add_row(label, value)
    console.print(Panel(grid, title=f"[bold]{report.name}[/] <{report.developer_id}> · activity "
                                    f"from git", title_align="left"))
    console.print(_outcome_panel(f"developer_profile · {report.developer_id}", report.profile))
    if report.samples:
        table = Table(title="code samples (the files the author changed most)",
                      title_justify="left")
        table.add_column("file", overflow="fold")
        table.add_column("commit")
        table.add_column("lines", justify="right")
        table.add_column("skills found")
        for s in report.samples:
            found = ", ".join(s.skills) or ""
            if s.failures:
                found += " ".join(f"[yellow][{k}: {v.code}][/]" for k, v in s.failures.items())
            if s.code_quality is not None:
                found += f" · quality {s.code_quality.score}/10"
            table.add_row(s.path + (" (cut)" if s.truncated else ""), s.commit[:10],
                          f"{s.lines_changed:,}", found)
        console.print(table)
    else:
        console.print("No code sample: none of the files this author changed is code aexy "
                      "can read.", style="yellow")
    if report.skipped_files:
        skipped = "; ".join(f"{s.path} ({s.reason})" for s in report.skipped_files[:5])
        more = len(report.skipped_files) - 5
        console.print(f"skipped: {skipped}" + (f"; and {more} more" if more > 0 else ""),
                      style="dim")
    console.print(_cost_line(report.cost), style="dim")


@click.command()
@click.argument("repo", type=click.Path(exists=True, file_okay=False))
@click.option("-a", "--author", "authors", multiple=True, metavar="EMAIL",
              help="An author's email (an alias or name works too); repeatable.")
@click.option("--all", "all_authors", is_flag=True, help="Every author of the window.")
@click.option("--since", type=_DATE, metavar="YYYY-MM-DD", help="First day to read.")
@click.option("--until", type=_DATE, metavar="YYYY-MM-DD", help="Last day to read.")
@click.option("--period", type=click.Choice(["week", "month"]), default="week",
              show_default=True, help="Length of the activity periods.")
@click.option("--alias", "aliases", multiple=True, metavar="ALIAS=EMAIL",
              help="Count ALIAS's commits as EMAIL's (on top of .mailmap); repeatable.")
@click.option("--samples", default=8, show_default=True, type=click.IntRange(0, 100),
              help="Code samples per author.")
@click.option("--sample-chars", default=12_000, show_default=True,
              type=click.IntRange(200, 200_000), help="Characters per sample (cut at a line).")
@click.option("--quality", is_flag=True, help="Also run code_quality on every sample.")
@click.option("-j", "--concurrency", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Analyses in flight at once.")
@click.option("-o", "--output-dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Also write each report to DIR/<email>.json (for aexy match --profiles DIR).")
@click.option("-p", "--provider", help=_PROVIDER_HELP)
@click.option("-m", "--model", help=_MODEL_HELP)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the report as JSON (a list with --all or several --author).")
@job_options()
def profile(repo: str, authors: tuple[str, ...], all_authors: bool, since: datetime | None,
            until: datetime | None, period: str, aliases: tuple[str, ...], samples: int,
            sample_chars: int, quality: bool, concurrency: int, output_dir: str | None,
            provider: str | None, model: str | None, no_cache: bool, as_json: bool) -> None:
    """Profile authors of the git repository REPO from their commits.

    Reads the history (git must be installed), picks code samples from the files each author
    changed most, runs skill_extraction on them (and code_quality with --quality), then
    developer_profile over the activity and the samples' findings.

    \b
    Examples:
      aexy profile . --author alice@example.com
      aexy profile ~/src/shop --all --since 2024-01-01 -o profiles/
      aexy profile . -a bob@example.com --alias bob@old.example.org=bob@example.com --json
    """
    if all_authors == bool(authors):
        raise click.UsageError("give --author EMAIL (repeatable) or --all; "
                               "`git shortlog -sne` lists the authors")
    alias_map = _aliases(aliases)
    job = Job(provider, model)

    async def work(bar: _Bar) -> list[ProfileReport]:
        from aexy.apps import ProfileAnalyzer

        async with job.gateway() as gateway:
            analyzer = ProfileAnalyzer(gateway, max_samples=samples,
                                       max_sample_chars=sample_chars, concurrency=concurrency,
                                       code_quality=quality, use_cache=not no_cache)
            return await analyzer.analyze_repository(
                repo, None if all_authors else list(authors), since=_day(since),
                until=_day(until), period=period,  # type: ignore[arg-type]
                aliases=alias_map, progress=bar)

    reports = _with_progress("profile", work)
    if job.dry_run:  # the reports are stand-ins: nothing is written
        job.print_plan(as_json)
        return
    if output_dir is not None:
        target = Path(output_dir)
        target.mkdir(parents=True, exist_ok=True)
        for r in reports:
            (target / _file_name(r.developer_id)).write_text(r.model_dump_json(indent=2) + "\n",
                                                              encoding="utf-8")
    if as_json:
        dumped = [r.model_dump(mode="json") for r in reports]
        click.echo(_dumps(dumped if all_authors or len(authors) > 1 else dumped[0]))
    else:
        console = get_console()
        for r in reports:
            _print_report(console, r)
        if output_dir is not None:
            console.print(f"reports: {output_dir}/", style="dim")
    job.print_footer()
    if not all(r.profile.ok for r in reports) or _broken(
            f for r in reports for s in r.samples for f in s.failures.values()):
        raise SystemExit(1)


# -- match -----------------------------------------------------------------------------------------
def _print_match(console: Console, report: MatchReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    console.print(_outcome_panel(f"task_signals · {report.task}", report.signals))
    table = Table(title=f"developers for: {report.task}", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("developer", no_wrap=True)
    table.add_column("score", justify="right")
    table.add_column("skill · exp. · growth", justify="right", no_wrap=True)
    table.add_column("has / misses")
    for r in report.ranking:
        m = r.match
        fit = [f"[green]has[/] {escape(', '.join(m.strengths))}" if m.strengths else "",
               f"[red]misses[/] {escape(', '.join(m.gaps))}" if m.gaps else ""]
        table.add_row(str(r.rank), escape(r.developer_id), f"[bold]{m.overall_score}[/]",
                      f"{m.skill_match:.2f} · {m.experience_match:.2f} · "
                      f"{m.growth_opportunity:.2f}", "\n".join(x for x in fit if x))
    console.print(table)
    if report.ranking:
        best = report.ranking[0]
        console.print(f"[bold]{escape(best.developer_id)}[/]: {escape(best.match.reasoning)}")
    for u in report.unmatched:
        style = "yellow" if u.failure.refused else "red"
        verdict = "refused" if u.failure.refused else "failed"
        console.print(f"[{style}]{verdict}[/] {escape(u.developer_id)}: "
                      f"[{u.failure.code}] {escape(u.failure.message)}")
    console.print(_cost_line(report.cost), style="dim")


@click.command()
@click.argument("task_file", metavar="TASK_FILE|-",
                type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--profiles", "profile_paths", multiple=True, required=True,
              type=click.Path(exists=True), metavar="DIR_OR_FILE",
              help="Profile reports (aexy profile --json / -o DIR) or developer_profile results; "
                   "a directory means its *.json files; repeatable.")
@click.option("-l", "--label", "labels", multiple=True, help="A label of the task; repeatable.")
@click.option("-j", "--concurrency", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Analyses in flight at once.")
@click.option("-p", "--provider", help=_PROVIDER_HELP)
@click.option("-m", "--model", help=_MODEL_HELP)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")
@click.option("--encoding", default="utf-8", show_default=True, callback=check_encoding,
              help="Text encoding of TASK_FILE.")
@click.option("--json", "as_json", is_flag=True, help="Print the ranking as JSON.")
@job_options()
def match(task_file: str, profile_paths: tuple[str, ...], labels: tuple[str, ...],
          concurrency: int, provider: str | None, model: str | None, no_cache: bool,
          encoding: str, as_json: bool) -> None:
    """Rank developers for the task in TASK_FILE (or stdin), best first.

    Runs task_signals on the task once, then task_matching for every profile, and ranks them
    by the overall score with the skills matched and the gaps. Exits 1 when no developer could
    be ranked.

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

    report = _with_progress("match", work)
    if job.dry_run:
        job.print_plan(as_json)
        return
    if as_json:
        click.echo(_dumps(report.model_dump(mode="json")))
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
        for outcome in p.outcomes:
            console.print(_outcome_panel(f"{outcome.analysis_type} · {who}", outcome))
    else:
        console.print(_outcome_panel(f"team_health · {p.team or p.source or 'team'}", p.health))
    console.print(_cost_line(p.cost), style="dim")


@click.command()
@click.argument("activity_file", required=False, metavar="[ACTIVITY.json]",
                type=click.Path(exists=True, dir_okay=False))
@click.option("--repo", type=click.Path(exists=True, file_okay=False),
              help="Read the activity from this git repository instead of a file.")
@click.option("-a", "--author", metavar="EMAIL", help="With --repo: the author to assess.")
@click.option("--team", is_flag=True, help="With --repo: team_health of everyone in it.")
@click.option("--since", type=_DATE, metavar="YYYY-MM-DD", help="With --repo: first day.")
@click.option("--until", type=_DATE, metavar="YYYY-MM-DD", help="With --repo: last day.")
@click.option("--period", type=click.Choice(["week", "month"]), default="week",
              show_default=True, help="With --repo: length of the activity periods.")
@click.option("--alias", "aliases", multiple=True, metavar="ALIAS=EMAIL",
              help="With --repo: count ALIAS's commits as EMAIL's; repeatable.")
@click.option("--horizon", type=click.IntRange(1, 60), metavar="MONTHS",
              help="Forecast horizon of the performance trajectory (default 6).")
@click.option("-p", "--provider", help=_PROVIDER_HELP)
@click.option("-m", "--model", help=_MODEL_HELP)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")
@click.option("--json", "as_json", is_flag=True, help="Print the predictions as JSON.")
@job_options()
def predict(activity_file: str | None, repo: str | None, author: str | None, team: bool,
            since: datetime | None, until: datetime | None, period: str,
            aliases: tuple[str, ...], horizon: int | None, provider: str | None,
            model: str | None, no_cache: bool, as_json: bool) -> None:
    """Attrition risk, burnout risk and performance trajectory of a developer, or the health of
    a team, from activity data.

    ACTIVITY.json is DeveloperActivity (the three developer analyses), TeamMetrics
    (team_health) or a profile report (its activity); or read git with --repo and --author
    (or --team). An analysis the provider cannot answer from the data is shown as refused;
    the exit status is 1 only when none answered or one failed for another reason.

    \b
    Examples:
      aexy predict activity.json
      aexy predict --repo . --author alice@example.com --since 2024-01-01
      aexy predict --repo . --team
    """
    if (activity_file is None) == (repo is None):
        raise click.UsageError("give ACTIVITY.json, or --repo REPO with --author EMAIL or "
                               "--team")
    if repo is not None and (author is None) == (not team):
        raise click.UsageError("with --repo, give --author EMAIL or --team (one of them)")
    if repo is None and (author or team or aliases or since or until):
        raise click.UsageError("--author, --team, --alias, --since and --until go with --repo")
    alias_map = _aliases(aliases)
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
                    until=_day(until), aliases=alias_map, progress=bar)
            if repo is not None:
                assert author is not None
                return await analyzer.predict_from_git(
                    repo, author, since=_day(since), until=_day(until),
                    period=period, aliases=alias_map, progress=bar)  # type: ignore[arg-type]
            assert activity_file is not None
            data = load_activity(activity_file)
            if isinstance(data, TeamMetrics):
                return await analyzer.team_health(data, source=activity_file, progress=bar)
            return await analyzer.predict(data, source=activity_file, progress=bar)

    result = _with_progress("predict", work)
    if job.dry_run:
        job.print_plan(as_json)
        return
    if as_json:
        click.echo(_dumps(result.model_dump(mode="json")))
    else:
        _print_prediction(get_console(), result)
    job.print_footer()
    if not any(o.ok for o in result.outcomes) or _broken(o.failure for o in result.outcomes):
        raise SystemExit(1)


APP_COMMANDS: Sequence[click.Command] = (profile, match, predict)
