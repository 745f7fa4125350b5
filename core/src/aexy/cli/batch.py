"""``aexy batch``: many files through one gateway, concurrently, resumable, as JSON Lines."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from aexy.cli._batch_api import BatchOptions, batch_api_options, job_name, progress_text
from aexy.cli._jobs import Job, job_options
from aexy.cli._util import (
    check_encoding,
    get_console,
    host,
    looks_like_text,
    parse_context,
    read_text,
    resolve_spec,
    run_async,
)

if TYPE_CHECKING:
    from rich.progress import Task
    from rich.text import Text

    from aexy.analysis import AnalysisResult
    from aexy.batching import BatchItem, BatchProgress

__all__ = ["BatchSummary", "FoundFiles", "batch", "collect_files", "find_files",
           "finished_paths", "run_batch"]

#: Directories never worth analysing, skipped when a PATH is a directory.
SKIP_DIRS = frozenset({"__pycache__", "node_modules", "venv", "site-packages", "dist", "build"})


@dataclass(slots=True)
class BatchSummary:
    total: int = 0
    #: Files whose result is already in the output file.
    skipped: int = 0
    #: Files under a directory that are not text (binary, or not in the chosen encoding).
    not_text: int = 0
    #: Files with nothing to analyse (empty, or only whitespace): skipped, not failed.
    empty: list[str] = field(default_factory=list)
    succeeded: int = 0
    failed: int = 0
    cache_hits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    tokens_estimated: bool = False  # some counts are estimates (a heuristic provider's)
    elapsed: float = 0.0
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # path, code, message

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + len(self.empty)


@dataclass(frozen=True, slots=True)
class FoundFiles:
    """What :func:`find_files` found: the files to analyse, and those left out as not text."""

    files: list[str]
    not_text: list[str]


def collect_files(paths: Iterable[str], globs: Iterable[str], exclude: Path | None = None
                  ) -> list[str]:
    """The files :func:`find_files` would analyse, without the text check."""
    return find_files(paths, globs, exclude, text_only=False).files


def find_files(paths: Iterable[str], globs: Iterable[str], exclude: Path | None = None, *,
               encoding: str = "utf-8", text_only: bool = True) -> FoundFiles:
    """Files named directly, and the files under each directory matching any glob.

    Hidden files and directories (a leading dot) and :data:`SKIP_DIRS` are skipped under a
    directory; a file named on the command line is always taken. Order is stable (sorted per
    directory) and duplicates are dropped. Without ``globs`` (every file under a directory),
    files that are not text in ``encoding`` (:func:`~aexy.cli._util.looks_like_text`) go to
    ``not_text`` instead of being sent to a model; a glob or a file named directly is the
    caller's explicit choice and is always taken.
    """
    globs = list(globs)
    patterns = globs or ["*"]
    check_text = text_only and not globs
    excluded = exclude.resolve() if exclude is not None else None
    found: dict[str, None] = {}
    not_text: dict[str, None] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for pattern in patterns:
                matches = path.glob(pattern) if "/" in pattern else path.rglob(pattern)
                for f in sorted(matches):
                    rel = f.relative_to(path).parts
                    if any(p.startswith(".") or p in SKIP_DIRS for p in rel) or not f.is_file():
                        continue
                    if excluded is not None and f.resolve() == excluded:
                        continue
                    if check_text and not looks_like_text(f, encoding):
                        not_text[os.path.normpath(f)] = None
                        continue
                    found[os.path.normpath(f)] = None
        else:
            found[os.path.normpath(path)] = None
    return FoundFiles(list(found), [f for f in not_text if f not in found])


def finished_paths(output: Path) -> set[str]:
    """Paths whose latest line in ``output`` holds a result (those are skipped on a re-run)."""
    done: set[str] = set()
    if not output.exists():
        return done
    with output.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line cut short by an interrupted run
            if not isinstance(record, dict) or not isinstance(record.get("path"), str):
                continue
            if "result" in record:
                done.add(record["path"])
            else:
                done.discard(record["path"])
    return done


async def run_batch(
    analysis_type: str,
    files: list[str],
    *,
    provider: str | None = None,
    model: str | None = None,
    context: dict[str, Any] | None = None,
    concurrency: int = 4,
    use_cache: bool = True,
    encoding: str = "utf-8",
    write: Callable[[dict[str, Any]], None],
    on_done: Callable[[BatchSummary], None] = lambda s: None,
    clock: Callable[[], float] = time.monotonic,
    job: Job | None = None,
    batch: BatchOptions | None = None,
    batch_name: str = "batch",
    on_batch: Callable[[BatchProgress], None] | None = None,
) -> BatchSummary:
    """Analyse ``files`` through one gateway, at most ``concurrency`` at a time.

    Every file ends as one record passed to ``write``: ``{"path", "result", "provenance"}`` or
    ``{"path", "error": {"code", "message"}}``, except a file with nothing to analyse (empty,
    or only whitespace), which is listed in :attr:`BatchSummary.empty` and sent nowhere. A
    failure never stops the others.

    :param job: ``--max-cost`` and ``--dry-run`` (a dry run writes nothing).
    :param batch: ``--batch-api`` (and ``--retry-live``, ``--cancel``): what the cache lacks
        goes through the provider's batch API, as the job ``batch_name``; ``on_batch`` hears
        how it goes.
    """
    import asyncio

    spec = resolve_spec(host().analysis_types(), analysis_type)
    job = job if job is not None else Job(provider, model)
    if job.dry_run:
        write = _nothing
    summary = BatchSummary(total=len(files))
    started = clock()
    semaphore = asyncio.Semaphore(concurrency)

    def done(path: str, answer: AnalysisResult | BaseException | None) -> None:
        _record(summary, write, path, answer)
        summary.elapsed = clock() - started
        on_done(summary)

    async with job.gateway() as gateway:
        if batch is not None and batch.batch_api:
            batch_job = batch.job(gateway, batch_name, on_batch)
            if batch.cancel:
                from aexy.cli._batch_api import cancel

                await cancel(batch_job)
                return summary
            items: list[tuple[str, BatchItem | BaseException]] = []
            for path in files:
                try:
                    content = await asyncio.to_thread(read_text, path, encoding)
                    if not content.strip():
                        done(path, None)
                        continue
                    items.append((path, batch_job.add(
                        spec.name, content, {**(context or {}), "file_path": path},
                        use_cache=use_cache)))
                except Exception as exc:  # recorded per file; the batch goes on
                    items.append((path, exc))
            await batch_job.run()
            for path, item in items:
                done(path, item if isinstance(item, BaseException) else
                     item.error if item.error is not None else item.unwrap())
        else:

            async def one(path: str) -> None:
                async with semaphore:
                    try:
                        content = await asyncio.to_thread(read_text, path, encoding)
                        if not content.strip():  # __init__.py, py.typed: nothing to analyse
                            done(path, None)
                            return
                        result = await gateway.analyze(
                            spec.name, content, context={**(context or {}), "file_path": path},
                            use_cache=use_cache)
                    except Exception as exc:  # recorded per file; the batch goes on
                        done(path, exc)
                    else:
                        done(path, result)

            await asyncio.gather(*(one(f) for f in files))
    summary.elapsed = clock() - started
    return summary


def _record(summary: BatchSummary, write: Callable[[dict[str, Any]], None], path: str,
            answer: AnalysisResult | BaseException | None) -> None:
    """One file's end: its result or its error written and counted; ``None``: nothing to
    analyse (empty, or only whitespace)."""
    from aexy.cli._errors import error_code, error_message

    if answer is None:
        summary.empty.append(path)
    elif isinstance(answer, BaseException):
        summary.failed += 1
        message = error_message(answer)
        summary.failures.append((path, error_code(answer), message))
        write({"path": path, "error": {"code": error_code(answer), "message": message}})
    else:
        p = answer.provenance
        summary.succeeded += 1
        summary.cache_hits += int(p.cache_hit)
        summary.input_tokens += p.input_tokens
        summary.output_tokens += p.output_tokens
        summary.tokens_estimated = summary.tokens_estimated or p.tokens_estimated
        write({"path": path, "result": answer.model_dump(mode="json"),
               "provenance": p.model_dump(mode="json")})


def _nothing(record: dict[str, Any]) -> None:
    return None


def _rate_column() -> Any:
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            elapsed = task.elapsed or 0.0
            rate = task.completed / elapsed if elapsed > 0 else 0.0
            return Text(f"{rate:.1f} files/s", style="progress.data.speed")

    return RateColumn()


@click.command()
@click.argument("analysis_type", metavar="TYPE")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...",
                type=click.Path(exists=True, file_okay=True, dir_okay=True))
@click.option("-g", "--glob", "globs", multiple=True, metavar="PATTERN",
              help="Files to take under a directory PATH (repeatable; default: every file).")
@click.option("-j", "--concurrency", default=4, show_default=True,
              type=click.IntRange(1, 256), help="Analyses in flight at once.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Append JSON Lines to FILE and skip files it already has results for "
                   "(default: JSON Lines on stdout, no resume).")
@click.option("-p", "--provider", help="Provider to use (default: LLM_PROVIDER, or offline).")
@click.option("-m", "--model", help="Model to use (default: the provider's configured model).")
@click.option("-c", "--context", "contexts", multiple=True, metavar="KEY=VALUE",
              help="Context for every file (file_path is set per file).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")
@click.option("--encoding", default="utf-8", show_default=True, callback=check_encoding,
              help="Text encoding of the files, e.g. latin-1 or cp1252.")
@click.option("--json", "as_json", is_flag=True, help="With --dry-run: print the plan as JSON.")
@job_options()
@batch_api_options()
def batch(analysis_type: str, paths: tuple[str, ...], globs: tuple[str, ...], concurrency: int,
          output: str | None, provider: str | None, model: str | None,
          contexts: tuple[str, ...], no_cache: bool, encoding: str, as_json: bool) -> None:
    """Analyse many files with TYPE through one gateway, as JSON Lines.

    Each file gives one line, {"path", "result", "provenance"} or {"path", "error": {"code",
    "message"}}, in the order files finish. A progress bar and a summary go to stderr; the exit
    status is 1 when any file failed, 130 when interrupted (finished files are kept: rerun the
    command with the same -o FILE to resume). Empty files (or only whitespace) are skipped and
    listed, never failed; without --glob, files under a directory that are not text (binary,
    or not in --encoding) are skipped and counted in the summary.

    With --batch-api, what the cache does not hold goes through the provider's batch API at
    half the price (claude, openai): the command waits for the batches, and a rerun after an
    interruption resumes them instead of paying again.

    \b
    Examples:
      aexy batch skill_extraction src/ --glob '*.py' -o skills.jsonl
      aexy batch code_quality a.py b.py -j 8 | jq -c '{path, score: .result.score}'
      aexy batch skill_extraction src/ -p claude --batch-api -o skills.jsonl
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    context = parse_context(contexts, None)
    out_path = Path(output) if output else None
    found = find_files(paths, globs, exclude=out_path, encoding=encoding)
    files = found.files
    finished = finished_paths(out_path) if out_path else set()
    todo = [f for f in files if f not in finished]
    skipped = len(files) - len(todo)
    console = get_console(stderr=True)
    if not files:
        also = (f" ({len(found.not_text)} skipped as not {encoding} text; see --encoding)"
                if found.not_text else "")
        raise click.UsageError(f"no files matched{also}; check PATH and --glob")

    job = Job(provider, model)
    options = BatchOptions.current()
    name = job_name("batch", analysis_type, provider, model, context, encoding,
                    sorted(os.path.abspath(f) for f in files))
    sink: IO[str]
    if job.dry_run or options.cancel:
        sink = sys.stdout  # never written to: a dry run prints its plan instead
    elif out_path:
        needs_newline = _ends_mid_line(out_path)
        sink = out_path.open("a", encoding="utf-8")
        if needs_newline:  # a run cut mid-line: start ours on a fresh line
            sink.write("\n")
    else:
        sink = sys.stdout

    def write(record: dict[str, Any]) -> None:
        # One flushed line per file: an interrupted run loses at most the files in flight.
        sink.write(json.dumps(record, ensure_ascii=False) + "\n")
        sink.flush()

    if options.batch_api:  # where the batches are, rather than a rate of files per second
        columns: list[Any] = [SpinnerColumn(), TextColumn("[bold]{task.description}"),
                              TextColumn("{task.fields[batch]}"), TimeElapsedColumn()]
    else:
        columns = [SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                   MofNCompleteColumn(), TextColumn("cache hits {task.fields[hits]}"),
                   TextColumn("errors {task.fields[errors]}"), TimeElapsedColumn(),
                   _rate_column()]
    progress = Progress(*columns, console=console,
                        disable=options.cancel or (options.batch_api
                                                   and not console.is_interactive))
    task = progress.add_task(analysis_type, total=len(todo), hits=0, errors=0, batch="")

    latest = BatchSummary(total=len(todo))

    def on_done(s: BatchSummary) -> None:
        nonlocal latest
        latest = s
        progress.update(task, completed=s.done, hits=s.cache_hits, errors=s.failed)

    waiting_said = False

    def on_batch(p: BatchProgress) -> None:
        nonlocal waiting_said
        progress.update(task, batch=progress_text(p))
        if (not console.is_interactive and not waiting_said and p.phase == "waiting"
                and p.processing):  # in a log, one line says what the job waits for
            waiting_said = True
            console.print(f"{analysis_type}: {progress_text(p)}; waiting for the provider "
                          "(an interrupted run resumes the batches)", style="dim",
                          soft_wrap=True)

    try:
        with progress:
            summary = run_async(run_batch(
                analysis_type, todo, provider=provider, model=model, context=context,
                concurrency=concurrency, use_cache=not no_cache, encoding=encoding, write=write,
                on_done=on_done, job=job, batch=options, batch_name=name, on_batch=on_batch))
    except KeyboardInterrupt:
        # What finished is written and flushed; say so, then exit 130 (the root group).
        latest.skipped, latest.not_text = skipped, len(found.not_text)
        _print_summary(console, latest, out_path)
        if options.batch_api:
            console.print("interrupted; the submitted batches are recorded: rerun the same "
                          "command to read their results (nothing is paid twice), or add "
                          "--cancel to cancel them", style="yellow", soft_wrap=True)
        else:
            console.print(f"interrupted after {latest.done} of {len(todo)} files"
                          + (f"; rerun the same command to resume from {out_path}"
                             if out_path else ""), style="yellow")
        raise
    finally:
        if out_path and sink is not sys.stdout:
            sink.close()
    if options.cancel:
        return
    if job.dry_run:
        job.print_plan(as_json)
        return
    summary.skipped = skipped
    summary.not_text = len(found.not_text)
    _print_summary(console, summary, out_path)
    job.print_footer()
    if summary.failed:
        raise SystemExit(1)


