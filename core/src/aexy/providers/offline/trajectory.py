"""Offline ``growth_trajectory`` and ``performance_trajectory``: trends over the periods of a
:class:`~aexy.catalogue.activity.DeveloperActivity` (new skills and level-ups, quality score
slopes, output). Thresholds are the constants below and in ``docs/providers/offline.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from aexy.analysis import AnalysisRequest
from aexy.catalogue.activity import ActivityPeriod
from aexy.catalogue.common import Proficiency, Trajectory
from aexy.catalogue.developer import GrowthTrajectory
from aexy.catalogue.predictive import PerformanceTrajectory, PredictedGrowth
from aexy.providers.offline.activity import confidence_of, per_period, read_activity, span_text
from aexy.providers.offline.common import (
    Unsupported,
    clamp,
    figure,
    percent,
    plural,
    relative_change,
    slope,
)
from aexy.providers.offline.risk import load_score

__all__ = ["growth_trajectory", "performance_trajectory"]

#: A language counts in a period from this share of the period's lines.
LANGUAGE_SHARE = 0.05
#: Quality score change per quarter that counts as a rise or a fall.
QUALITY_STEP = 0.3
#: Weeks of history for full confidence.
FULL_HISTORY_WEEKS = 26.0

_LEVELS = list(Proficiency)


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
    output = relative_change(per_period(periods, "lines_changed") or per_period(periods, "commits"))
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
        f"{activity.developer_id} over {span_text(activity)}, read from {what}: "
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
    output = relative_change(per_period(periods, "prs_merged") or per_period(periods, "commits"))
    if output is not None:
        signals += 1
        if output <= -0.3:
            challenges.append(f"output fell {percent(-output)} across the periods")
            recommendations.append(f"Check whether {who} is blocked, overloaded or working on "
                                   "work that does not show in commits.")
    load = load_score(activity, baseline)
    if load >= 0.5:
        challenges.append(f"measured load scores {load:.2f} as a burnout risk: growth is "
                          "unlikely to hold under this load")
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
    confidence = confidence_of(activity.weeks, signals, 3, FULL_HISTORY_WEEKS)
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
