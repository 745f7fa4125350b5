"""Rich rendering for every command: an analysis result as one panel (one row per field,
provenance below), tables that keep every column, and paths that keep their file name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
    from rich.text import Text

    from aexy.analysis import Provenance

__all__ = ["cell", "fit_path", "print_table", "provenance_line", "result_panel"]


def print_table(console: Console, table: RenderableType) -> None:
    """Print ``table`` without losing a column or cutting a cell.

    Into a pipe or a file (``aexy plugins | cat``), each row is one line at the table's
    natural width: rich would otherwise squeeze it into 80 columns and crop what does not fit,
    and ``grep`` finds a row whole. On a terminal the table fits the window, wrapping inside
    cells; when even its narrowest layout is wider, it is printed at that width and the
    terminal wraps the lines, rather than rich cropping the rightmost columns.
    """
    from rich.measure import Measurement

    wide = console.options.update(max_width=10_000)
    measured = Measurement.get(console, wide, table)
    if not console.is_terminal:
        width = measured.maximum
    elif measured.minimum > console.width:
        width = measured.minimum
    else:
        console.print(table)
        return
    # print(width=...) is capped at the console's width: widen the console for this table.
    saved = console.width
    console.width = width
    try:
        console.print(table, crop=False)
    finally:
        console.width = saved


def fit_path(path: str, room: int) -> str:
    """``path`` in at most ``room`` characters, shortened in the middle: the file name stays,
    then as many of the last folders as fit, after ``…/``."""
    if len(path) <= room:
        return path
    head, sep, name = path.rpartition("/")
    if not sep or len(name) + 2 > room:
        keep = max(room - 1, 1)  # the name alone is too long: keep its start and end
        return name[: keep // 2] + "…" + name[len(name) - (keep - keep // 2):]
    kept = name
    for part in reversed(head.split("/")):
        if len(part) + 1 + len(kept) + 2 > room:
            break
        kept = f"{part}/{kept}"
    return f"…/{kept}"


def _bound(prop: Mapping[str, Any]) -> str:
    from aexy.schema import numeric_bounds

    top = numeric_bounds(prop)[1]
    return f" / {top}" if top is not None and top not in (1, 1.0) else ""


def _scalar(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def cell(value: Any, style: str = "") -> Text:
    """A table cell holding data: an absent value is an empty cell, never the word ``None``,
    and square brackets in a value are text, not rich markup."""
    from rich.text import Text

    return Text("" if value is None else str(value), style=style)


def _item_line(item: Any) -> str:
    if not isinstance(item, Mapping):
        return _scalar(item)
    parts = []
    for key, value in item.items():
        if value in (None, "", []):
            continue
        if isinstance(value, list):
            parts.append(f"{key}: {', '.join(_scalar(v) for v in value)}")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            parts.append(f"{key.replace('_', ' ')} {_scalar(value)}")
        else:
            parts.append(_scalar(value))
    return " · ".join(parts)


def _value(value: Any, prop: Mapping[str, Any]) -> RenderableType:
    from rich.text import Text

    if value is None or value == [] or value == {}:
        return Text("none", style="dim")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    if isinstance(value, int | float):
        return Text(_scalar(value) + _bound(prop), style="bold")
    if isinstance(value, list):
        lines = [_item_line(v) for v in value]
        if all(not isinstance(v, Mapping) for v in value) and sum(map(len, lines)) <= 80:
            return Text(", ".join(lines))
        return Text("\n".join(f"• {line}" for line in lines))
    if isinstance(value, Mapping):
        return Text("\n".join(f"{k}: {_item_line(v)}" for k, v in value.items()))
    return Text(str(value))


class _ResultPanel:
    """The panel, built when the width is known so that its title can fit."""

    def __init__(self, title: str, path: str | None, grid: RenderableType,
                 provenance: Provenance | None) -> None:
        self.title, self.path, self.grid, self.provenance = title, path, grid, provenance

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.markup import escape
        from rich.panel import Panel

        prefix = ""
        if self.provenance is not None and self.provenance.method != "model":
            # Computed by rules, not judged by a model: said first, where no width cuts it off.
            prefix = f"{self.provenance.method} result, no model · "
        plain = prefix + self.title
        label = (f"[yellow]{escape(prefix[:-3])}[/] · " if prefix else "") + (
            f"[bold]{escape(self.title)}[/]")
        if self.path is not None:
            # The panel's frame and title padding take 6 columns; the path gets the rest.
            room = max(options.max_width - 6 - len(plain) - 3, 12)
            label += f" · [bold]{escape(fit_path(self.path, room))}[/]"
        yield Panel(self.grid, title=label, title_align="left",
                    subtitle=provenance_line(self.provenance) if self.provenance else None,
                    subtitle_align="right")


def result_panel(title: str, data: Mapping[str, Any], schema: Mapping[str, Any],
                 provenance: Provenance | None, *, path: str | None = None) -> RenderableType:
    """A result as a panel titled ``title · path``; a long ``path`` is shortened in the middle
    (:func:`fit_path`), so the file name always shows."""
    from rich.table import Table

    props: Mapping[str, Any] = schema.get("properties", {})
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="cyan", no_wrap=True)
    grid.add_column(overflow="fold")
    for name, value in data.items():
        grid.add_row(name.replace("_", " "), _value(value, props.get(name, {})))
    return _ResultPanel(title, path, grid, provenance)


def provenance_line(p: Provenance) -> str:
    cache = f"cache hit ({p.cache_tier})" if p.cache_hit else "cache miss"
    parts = [f"{p.provider}/{p.model}"]
    if p.fallback:
        parts.append("fallback")
    parts.append(cache)
    if not p.cache_hit:
        tokens = f"{p.input_tokens}+{p.output_tokens} tokens"
        parts.append(f"~{tokens} (est.)" if p.tokens_estimated else tokens)
        if p.attempts > 1:
            parts.append(f"{p.attempts} calls" + (" (repaired)" if p.repaired else ""))
    if p.cost is not None:
        parts.append(str(p.cost))  # "$0.0123", "$0.0123 saved", "$0 (local)", "unpriced"
    parts.append(f"{p.latency_ms:.0f} ms")
    return " · ".join(parts)
