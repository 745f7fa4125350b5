"""Offline ``team_health`` from :class:`~aexy.catalogue.activity.TeamMetrics`.

Each measured dimension gets a score from 0 (failing) to 1 (healthy) by a linear ramp between
two thresholds; the health score is their mean, and the grade follows it with the catalogue's
own bounds (:func:`aexy.catalogue.predictive.grade_for_score`), so the two always agree.
Dimensions under 0.5 become risks (severity by score), dimensions from 0.8 strengths, and
concentrated reviews, commits or ownership become named bottlenecks.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from aexy.analysis import AnalysisRequest
from aexy.catalogue.activity import TeamMetrics
from aexy.catalogue.common import Level
from aexy.catalogue.predictive import TeamHealth, TeamRisk, grade_for_score
from aexy.providers.offline.common import (
    Unsupported,
    describe_errors,
    figure,
    percent,
    plural,
    ramp,
)

__all__ = ["team_health"]

#: At least this many measured dimensions are needed to grade a team.
MIN_DIMENSIONS = 3
#: A dimension scoring below this is a risk; from STRONG it is a strength.
RISK_BELOW, STRONG = 0.5, 0.8
#: Retention: the share of people who left (of those who left plus the team now) from which
#: it counts against the team, and where it is at its worst.
DEPARTED_START, DEPARTED_FULL = 0.1, 0.5


@dataclass(frozen=True, slots=True)
class _Dimension:
    name: str
    score: float
    figure: str  # the measured figure, as stated in strengths, risks and bottlenecks
    risk: str
    mitigation: str
    bottleneck: str | None = None
    #: Measures a risk only: its absence is no strength (few commits after hours do not show
    #: a rested team, nor a spread of commits shared knowledge).
    risk_only: bool = False


def _deploy_score(per_week: float) -> float:
    # Deployment frequency bands: daily or more, weekly, monthly, rarer.
    return 1.0 if per_week >= 5 else 0.75 if per_week >= 1 else 0.5 if per_week >= 0.25 else (
        0.25 if per_week > 0 else 0.0)


def _dimensions(m: TeamMetrics) -> list[_Dimension]:
    weeks = m.weeks
    dims: list[_Dimension] = []
    if m.deploys is not None:
        rate = m.deploys / weeks
        dims.append(_Dimension(
            "deployment frequency", _deploy_score(rate),
            f"{figure(round(rate, 1))} deploys a week",
            "infrequent deployments",
            "Ship smaller changes more often and automate the release steps."))
    if m.change_failure_rate is not None:
        dims.append(_Dimension(
            "change failure rate", ramp(m.change_failure_rate, 0.45, 0.15),
            f"{percent(m.change_failure_rate)} of deployments cause a failure",
            "deployments often fail in production",
            "Add pre-release checks for the failure causes seen, and make rollback one step."))
    if m.cycle_time_days_p50 is not None:
        dims.append(_Dimension(
            "cycle time", ramp(m.cycle_time_days_p50, 14, 1),
            f"median cycle time {figure(m.cycle_time_days_p50)} days",
            "slow delivery",
            "Split work into smaller pull requests and limit work in progress."))
    if m.review_turnaround_hours_p50 is not None:
        score = ramp(m.review_turnaround_hours_p50, 48, 4)
        text = f"median {figure(m.review_turnaround_hours_p50)} hours to a first review"
        dims.append(_Dimension(
            "review turnaround", score, text, "pull requests wait long for review",
            "Agree on a review turnaround target and a daily review slot.",
            f"review queue: {text}" if score < RISK_BELOW else None))
    if m.incidents is not None:
        rate = m.incidents / weeks
        dims.append(_Dimension(
            "incident load", ramp(rate, 3, 0), f"{plural(m.incidents, 'incident')} in "
            f"{plural(round(weeks, 1), 'week')}", "frequent production incidents",
            "Run post-incident reviews and fund the top fixes they name."))
    if m.pages is not None:
        rate = m.pages / weeks
        dims.append(_Dimension(
            "on-call load", ramp(rate, 15, 2), f"{figure(round(rate, 1))} pages a week",
            "heavy on-call load", "Cut noisy alerts and spread the rota over more people."))
    if m.after_hours_share is not None:
        dims.append(_Dimension(
            "after-hours work", ramp(m.after_hours_share, 0.35, 0.10),
            f"{percent(m.after_hours_share)} of commits after hours",
            "regular after-hours work",
            "Find what pushes work past hours (deadlines, incidents, time zones) and plan it "
            "into working time.", risk_only=True))
    if m.weekend_share is not None:
        dims.append(_Dimension(
            "weekend work", ramp(m.weekend_share, 0.25, 0.05),
            f"{percent(m.weekend_share)} of commits on weekends", "regular weekend work",
            "Make weekends work-free by default; rotate any weekend duty explicitly.",
            risk_only=True))
    for shares, noun, what in ((m.review_share, "reviews", "review load"),
                               (m.commit_share, "commits", "knowledge")):
        people = m.size or len(shares)
        if len(shares) < 2 or people < 2:
            continue
        top = max(sorted(shares), key=lambda k: shares[k])
        ratio = shares[top] * people
        score = ramp(ratio, 4, 1.5)
        text = (f"{top} does {percent(shares[top])} of the {noun} "
                f"({figure(round(ratio, 1))}x an even share in a team of {people})")
        dims.append(_Dimension(
            f"{what} concentration", score, text, f"{what} concentrated on one person",
            f"Spread the {noun}: pair others with {top} and rotate who does them.",
            text if score < RISK_BELOW else None, risk_only=True))
    if m.single_owner_areas is not None:
        count = len(m.single_owner_areas)
        areas = ", ".join(m.single_owner_areas)
        dims.append(_Dimension(
            "shared ownership", ramp(count, 4, 0),
            f"{plural(count, 'area')} with a single owner" + (f" ({areas})" if areas else ""),
            "knowledge held by single owners (bus factor 1)",
            "Schedule knowledge transfer and pair a second person on each single-owner area.",
            f"single owners: {areas}" if count else None, risk_only=True))
    if m.departures is not None:
        left = len(m.departures)
        now = m.size if m.size is not None else 0
        rate = left / (left + now) if left + now else 0.0
        who = f" ({', '.join(m.departures[:5])}{', ...' if left > 5 else ''})" if left else ""
        dims.append(_Dimension(
            "retention", ramp(rate, DEPARTED_FULL, DEPARTED_START),
            f"{_people(left)} active in the previous period no longer active{who}, "
            f"against {_people(now)} in the team now",
            "people leaving the team",
            "Talk with the people who stayed about load and ownership, and hand over what "
            "the people who left owned.", risk_only=True))
    return dims


def _people(count: int) -> str:
    return f"{count} {'person' if count == 1 else 'people'}"


def _severity(score: float) -> Level:
    return Level.CRITICAL if score < 0.15 else Level.HIGH if score < 0.3 else Level.MODERATE


def team_health(request: AnalysisRequest) -> TeamHealth:
    try:
        metrics = TeamMetrics.model_validate_json(request.content)
    except ValidationError as exc:
        raise Unsupported(
            "the offline method reads aexy TeamMetrics JSON (aexy.TeamMetrics, "
            f"docs/activity-data.md) and this content is not that ({describe_errors(exc)})"
        ) from None
    dims = _dimensions(metrics)
    if len(dims) < MIN_DIMENSIONS:
        raise Unsupported(
            f"grading a team needs at least {MIN_DIMENSIONS} measured dimensions and the "
            f"metrics have {len(dims)}" + (f" ({', '.join(d.name for d in dims)})" if dims
                                            else ""))
    score = round(sum(d.score for d in dims) / len(dims), 2)
    worst_first = sorted(dims, key=lambda d: (d.score, d.name))
    weak = [d for d in worst_first if d.score < RISK_BELOW]
    return TeamHealth(
        health_score=score, grade=grade_for_score(score),
        strengths=[f"{d.name}: {d.figure}" for d in reversed(worst_first)
                   if d.score >= STRONG and not d.risk_only],
        risks=[TeamRisk(risk=f"{d.risk}: {d.figure}", severity=_severity(d.score),
                        mitigation=d.mitigation) for d in weak],
        bottlenecks=[d.bottleneck for d in worst_first if d.bottleneck],
        recommendations=list(dict.fromkeys(d.mitigation for d in weak)),
    )
