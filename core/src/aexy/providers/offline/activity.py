"""Offline methods over :class:`~aexy.catalogue.activity.DeveloperActivity`: burnout and
attrition risk, growth and performance trajectories, the developer profile.

Each risk factor has an *importance* (its weight when fully present) and a *strength* (0 to 1,
a linear ramp between two thresholds); its reported ``weight`` is importance x strength. The
factors combine as a noisy-OR (``1 - prod(1 - weight)``), so one strong signal is enough for a
high risk and missing data adds nothing. The level follows the score with the catalogue's own
thresholds. Every factor cites the figures it came from; confidence grows with the weeks covered
and the number of signals measured. Thresholds are the constants below, and
``docs/providers/offline.md`` lists them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from statistics import median
from typing import Any

from pydantic import ValidationError

from aexy.analysis import AnalysisRequest
from aexy.catalogue.activity import (
    ActivityBaseline,
    ActivityPeriod,
    DeveloperActivity,
    mean_share,
    weekly_rate,
)
from aexy.catalogue.common import Proficiency, Trajectory, Trend
from aexy.catalogue.developer import DeveloperProfile, Expertise, GrowthTrajectory
from aexy.catalogue.predictive import (
    AttritionRisk,
    BurnoutRisk,
    PerformanceTrajectory,
    PredictedGrowth,
    RiskFactor,
    level_for_score,
)
from aexy.providers.offline.common import (
    Unsupported,
    clamp,
    combine,
    describe_errors,
    figure,
    percent,
    plural,
    ramp,
    relative_change,
    slope,
)

__all__ = [
    "attrition_risk",
    "burnout_risk",
    "developer_profile",
    "growth_trajectory",
    "performance_trajectory",
    "read_activity",
]

# -- thresholds --------------------------------------------------------------------------------
#: Burnout: hours per week (median over periods) from which the factor starts, and where full.
HOURS_START, HOURS_FULL = 45.0, 65.0
#: Burnout: hours over the baseline's, relative (+10% starts, +50% is full).
HOURS_OVER_START, HOURS_OVER_FULL = 0.10, 0.50
#: Days off expected per week without a baseline (a two-day weekend).
DAYS_OFF_EXPECTED = 2.0
#: After-hours and weekend shares: absolute (start, full), and above the baseline's.
AFTER_HOURS_START, AFTER_HOURS_FULL = 0.15, 0.40
WEEKEND_START, WEEKEND_FULL = 0.10, 0.30
SHARE_OVER_START, SHARE_OVER_FULL = 0.10, 0.30
#: On-call per week: night pages (start, full), all pages, incidents.
NIGHT_PAGES_START, NIGHT_PAGES_FULL = 0.25, 3.0
PAGES_START, PAGES_FULL = 2.0, 10.0
INCIDENTS_START, INCIDENTS_FULL = 1.0, 4.0
#: Reviews given per week (start, full) without a baseline; with one, the ratio to it.
REVIEWS_START, REVIEWS_FULL = 10.0, 25.0
REVIEWS_RATIO_START, REVIEWS_RATIO_FULL = 1.5, 3.0
#: Attrition: a drop of activity against the reference (20% starts, 70% is full).
DROP_START, DROP_FULL = 0.20, 0.70
#: A change under this share is "steady" (a positive signal for attrition, a stable trend).
STEADY = 0.10
#: Weeks of data for full confidence (risks) and for full confidence (trajectories).
FULL_SPAN_WEEKS, FULL_HISTORY_WEEKS = 8.0, 26.0
#: A heuristic never claims more confidence than this.
MAX_CONFIDENCE = 0.9
#: Growth: a language counts in a period from this share of the period's lines.
LANGUAGE_SHARE = 0.05
#: Quality score change per quarter that counts as a rise or a fall.
QUALITY_STEP = 0.3
#: Profile exposure levels: lines changed in a language.
INTERMEDIATE_LINES, ADVANCED_LINES = 2_000, 20_000

_BURNOUT_IMPORTANCE = {"hours": 0.6, "days off": 0.5, "on-call": 0.4, "after hours": 0.35,
                       "weekends": 0.3, "reviews": 0.25}
_ATTRITION_METRICS = (  # (field, factor name, importance)
    ("commits", "declining commit activity", 0.45),
    ("reviews_given", "withdrawal from reviews", 0.35),
    ("prs_opened", "fewer pull requests opened", 0.25),
    ("active_days", "fewer active days", 0.25),
    ("files_touched", "narrowing scope (fewer files touched)", 0.2),
)
_OVERLOAD_IMPORTANCE = 0.3
_LEVELS = list(Proficiency)


# -- reading -----------------------------------------------------------------------------------
def read_activity(request: AnalysisRequest) -> tuple[DeveloperActivity, ActivityBaseline | None]:
    """The content as :class:`DeveloperActivity` and its baseline (from the data, else from the
    ``baseline_metrics`` context key); :class:`Unsupported` for anything else."""
    try:
        activity = DeveloperActivity.model_validate_json(request.content)
    except ValidationError as exc:
        raise Unsupported(
            "the offline methods read aexy DeveloperActivity JSON (aexy.DeveloperActivity, "
            f"docs/activity-data.md) and this content is not that ({describe_errors(exc)})"
        ) from None
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


def _series(periods: Sequence[ActivityPeriod], field: str, *, share: bool = False
            ) -> list[float]:
    """Per-period weekly rates (or shares) of ``field``, where measured."""
    out = []
    for p in periods:
        value = p.value(field)
        if value is not None:
            out.append(value if share else value / p.weeks)
    return out


def _trend(values: Sequence[float], *, higher_is_worse: bool) -> Trend | None:
    change = relative_change(values)
    if change is None:
        return None
    if abs(change) < STEADY:
        return Trend.STABLE
    return Trend.WORSENING if (change > 0) == higher_is_worse else Trend.IMPROVING


def _confidence(weeks: float, measured: int, possible: int, full_weeks: float) -> float:
    """0.9 x (half for the weeks covered, half for the share of signals measured)."""
    span = clamp(weeks / full_weeks)
    return round(MAX_CONFIDENCE * (0.5 * span + 0.5 * measured / possible), 2)


def _span(activity: DeveloperActivity) -> str:
    first, last = activity.periods[0], activity.periods[-1]
    return (f"{first.start}..{last.end} ({plural(round(activity.weeks, 1), 'week')}, "
            f"{plural(len(activity.periods), 'period')})")


@dataclass(slots=True)
class _Factor:
    name: str
    importance: float
    strength: float
    evidence: str
    trend: Trend | None
    recommendation: str
    action: str | None = None

    @property
    def weight(self) -> float:
        return round(self.importance * self.strength, 2)

    def record(self) -> RiskFactor:
        return RiskFactor(factor=self.name, weight=self.weight, evidence=self.evidence,
                          trend=self.trend)


def _present(factors: list[_Factor]) -> list[_Factor]:
    """Factors with any weight, heaviest first."""
    return sorted((f for f in factors if f.weight > 0), key=lambda f: (-f.weight, f.name))


# -- burnout -----------------------------------------------------------------------------------
def _burnout_factors(activity: DeveloperActivity, baseline: ActivityBaseline | None
                     ) -> tuple[list[_Factor], int]:
    """The burnout factors and how many of the six signals were measured."""
    periods = activity.periods
    who = activity.developer_id
    factors: list[_Factor] = []
    measured = 0

    hours = _series(periods, "hours_worked")
    if hours:
        measured += 1
        typical = median(hours)
        strength = ramp(typical, HOURS_START, HOURS_FULL)
        reference = f"{figure(HOURS_START)} h starts to count"
        if baseline is not None and baseline.hours_per_week:
            over = typical / baseline.hours_per_week - 1
            strength = max(strength, ramp(over, HOURS_OVER_START, HOURS_OVER_FULL))
            reference = f"baseline {figure(baseline.hours_per_week)} h"
        spread = (f" ({figure(min(hours))}-{figure(max(hours))})" if len(hours) > 1 else "")
        factors.append(_Factor(
            "sustained long hours", _BURNOUT_IMPORTANCE["hours"], strength,
            f"median {figure(round(typical, 1))} hours worked per week over "
            f"{plural(len(hours), 'period')}{spread}; {reference}",
            _trend(hours, higher_is_worse=True),
            f"Bring {who}'s planned work down until weekly hours are near 40 again "
            f"(median now {figure(round(typical, 1))}).",
            f"Remove or postpone work from {who}'s plate this week."))

    off = _days_off(periods)
    if off is not None:
        measured += 1
        total_off, days, upper_bound, longest = off
        expected = (baseline.days_off_per_week if baseline is not None
                    and baseline.days_off_per_week is not None else DAYS_OFF_EXPECTED)
        rate = total_off / (days / 7)
        strength = ramp(rate, expected * 0.75, 0.0) if expected > 0 else 0.0
        what = "at most " if upper_bound else ""
        longest_text = (f"; longest stretch without a day off: {plural(longest, 'day')}"
                        if longest >= 7 else "")
        factors.append(_Factor(
            "missing days off", _BURNOUT_IMPORTANCE["days off"], strength,
            f"{what}{plural(total_off, 'day')} off in {plural(days, 'day')} "
            f"({figure(round(rate, 1))} a week; {figure(expected)} a week expected)"
            f"{longest_text}",
            _trend(_series(periods, "days_off"), higher_is_worse=False),
            f"Agree with {who} on at least one full day off every week, protected from "
            "messages and pages.",
            f"Schedule time off for {who} within the next two weeks."))

    on_call = _on_call(periods)
    if on_call is not None:
        measured += 1
        strength, evidence, series = on_call
        factors.append(_Factor(
            "on-call and incident load", _BURNOUT_IMPORTANCE["on-call"], strength, evidence,
            _trend(series, higher_is_worse=True),
            "Spread on-call more evenly across the team and fix the top sources of pages.",
            f"Take {who} off the on-call rota for the coming week."))

    for field, name, importance, start, full in (
            ("after_hours_share", "after-hours work", _BURNOUT_IMPORTANCE["after hours"],
             AFTER_HOURS_START, AFTER_HOURS_FULL),
            ("weekend_share", "weekend work", _BURNOUT_IMPORTANCE["weekends"],
             WEEKEND_START, WEEKEND_FULL)):
        share = mean_share(periods, field)
        if share is None:
            continue
        measured += 1
        strength = ramp(share, start, full)
        base = getattr(baseline, field) if baseline is not None else None
        against = f"{percent(start)} starts to count"
        if base is not None:
            strength = max(strength, ramp(share - base, SHARE_OVER_START, SHARE_OVER_FULL))
            against = f"baseline {percent(base)}"
        where = "outside working hours" if field == "after_hours_share" else "on weekends"
        factors.append(_Factor(
            name, importance, strength, f"{percent(share)} of activity {where} ({against})",
            _trend(_series(periods, field, share=True), higher_is_worse=True),
            "Make it explicit that work outside hours is not expected, and move recurring "
            "late or weekend tasks into working hours."))

    reviews = weekly_rate(periods, "reviews_given")
    if reviews is not None:
        measured += 1
        if baseline is not None and baseline.reviews_given_per_week:
            ratio = reviews / baseline.reviews_given_per_week
            strength = ramp(ratio, REVIEWS_RATIO_START, REVIEWS_RATIO_FULL)
            evidence = (f"{figure(round(reviews, 1))} reviews given per week, "
                        f"{figure(round(ratio, 1))}x the baseline of "
                        f"{figure(baseline.reviews_given_per_week)}")
        else:
            strength = ramp(reviews, REVIEWS_START, REVIEWS_FULL)
            evidence = (f"{figure(round(reviews, 1))} reviews given per week "
                        f"({figure(REVIEWS_START)} starts to count)")
        factors.append(_Factor(
            "review load", _BURNOUT_IMPORTANCE["reviews"], strength, evidence,
            _trend(_series(periods, "reviews_given"), higher_is_worse=True),
            "Rotate reviewers so that reviews do not queue behind one person."))
    return factors, measured


def _days_off(periods: Sequence[ActivityPeriod]) -> tuple[int, int, bool, int] | None:
    """(days off, days, whether an upper bound, longest run of days without one). Without
    ``days_off``, days without recorded work (``days - active_days``) bound it from above."""
    total = days = longest = run = 0
    upper = False
    for p in periods:
        if p.days_off is not None:
            off = p.days_off
        elif p.active_days is not None:
            off, upper = p.days - p.active_days, True
        else:
            run = 0
            continue
        total += off
        days += p.days
        run = run + p.days if off == 0 else 0
        longest = max(longest, run)
    return (total, days, upper, longest) if days else None


def _on_call(periods: Sequence[ActivityPeriod]) -> tuple[float, str, list[float]] | None:
    parts: list[tuple[float, str]] = []
    series: list[float] = []
    for field, noun, start, full in (("night_pages", "night page", NIGHT_PAGES_START,
                                      NIGHT_PAGES_FULL),
                                     ("pages", "page", PAGES_START, PAGES_FULL),
                                     ("incidents", "incident", INCIDENTS_START, INCIDENTS_FULL)):
        measured = [p for p in periods if p.value(field) is not None]
        if not measured:
            continue
        total = sum(p.value(field) or 0.0 for p in measured)
        weeks = sum(p.weeks for p in measured)
        rate = total / weeks
        parts.append((ramp(rate, start, full),
                      f"{plural(total, noun)} in {plural(round(weeks, 1), 'week')} "
                      f"({figure(round(rate, 1))} a week)"))
        series = series or _series(measured, field)
    if not parts:
        return None
    return max(s for s, _ in parts), "; ".join(text for _, text in parts), series


def burnout_risk(request: AnalysisRequest) -> BurnoutRisk:
    activity, baseline = read_activity(request)
    factors, measured = _burnout_factors(activity, baseline)
    if measured == 0:
        raise Unsupported(
            "the data measures none of the burnout signals (hours_worked, days_off or "
            "active_days, pages/night_pages/incidents, after_hours_share, weekend_share, "
            "reviews_given)")
    present = _present(factors)
    score = round(combine(f.weight for f in present), 2)
    level = level_for_score(score)
    urgent = level.value in ("high", "critical")
    return BurnoutRisk(
        risk_score=score, risk_level=level,
        confidence=_confidence(activity.weeks, measured, 6, FULL_SPAN_WEEKS),
        indicators=[f"{f.name}: {f.evidence}" for f in present],
        factors=[f.record() for f in present],
        recommendations=list(dict.fromkeys(f.recommendation for f in present)),
        immediate_actions=[f.action for f in present if f.action and f.strength >= 0.5]
        if urgent else [],
    )


# -- attrition ---------------------------------------------------------------------------------
def attrition_risk(request: AnalysisRequest) -> AttritionRisk:
    activity, baseline = read_activity(request)
    periods = activity.periods
    if len(periods) < 2 and baseline is None:
        raise Unsupported(
            "attrition signals are changes over time: give at least two periods, or a baseline")
    third = max(1, math.ceil(len(periods) / 3))
    recent = periods[-third:]
    early = periods[:third] if len(periods) >= 2 else []
    who = activity.developer_id
    factors: list[_Factor] = []
    positives: list[str] = []
    measured = 0
    for field, name, importance in _ATTRITION_METRICS:
        now = weekly_rate(recent, field)
        base_value = getattr(baseline, f"{field}_per_week") if baseline is not None else None
        before, source = ((base_value, "the baseline") if base_value is not None else
                          (weekly_rate(early, field), "the first periods"))
        if now is None or before is None:
            continue
        measured += 1
        noun = field.replace("_", " ")
        figures = (f"{figure(round(now, 1))} {noun} a week recently against "
                   f"{figure(round(before, 1))} in {source}")
        if before <= 0:
            continue
        drop = 1 - now / before
        if drop <= STEADY:
            positives.append(f"{noun} steady or rising: {figures}")
            continue
        factors.append(_Factor(
            name, importance, ramp(drop, DROP_START, DROP_FULL),
            f"{figures} ({percent(drop)} lower)",
            _trend(_series(periods, field), higher_is_worse=False),
            _ATTRITION_ADVICE[field].format(who=who)))
    if measured == 0:
        raise Unsupported(
            "the data measures none of the attrition signals in two periods or against a "
            "baseline (commits, reviews_given, prs_opened, active_days, files_touched)")
    overload, _ = _burnout_factors(activity, baseline)
    load = round(combine(f.weight for f in _present(overload)), 2)
    if load >= 0.25:
        factors.append(_Factor(
            "sustained overload", _OVERLOAD_IMPORTANCE, load,
            f"burnout indicators score {load:.2f}: "
            + "; ".join(f.name for f in _present(overload)), None,
            f"Reduce {who}'s load: overload often comes before disengagement."))
    elif any(p.value("hours_worked") is not None or p.value("days_off") is not None
             for p in periods):
        positives.append(f"no sign of overload (burnout indicators score {load:.2f})")
    present = _present(factors)
    score = round(combine(f.weight for f in present), 2)
    confidence = _confidence(activity.weeks, measured, len(_ATTRITION_METRICS),
                             FULL_SPAN_WEEKS)
    if baseline is None:
        confidence = round(confidence * 0.8, 2)  # compared with itself, not a known normal
    return AttritionRisk(
        risk_score=score, risk_level=level_for_score(score), confidence=confidence,
        factors=[f.record() for f in present], positive_signals=positives,
        recommendations=list(dict.fromkeys(f.recommendation for f in present)),
    )


_ATTRITION_ADVICE = {
    "commits": "Hold a 1:1 with {who} about how their work is going and what would make it "
               "more rewarding.",
    "reviews_given": "Ask {who} whether reviewing still feels valued, and share review "
                     "credit visibly.",
    "prs_opened": "Check whether {who} is blocked or has lost ownership of meaningful work.",
    "active_days": "Talk with {who} about workload, scope and anything outside work that "
                   "the team could accommodate.",
    "files_touched": "Offer {who} a broader or new area of ownership, if they want one.",
}


# -- growth and performance trajectories -----------------------------------------------------
@dataclass(slots=True)
class _SkillTimeline:
    """Per skill: (period index, level) where seen; level None for languages by lines."""

    seen: dict[str, list[tuple[int, int | None]]]
    assessed: bool  # levels come from ``skills``; otherwise languages from lines


def _timeline(periods: Sequence[ActivityPeriod]) -> _SkillTimeline:
    if any(p.skills for p in periods):
        seen: dict[str, list[tuple[int, int | None]]] = {}
        for i, p in enumerate(periods):
            for skill, level in p.skills.items():
                seen.setdefault(skill, []).append((i, _LEVELS.index(level)))
        return _SkillTimeline(seen, assessed=True)
    seen = {}
    for i, p in enumerate(periods):
        total = sum(p.lines_by_language.values())
        for lang, lines in p.lines_by_language.items():
            if total and lines / total >= LANGUAGE_SHARE:
                seen.setdefault(lang, []).append((i, None))
    return _SkillTimeline(seen, assessed=False)


def _events(timeline: _SkillTimeline) -> list[tuple[int, str, str]]:
    """(period index, skill, what): a skill first seen after the first period, or a level up."""
    events = []
    for skill, points in timeline.seen.items():
        first = points[0]
        if first[0] > 0:
            events.append((first[0], skill, "new"))
        for (_, a), (i, b) in pairwise(points):
            if a is not None and b is not None and b > a:
                events.append((i, skill, f"{_LEVELS[a].value} to {_LEVELS[b].value}"))
    return sorted(events)


@dataclass(frozen=True, slots=True)
class _Halves:
    """Events in the earlier and the later half of the period-to-period steps, and their pace
    (events per step), so halves of unequal length compare."""

    first: int
    second: int
    first_pace: float | None  # None: fewer than three periods, no two halves to compare
    second_pace: float


def _halves(events: Sequence[tuple[int, str, str]], n: int) -> _Halves:
    # Events happen at steps 1..n-1 (a period compared with the ones before it).
    mid = 1 + (n - 1) // 2
    first = sum(1 for e in events if e[0] < mid)
    second = len(events) - first
    steps_first, steps_second = mid - 1, n - mid
    return _Halves(first, second, first / steps_first if steps_first else None,
                   second / max(1, steps_second))


def _accelerating(h: _Halves) -> bool:
    return h.first_pace is not None and h.second_pace > h.first_pace and h.second >= 2


def growth_trajectory(request: AnalysisRequest) -> GrowthTrajectory:
    activity, _ = read_activity(request)
    periods = activity.periods
    timeline = _timeline(periods)
    covered = {i for points in timeline.seen.values() for i, _ in points}
    if len(covered) < 2:
        raise Unsupported(
            "growth is read from skills (with levels) or lines_by_language in at least two "
            "periods, and the data has them in fewer")
    n = len(periods)
    events = _events(timeline)
    halves = _halves(events, n)
    acquired = list(dict.fromkeys(skill for _, skill, _ in events))
    declining = _declining(timeline, periods)
    output = relative_change(_series(periods, "lines_changed") or _series(periods, "commits"))
    shrinking = output is not None and output <= -0.3
    if shrinking and len(declining) > len(acquired):
        trajectory = Trajectory.DECLINING
    elif _accelerating(halves):
        trajectory = Trajectory.ACCELERATING
    elif not halves.second:
        trajectory = Trajectory.PLATEAUING
    else:
        trajectory = Trajectory.STEADY
    quarters = max(activity.weeks / 13, 1 / 13)
    velocity = round(clamp(len(events) / quarters / 2), 2)  # one event a quarter is 0.5
    what = "skills with assessed levels" if timeline.assessed else \
        f"languages with at least {percent(LANGUAGE_SHARE)} of a period's lines changed"
    summary = (
        f"{activity.developer_id} over {_span(activity)}, read from {what}: "
        f"{len(events)} new skill{'' if len(events) == 1 else 's'} or level-up"
        f"{'' if len(events) == 1 else 's'} ({halves.first} in the first half of the periods, "
        f"{halves.second} in the second)"
        + (f"; output changed {percent(output)} across the periods" if output is not None
           else "")
        + f". Learning velocity {velocity:.2f} (1 a quarter is 0.5). Computed by aexy's offline "
          "heuristics from the figures, not judged by a model.")
    return GrowthTrajectory(trajectory=trajectory, skills_acquired=acquired,
                            skills_declining=declining, learning_velocity=velocity,
                            summary=summary)


def _declining(timeline: _SkillTimeline, periods: Sequence[ActivityPeriod]) -> list[str]:
    """Skills seen early and not in the second half, or whose level went down."""
    n = len(periods)
    late = set(range(n // 2, n)) if n > 1 else {0}
    out = []
    for skill, points in timeline.seen.items():
        indices = {i for i, _ in points}
        levels = [lv for _, lv in points if lv is not None]
        dropped = points[0][0] < n // 2 and not indices & late
        if dropped or (len(levels) >= 2 and levels[-1] < max(levels)):
            out.append(skill)
    return out


def performance_trajectory(request: AnalysisRequest) -> PerformanceTrajectory:
    activity, baseline = read_activity(request)
    periods = activity.periods
    quality = [(i, p.quality_score) for i, p in enumerate(periods) if p.quality_score is not None]
    timeline = _timeline(periods)
    if len(quality) < 3 and not timeline.assessed:
        raise Unsupported(
            "a performance trajectory is read from quality_score in at least three periods or "
            "from skills with levels, and the data has neither")
    who = activity.developer_id
    horizon = _horizon(request.context.get("horizon_months"))
    n = len(periods)
    weeks_per_period = activity.weeks / n
    challenges: list[str] = []
    opportunities: list[str] = []
    recommendations: list[str] = []
    signals = 0

    per_quarter: float | None = None
    if len(quality) >= 3:
        signals += 1
        per_quarter = slope([q for _, q in quality]) / weeks_per_period * 13
        first, last = quality[0][1], quality[-1][1]
        text = (f"code quality went from {figure(first)} to {figure(last)}/10 over "
                f"{plural(len(quality), 'period')} ({per_quarter:+.1f} a quarter)")
        if per_quarter <= -QUALITY_STEP:
            challenges.append(text)
            recommendations.append(f"Look at what changed in {who}'s work as quality fell: "
                                   "time pressure, unfamiliar areas, or reviews skipped.")
        elif per_quarter >= QUALITY_STEP:
            opportunities.append(text)
    events = _events(timeline) if timeline.assessed else []
    if timeline.assessed:
        signals += 1
    halves = _halves(events, n)
    output = relative_change(_series(periods, "prs_merged") or _series(periods, "commits"))
    if output is not None:
        signals += 1
        if output <= -0.3:
            challenges.append(f"output fell {percent(-output)} across the periods")
            recommendations.append(f"Check whether {who} is blocked, overloaded or working on "
                                   "work that does not show in commits.")
    load = combine(f.weight for f in _present(_burnout_factors(activity, baseline)[0]))
    if load >= 0.5:
        challenges.append(f"burnout indicators score {load:.2f}: growth is unlikely to hold "
                          "under this load")
        recommendations.append(f"Reduce {who}'s load before adding growth goals.")

    if per_quarter is not None and per_quarter <= -QUALITY_STEP:
        trajectory = Trajectory.DECLINING
    elif _accelerating(halves):
        trajectory = Trajectory.ACCELERATING
    elif events or (per_quarter is not None and per_quarter >= QUALITY_STEP):
        trajectory = Trajectory.STEADY
    else:
        trajectory = Trajectory.PLATEAUING
        challenges.append(f"no skill moved up a level and quality stayed flat over "
                          f"{plural(round(activity.weeks), 'week')}")
        recommendations.append(f"Agree with {who} on one stretch goal for the coming quarter.")

    predicted: list[PredictedGrowth] = []
    for skill, points in timeline.seen.items() if timeline.assessed else ():
        ups = [e for e in events if e[1] == skill and e[2] != "new"]
        current = points[-1][1]
        if not ups or current is None or current >= len(_LEVELS) - 1:
            continue
        span_weeks = sum(p.weeks for p in periods[points[0][0]:])
        months = max(3, math.ceil(span_weeks / len(ups) / 4.35))
        if months > horizon:
            continue
        predicted.append(PredictedGrowth(skill=skill, current=_LEVELS[current],
                                         predicted=_LEVELS[current + 1],
                                         timeline=f"{months} months"))
        opportunities.append(f"{skill} rose {len(ups)} level{'s' if len(ups) > 1 else ''} in "
                             f"{plural(round(span_weeks), 'week')}")
    if predicted:
        recommendations.append(f"Give {who} work that uses "
                               f"{', '.join(p.skill for p in predicted)} to keep the pace.")
    confidence = _confidence(activity.weeks, signals, 3, FULL_HISTORY_WEEKS)
    return PerformanceTrajectory(trajectory=trajectory, confidence=confidence,
                                 predicted_growth=predicted, challenges=challenges,
                                 opportunities=opportunities,
                                 recommendations=list(dict.fromkeys(recommendations)))


def _horizon(raw: Any) -> int:
    try:
        months = int(raw) if raw is not None else 6
    except (TypeError, ValueError):
        raise Unsupported(f"horizon_months must be a whole number of months, got {raw!r}"
                          ) from None
    return max(1, months)


# -- developer profile -----------------------------------------------------------------------
def developer_profile(request: AnalysisRequest) -> DeveloperProfile:
    try:
        activity, _ = read_activity(request)
    except Unsupported as exc:
        raise Unsupported(f"{exc.reason}; a profile from free text needs a model") from None
    periods = activity.periods
    lines: dict[str, int] = {}
    active: dict[str, int] = {}
    for p in periods:
        for lang, count in p.lines_by_language.items():
            lines[lang] = lines.get(lang, 0) + count
            if count:
                active[lang] = active.get(lang, 0) + 1
    samples: dict[str, list[str]] = {}
    for ev in activity.code_evidence:
        for skill in dict.fromkeys([*([ev.language] if ev.language else []), *ev.skills]):
            samples.setdefault(skill, []).append(ev.path)
    assessed = {skill: (level, p.label or str(p.start))
                for p in periods for skill, level in p.skills.items()}
    if not lines and not samples and not assessed:
        raise Unsupported("the data has no lines_by_language, code_evidence or skills to "
                          "build a profile from")
    total = sum(lines.values())
    languages = sorted(lines, key=lambda k: -lines[k]) or list(dict.fromkeys(
        ev.language for ev in activity.code_evidence if ev.language))
    expertise = _expertise(lines, active, len(periods), samples, activity, assessed)
    strengths = _profile_strengths(activity, lines)
    shares = ", ".join(f"{lang} {percent(lines[lang] / total)}" for lang in languages[:4]
                       if total) or ", ".join(languages[:4])
    counts = [f"{figure(v)} {noun}" for v, noun in (
        (_total(periods, "commits"), "commits"), (_total(periods, "prs_opened"), "PRs opened"),
        (_total(periods, "reviews_given"), "reviews given")) if v is not None]
    summary = (
        f"{activity.developer_id} over {_span(activity)}"
        + (f": {', '.join(counts)}" if counts else "")
        + (f"; languages by lines changed: {shares}" if shares else "")
        + f"; {plural(len(activity.code_evidence), 'code sample')} analysed. Levels below "
          "measure exposure (volume and breadth of work), not mastery. Seniority and growth "
          "areas need a model's judgement and are left empty by aexy's offline heuristics.")
    return DeveloperProfile(summary=summary, primary_languages=languages[:5],
                            expertise=expertise, seniority=None, strengths=strengths,
                            growth_areas=[])


def _total(periods: Sequence[ActivityPeriod], field: str) -> float | None:
    values = [p.value(field) for p in periods]
    measured = [v for v in values if v is not None]
    return sum(measured) if measured else None


def _expertise(lines: dict[str, int], active: dict[str, int], n_periods: int,
               samples: dict[str, list[str]], activity: DeveloperActivity,
               assessed: dict[str, tuple[Proficiency, str]]) -> list[Expertise]:
    out: dict[str, Expertise] = {}
    total = sum(lines.values())
    for lang in sorted(lines, key=lambda k: -lines[k]):
        count = lines[lang]
        if not total or count / total < 0.1:
            continue
        level = (Proficiency.ADVANCED if count >= ADVANCED_LINES and active[lang] * 2 >= n_periods
                 else Proficiency.INTERMEDIATE if count >= INTERMEDIATE_LINES
                 else Proficiency.BEGINNER)
        out[lang.casefold()] = Expertise(
            area=lang, level=level,
            evidence=f"{figure(count)} lines changed in {active[lang]} of "
                     f"{plural(n_periods, 'period')} (exposure)")
    complexity: dict[str, list[int]] = {}
    for ev in activity.code_evidence:
        for skill in ev.skills:
            if ev.complexity is not None:
                complexity.setdefault(skill, []).append(ev.complexity)
    for skill, paths in sorted(samples.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        if skill.casefold() in out:
            continue
        mean = (sum(complexity[skill]) / len(complexity[skill])) if complexity.get(skill) else None
        level = (Proficiency.ADVANCED if len(paths) >= 4 and mean is not None and mean >= 6
                 else Proficiency.INTERMEDIATE if len(paths) >= 2 else Proficiency.BEGINNER)
        shown = ", ".join(list(dict.fromkeys(paths))[:3])
        out[skill.casefold()] = Expertise(
            area=skill, level=level,
            evidence=f"seen in {plural(len(paths), 'code sample')} ({shown})"
                     + (f", mean complexity {mean:.1f}/10" if mean is not None else ""))
    for skill, (level, when) in assessed.items():
        out[skill.casefold()] = Expertise(area=skill, level=level,
                                          evidence=f"assessed {level.value} in {when}")
    return list(out.values())[:10]


def _profile_strengths(activity: DeveloperActivity, lines: dict[str, int]) -> list[str]:
    periods = activity.periods
    out: list[str] = []
    reviews, opened = _total(periods, "reviews_given"), _total(periods, "prs_opened")
    if reviews and opened and reviews / opened >= 1.5:
        out.append(f"reviews others' work: {figure(reviews)} reviews given, "
                   f"{figure(opened)} PRs opened")
    with_commits = [p for p in periods if p.commits is not None]
    if len(with_commits) >= 3:
        busy = sum(1 for p in with_commits if p.commits)
        if busy / len(with_commits) >= 0.8:
            out.append(f"steady contribution: commits in {busy} of "
                       f"{plural(len(with_commits), 'period')}")
    total = sum(lines.values())
    broad = [lang for lang, count in lines.items() if total and count / total >= 0.1]
    if len(broad) >= 3:
        out.append(f"works across {len(broad)} languages ({', '.join(sorted(broad))})")
    scores = [float(ev.quality_score) for ev in activity.code_evidence
              if ev.quality_score is not None] + [
        p.quality_score for p in periods if p.quality_score is not None]
    if scores and sum(scores) / len(scores) >= 7:
        out.append(f"code quality averages {sum(scores) / len(scores):.1f}/10 over "
                   f"{plural(len(scores), 'measure')}")
    return out

