"""``aexy eval``: score providers, models and prompt versions on the labelled set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from aexy.cli._util import get_console, run_async

__all__ = ["eval_command"]


def _cell(f: dict[str, Any]) -> str:
    parts = []
    for key, short in (("accuracy", "acc"), ("precision", "P"), ("recall", "R")):
        if f.get(key) is not None:
            parts.append(f"{short} {f[key]:.2f}")
    return " ".join(parts) or "-"


@click.command("eval")
@click.option("-p", "--contender", "contenders", multiple=True, metavar="PROVIDER[/MODEL][@DIR]",
              help="A provider, optionally a model and a prompt override directory "
                   "(AEXY_PROMPTS_DIR layout) to score; repeat to compare side by side "
                   "(default: offline).")
@click.option("--split", type=click.Choice(["dev", "test", "all"]), default="test",
              show_default=True, help="Which cases: the dev split, or the held-out test split.")
@click.option("--kind", "kinds", multiple=True,
              type=click.Choice(["code", "injection", "planted", "task", "activity"]),
              help="Only cases of these kinds (repeatable; default: all).")
@click.option("--limit", type=click.IntRange(1), help="At most this many cases (the first, "
              "in id order; injection cases are kept with their originals).")
@click.option("--max-chars", type=click.IntRange(100), metavar="N",
              help="Only cases of at most N characters (small files, for slow local models).")
@click.option("-j", "--concurrency", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Analyses in flight at once.")
@click.option("--record", "record_to", type=click.Path(dir_okay=False), metavar="FILE",
              help="Keep each raw answer in FILE (JSON), for --replay.")
@click.option("--replay", "replay_from", type=click.Path(dir_okay=False, exists=True),
              metavar="FILE", help="Answer from a recording instead of calling the provider "
                                   "(one contender): re-scores without a model.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the reports as JSON to FILE ('-' for stdout, instead of the table).")
def eval_command(contenders: tuple[str, ...], split: str, kinds: tuple[str, ...],
                 limit: int | None, max_chars: int | None, concurrency: int, record_to: str | None,
                 replay_from: str | None, json_out: str | None) -> None:
    """Score answers on aexy's labelled set of real open-source files.

    Each contender analyses the cases (skill_extraction and code_quality for code,
    task_signals for task texts, burnout_risk for activity) through the gateway, and each
    field is scored against labels derived mechanically: accuracy, precision, recall, and how
    well the answers' confidence agrees with their correctness. See docs/evaluation.md.

    \b
    Examples:
      aexy eval                                    # the offline provider, test split
      aexy eval -p offline -p ollama/qwen2.5-coder:1.5b --split dev
      aexy eval -p openai@prompts/v2 -p openai@prompts/v3 --kind code --limit 40
      aexy eval -p llamacpp --record answers.json  # later: --replay answers.json
    """
    from rich.table import Table

    from aexy.eval.dataset import load_cases
    from aexy.eval.runner import Contender, Recording, run_eval

    chosen = [Contender.parse(c) for c in contenders] or [Contender("offline")]
    if (record_to or replay_from) and len(chosen) > 1:
        raise click.UsageError("--record and --replay take one contender")
    cases = load_cases(split, tuple(kinds) or None)  # type: ignore[arg-type]
    if max_chars is not None:
        cases = [c for c in cases if len(c.content) <= max_chars]
    if limit is not None:
        keep = {c.id for c in cases if "-" not in c.id}
        keep = set(sorted(keep)[:limit])
        cases = [c for c in cases if c.original_id in keep or c.id in keep]
    reports = []
    errors = get_console(stderr=True)
    for contender in chosen:
        replay = Recording(Path(replay_from)) if replay_from else None
        record = Recording(Path(record_to)) if record_to else None

        def progress(done: int, total: int, label: str = contender.label) -> None:
            if errors.is_terminal or done == total or done % 25 == 0:
                errors.print(f"{label}: {done}/{total} answers", style="dim")

        reports.append(run_async(run_eval(contender, cases, split=split,
                                          concurrency=concurrency, replay=replay,
                                          record=record, progress=progress)))
    data = [r.as_dict() for r in reports]
    if json_out:
        text = json.dumps(data, indent=1)
        if json_out == "-":
            click.echo(text)
            return
        Path(json_out).write_text(text + "\n", encoding="utf-8")
    console = get_console()
    table = Table(title=f"aexy eval · {split} split · {len(cases)} cases", title_justify="left")
    table.add_column("field", style="cyan")
    for r in data:
        table.add_column(r["contender"])
    names = [f["field"] for f in data[0]["fields"]]
    for name in names:
        cells = []
        for r in data:
            f = next(x for x in r["fields"] if x["field"] == name)
            cells.append(_cell(f) + (f"  [dim]({f['note']})[/]" if f["note"] and len(
                data) == 1 else ""))
        table.add_row(name, *cells)
    table.add_row("grounding: claims dropped", *(str(r["ungrounded_dropped"]) for r in data))
    table.add_row("failed answers", *(", ".join(f"{k} x{v}" for k, v in r["errors"].items())
                                      or "0" for r in data))
    table.add_row("time", *(f"{r['seconds']:.1f} s" for r in data))
    console.print(table)
