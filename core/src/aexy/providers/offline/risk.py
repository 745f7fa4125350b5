"""Offline ``burnout_risk`` and ``attrition_risk`` from
:class:`~aexy.catalogue.activity.DeveloperActivity`.

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
from statistics import median

from aexy.analysis import AnalysisRequest
from aexy.catalogue.activity import (
    ActivityBaseline,
    ActivityPeriod,
    DeveloperActivity,
    mean_share,
    weekly_rate,
)
from aexy.catalogue.common import Trend
from aexy.catalogue.predictive import AttritionRisk, BurnoutRisk, RiskFactor, level_for_score
from aexy.providers.offline.activity import STEADY, confidence_of, per_period, read_activity, trend
from aexy.providers.offline.common import (
    Unsupported,
    combine,
    figure,
    percent,
    plural,
    ramp,
)

__all__ = ["Factor", "attrition_risk", "burnout_factors", "burnout_risk", "heaviest_first",
           "load_score"]

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
#: Weeks of data for full confidence.
FULL_SPAN_WEEKS = 8.0
#: Confidence at most, when only commit-time proxies were measured (the score is a floor).
PROXY_CONFIDENCE = 0.3

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


@dataclass(slots=True)
class Factor:
    name: str
    importance: float
    strength: float
    evidence: str
    trend: Trend | None
    recommendation: str
    action: str | None = None
    #: Read from when commits were made (after hours, weekends, days without one): such a
    #: proxy can show a risk, never its absence (work leaves no commit every hour it is done).
    proxy: bool = False

    @property
    def weight(self) -> float:
        return round(self.importance * self.strength, 2)

    def record(self) -> RiskFactor:
        return RiskFactor(factor=self.name, weight=self.weight, evidence=self.evidence,
                          trend=self.trend)


def heaviest_first(factors: list[Factor]) -> list[Factor]:
    """Factors with any weight, heaviest first."""
    return sorted((f for f in factors if f.weight > 0), key=lambda f: (-f.weight, f.name))


# -- burnout -----------------------------------------------------------------------------------
def burnout_factors(activity: DeveloperActivity, baseline: ActivityBaseline | None
                     ) -> tuple[list[Factor], int]:
    """The burnout factors and how many of the six signals were measured."""
    periods = activity.periods
    who = activity.addressee  # a display name, never an opaque id
    factors: list[Factor] = []
    measured = 0

    hours = per_period(periods, "hours_worked")
    if hours:
        measured += 1
        typical = median(hours)
        strength = ramp(typical, HOURS_START, HOURS_FULL)
        reference = f"{figure(HOURS_START)} h starts to count"
        target = 40.0
        if baseline is not None and baseline.hours_per_week:
            target = baseline.hours_per_week
            over = typical / baseline.hours_per_week - 1
            strength = max(strength, ramp(over, HOURS_OVER_START, HOURS_OVER_FULL))
            reference = f"baseline {figure(baseline.hours_per_week)} h"
        spread = (f" ({figure(min(hours))}-{figure(max(hours))})" if len(hours) > 1 else "")
        factors.append(Factor(
            "sustained long hours", _BURNOUT_IMPORTANCE["hours"], strength,
            f"median {figure(round(typical, 1))} hours worked per week over "
            f"{plural(len(hours), 'period')}{spread}; {reference}",
            trend(hours, higher_is_worse=True),
            f"Bring {who}'s planned work down until weekly hours are near {figure(target)} "
            f"again (median now {figure(round(typical, 1))}).",
            f"Remove or postpone work from {who}'s plate this week."))

    off = _days_off(periods)
    if off is not None:
        measured += 1
        total_off, days, upper_bound, longest = off
        expected = (baseline.days_off_per_week if baseline is not None
                    and baseline.days_off_per_week is not None else DAYS_OFF_EXPECTED)
        rate = total_off / (days / 7)
        strength = ramp(rate, expected * 0.75, 0.0) if expected > 0 else 0.0
        what = "at most " if upper_bound else ""  # days without recorded work
        longest_text = (f"; longest stretch without a day off: {plural(longest, 'day')}"
                        if longest >= 7 else "")
        factors.append(Factor(
            "missing days off", _BURNOUT_IMPORTANCE["days off"], strength,
            f"{what}{plural(total_off, 'day')} off in {plural(days, 'day')} "
            f"({figure(round(rate, 1))} a week; {figure(expected)} a week expected)"
            f"{longest_text}",
            trend(per_period(periods, "days_off"), higher_is_worse=False),
            f"Agree with {who} on at least one full day off every week, protected from "
            "messages and pages.",
            f"Schedule time off for {who} within the next two weeks.", proxy=upper_bound))

    on_call = _on_call(periods)
    if on_call is not None:
        measured += 1
        strength, evidence, series = on_call
        factors.append(Factor(
            "on-call and incident load", _BURNOUT_IMPORTANCE["on-call"], strength, evidence,
            trend(series, higher_is_worse=True),
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
        factors.append(Factor(
            name, importance, strength, f"{percent(share)} of activity {where} ({against})",
            trend(per_period(periods, field, share=True), higher_is_worse=True),
            "Make it explicit that work outside hours is not expected, and move recurring "
            "late or weekend tasks into working hours.", proxy=True))

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
        factors.append(Factor(
            "review load", _BURNOUT_IMPORTANCE["reviews"], strength, evidence,
            trend(per_period(periods, "reviews_given"), higher_is_worse=True),
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
        series = series or per_period(measured, field)
    if not parts:
        return None
    return max(s for s, _ in parts), "; ".join(text for _, text in parts), series


def load_score(activity: DeveloperActivity, baseline: ActivityBaseline | None) -> float:
    """The burnout score of the measured load alone (hours, days off, on-call, reviews): the
    commit-time proxies are left out, so that "overload" is never read from commit times."""
    factors, _ = burnout_factors(activity, baseline)
    return round(combine(f.weight for f in heaviest_first(factors) if not f.proxy), 2)


def _unmeasured(activity: DeveloperActivity) -> list[str]:
    """The load signals the data does not hold."""
    periods = activity.periods
    out = []
    for fields, what in ((("hours_worked",), "hours worked"), (("days_off",), "days off"),
                         (("pages", "night_pages", "incidents"), "on-call and incidents"),
                         (("reviews_given",), "review load")):
        if not any(p.value(f) is not None for p in periods for f in fields):
            out.append(what)
    return out


def burnout_risk(request: AnalysisRequest) -> BurnoutRisk:
    activity, baseline = read_activity(request)
    factors, measured = burnout_factors(activity, baseline)
    if measured == 0:
        raise Unsupported(
            "the data measures none of the burnout signals (hours_worked, days_off or "
            "active_days, pages/night_pages/incidents, after_hours_share, weekend_share, "
            "reviews_given)")
    present = heaviest_first(factors)
    unmeasured = _unmeasured(activity)
    proxies_only = all(f.proxy for f in factors)
    if proxies_only and not present:
        seen = "; ".join(f"{f.name}: {f.evidence}" for f in factors)
        raise Unsupported(
            "burnout cannot be scored from commit times alone: they show when commits were "
            f"made ({seen}), not {', '.join(unmeasured)}, and a low score would claim what "
            "the data cannot show; activity with hours_worked or days_off answers it "
            "(docs/activity-data.md)")
    score = round(combine(f.weight for f in present), 2)
    level = level_for_score(score)
    urgent = level.value in ("high", "critical")
    confidence = confidence_of(activity.weeks, measured, 6, FULL_SPAN_WEEKS)
    if proxies_only:
        confidence = min(confidence, PROXY_CONFIDENCE)
    return BurnoutRisk(
        risk_score=score, risk_level=level, confidence=confidence,
        indicators=[f"{f.name}: {f.evidence}" for f in present],
        factors=[f.record() for f in present],
        recommendations=list(dict.fromkeys(f.recommendation for f in present)),
        immediate_actions=[f.action for f in present if f.action and f.strength >= 0.5]
        if urgent else [],
        unmeasured=unmeasured,
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
    who = activity.addressee  # a display name, never an opaque id
    factors: list[Factor] = []
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
        factors.append(Factor(
            name, importance, ramp(drop, DROP_START, DROP_FULL),
            f"{figures} ({percent(drop)} lower)",
            trend(per_period(periods, field), higher_is_worse=False),
            _ATTRITION_ADVICE[field].format(who=who)))
    if measured == 0:
        raise Unsupported(
            "the data measures none of the attrition signals in two periods or against a "
            "baseline (commits, reviews_given, prs_opened, active_days, files_touched)")
    overload = [f for f in heaviest_first(burnout_factors(activity, baseline)[0])
                if not f.proxy]
    load = round(combine(f.weight for f in overload), 2)
    if load >= 0.25:
        factors.append(Factor(
            "sustained overload", _OVERLOAD_IMPORTANCE, load,
            f"measured load scores {load:.2f}: " + "; ".join(f.name for f in overload), None,
            f"Reduce {who}'s load: overload often comes before disengagement."))
    elif any(p.value("hours_worked") is not None or p.value("days_off") is not None
             for p in periods):
        positives.append(f"no sign of overload (burnout indicators score {load:.2f})")
    present = heaviest_first(factors)
    score = round(combine(f.weight for f in present), 2)
    confidence = confidence_of(activity.weeks, measured, len(_ATTRITION_METRICS),
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