def _ends_mid_line(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return False
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) != b"\n"


def _print_summary(console: Any, s: BatchSummary, out_path: Path | None) -> None:
    from rich.table import Table
    from rich.text import Text

    from aexy.cli.render import print_table

    table = Table(title="batch summary", title_justify="left", show_header=False)
    table.add_column(style="cyan")
    table.add_column(justify="right")
    rate = s.done / s.elapsed if s.elapsed > 0 else 0.0
    for label, value in (
        ("files", s.total + s.skipped + s.not_text),
        ("skipped (already in output)", s.skipped),
        ("skipped (not text)", s.not_text),
        ("skipped (empty)", len(s.empty)),
        ("succeeded", s.succeeded),
        ("cache hits", s.cache_hits),
        ("failed", s.failed),
        ("tokens in / out" + (" (est.)" if s.tokens_estimated else ""),
         f"{s.input_tokens} / {s.output_tokens}"),
        ("elapsed", f"{s.elapsed:.2f} s"),
        ("rate", f"{rate:.1f} files/s"),
    ):
        style = "red" if label == "failed" and value else ""
        table.add_row(label, f"[{style}]{value}[/]" if style else str(value))
    print_table(console, table)
    if s.empty:
        shown = sorted(s.empty)
        more = f" and {len(shown) - 10} more" if len(shown) > 10 else ""
        console.print(f"skipped, empty: {', '.join(shown[:10])}{more}", style="dim",
                      markup=False)
    if s.failures:
        failures = Table(title="failed files", title_justify="left")
        for col in ("path", "code", "message"):
            failures.add_column(col, overflow="fold")
        for path, code, message in sorted(s.failures)[:20]:
            # Paths and messages are data: "[budget_exceeded]" is not rich markup.
            failures.add_row(Text(path), Text(code), Text(message))
        print_table(console, failures)
        if len(s.failures) > 20:
            console.print(f"... and {len(s.failures) - 20} more", style="dim")
    if out_path is not None:
        console.print(f"results: {out_path}", style="dim", markup=False)
