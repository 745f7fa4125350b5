"""Small pieces every offline method uses: the refusal, bounded arithmetic, trends and wording."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import ValidationError

__all__ = [
    "Unsupported",
    "clamp",
    "combine",
    "describe_errors",
    "figure",
    "percent",
    "plural",
    "ramp",
    "relative_change",
    "slope",
]


class Unsupported(Exception):
    """This input cannot be answered by a documented method; ``reason`` says why and what
    would make it answerable. The provider adds which providers can answer instead."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, value))


def ramp(value: float, start: float, full: float) -> float:
    """0 at ``start``, 1 at ``full``, linear between (either direction), clamped."""
    if full == start:
        return 1.0 if value >= full else 0.0
    return clamp((value - start) / (full - start))


def combine(weights: Iterable[float]) -> float:
    """Independent contributions joined as a noisy-OR: ``1 - prod(1 - w)``. One strong signal
    gives its own weight; several add up without ever passing 1; none gives 0."""
    rest = 1.0
    for w in weights:
        rest *= 1.0 - clamp(w)
    return 1.0 - rest


def slope(values: Sequence[float]) -> float:
    """Least-squares slope per step of ``values`` taken at equal steps."""
    n = len(values)
    if n < 2:
        return 0.0
    mean_x = (n - 1) / 2
    mean_y = sum(values) / n
    num = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values))
    den = sum((i - mean_x) ** 2 for i in range(n))
    return num / den


def relative_change(values: Sequence[float]) -> float | None:
    """The fitted change from the first to the last step, relative to the mean; ``None`` with
    fewer than three values or a zero mean (too little to call a trend)."""
    if len(values) < 3:
        return None
    mean = sum(values) / len(values)
    if mean == 0:
        return None
    return slope(values) * (len(values) - 1) / abs(mean)


def plural(count: float, noun: str) -> str:
    """``"1 week"``, ``"3 weeks"``, ``"2.5 weeks"``."""
    return f"{figure(count)} {noun}" + ("" if count == 1 else "s")


def figure(value: float) -> str:
    """A number as a person writes it: integers plain, others with one decimal."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def describe_errors(exc: ValidationError, limit: int = 3) -> str:
    """The first validation errors as ``"periods.0.hours: Extra inputs are not permitted"``."""
    errors = exc.errors()
    parts = []
    for err in errors[:limit]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err['msg']}" if where else str(err["msg"]))
    more = len(errors) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
