"""Reading :class:`~aexy.catalogue.activity.DeveloperActivity` for the offline methods, and the
figures they share: per-period series, trends, confidence and the span of the data.

The methods are in :mod:`~aexy.providers.offline.risk` (burnout, attrition),
:mod:`~aexy.providers.offline.trajectory` (growth, performance) and
:mod:`~aexy.providers.offline.profile` (developer profile).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

from aexy.analysis import AnalysisRequest
from aexy.catalogue.activity import ActivityBaseline, ActivityPeriod, DeveloperActivity
from aexy.catalogue.common import Trend
from aexy.providers.offline.common import (
    Unsupported,
    clamp,
    describe_errors,
    plural,
    relative_change,
)

__all__ = [
    "MAX_CONFIDENCE",
    "STEADY",
    "confidence_of",
    "per_period",
    "read_activity",
    "span_text",
    "trend",
]

#: A change under this share is "steady" (a stable trend; a positive signal for attrition).
STEADY = 0.10
#: A heuristic never claims more confidence than this.
MAX_CONFIDENCE = 0.9


def read_activity(request: AnalysisRequest, *, quiet_periods: bool = True
                  ) -> tuple[DeveloperActivity, ActivityBaseline | None]:
    """The content as :class:`DeveloperActivity` and its baseline (from the data, else from the
    ``baseline_metrics`` context key); :class:`Unsupported` for anything else.

    :param quiet_periods: list the periods the data omits as quiet (zero activity), so that
        trends and weekly rates see them; ``False`` keeps only the periods given."""
    try:
        activity = DeveloperActivity.model_validate_json(request.content)
    except ValidationError as exc:
        raise Unsupported(
            "the offline methods read aexy DeveloperActivity JSON (aexy.DeveloperActivity, "
            f"docs/activity-data.md) and this content is not that ({describe_errors(exc)})"
        ) from None
    if quiet_periods:
        activity = activity.with_quiet_periods()
    baseline = activity.baseline
    raw = request.context.get("baseline_metrics")
    if baseline is None and raw is not None:
        try:
            baseline = ActivityBaseline.model_validate(raw)
        except ValidationError as exc:
            raise Unsupported(
                "the baseline_metrics context is not an aexy ActivityBaseline "
                f"({describe_errors(exc)}); give it in that form or drop it") from None
    return activity, baseline


def per_period(periods: Sequence[ActivityPeriod], field: str, *, share: bool = False
            ) -> list[float]:
    """Per-period weekly rates (or shares) of ``field``, where measured."""
    out = []
    for p in periods:
        value = p.value(field)
        if value is not None:
            out.append(value if share else value / p.weeks)
    return out


def trend(values: Sequence[float], *, higher_is_worse: bool) -> Trend | None:
    change = relative_change(values)
    if change is None:
        return None
    if abs(change) < STEADY:
        return Trend.STABLE
    return Trend.WORSENING if (change > 0) == higher_is_worse else Trend.IMPROVING


def confidence_of(weeks: float, measured: int, possible: int, full_weeks: float) -> float:
    """0.9 x (half for the weeks covered, half for the share of signals measured)."""
    span = clamp(weeks / full_weeks)
    return round(MAX_CONFIDENCE * (0.5 * span + 0.5 * measured / possible), 2)


def span_text(activity: DeveloperActivity) -> str:
    listed = plural(len(activity.periods), "period")
    if activity.quiet_periods == "omitted":
        listed = f"{listed} with activity"
    return (f"{activity.first_day}..{activity.last_day} "
            f"({plural(round(activity.weeks, 1), 'week')}, {listed})")
