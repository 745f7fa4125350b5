"""Rich rendering of any analysis result: one panel, one row per field, provenance below."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import RenderableType

    from aexy.analysis import Provenance

__all__ = ["provenance_line", "result_panel"]


def _bound(prop: Mapping[str, Any]) -> str:
    from aexy.schema import numeric_bounds

    top = numeric_bounds(prop)[1]
    return f" / {top}" if top is not None and top not in (1, 1.0) else ""


def _scalar(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


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


def result_panel(title: str, data: Mapping[str, Any], schema: Mapping[str, Any],
                 provenance: Provenance | None) -> RenderableType:
    from rich.panel import Panel
    from rich.table import Table

    props: Mapping[str, Any] = schema.get("properties", {})
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="cyan", no_wrap=True)
    grid.add_column(overflow="fold")
    for name, value in data.items():
        grid.add_row(name.replace("_", " "), _value(value, props.get(name, {})))
    label = f"[bold]{title}[/]"
    if provenance is not None and provenance.method != "model":
        # Computed by rules, not judged by a model: said first, where no width cuts it off.
        label = f"[yellow]{provenance.method} result, no model[/] · {label}"
    return Panel(grid, title=label, title_align="left",
                 subtitle=provenance_line(provenance) if provenance else None,
                 subtitle_align="right")


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
