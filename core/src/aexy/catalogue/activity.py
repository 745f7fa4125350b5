"""Typed activity input for the people analyses: :class:`DeveloperActivity` and
:class:`TeamMetrics` (format version 1; ``docs/activity-data.md``).

The activity types (``burnout_risk``, ``attrition_risk``, ``performance_trajectory``,
``growth_trajectory``, ``developer_profile``) read a :class:`DeveloperActivity` as JSON, and
``team_health`` reads :class:`TeamMetrics`. Model providers receive the JSON as it is, so they
also accept free-form JSON; the built-in ``offline`` provider computes its answers from these
models only. Build them in code and pass ``model.model_dump_json()`` as the content::

    activity = DeveloperActivity(developer_id="dev-9", periods=[
        ActivityPeriod(start=date(2024, 3, 4), end=date(2024, 3, 10), hours_worked=62,
                       days_off=0, night_pages=3),
    ])
    await gateway.analyze("burnout_risk", activity.model_dump_json())

Two rules make the figures comparable: a count is the total for its period (rates per week are
derived from the period's dates), and a missing value (``null``) means *not measured*, never
zero. Unknown keys are rejected, so a misspelt field cannot pass as "not measured".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date
from itertools import pairwise
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from aexy.catalogue.common import Proficiency

#: An id nobody is called by: a UUID, or 16+ hex digits (a hash).
_OPAQUE_ID = re.compile(r"[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}|[0-9a-fA-F]{16,}")

__all__ = [
    "ACTIVITY_FORMAT_NOTE",
    "RATE_FIELDS",
    "TEAM_FORMAT_NOTE",
    "ActivityBaseline",
    "ActivityPeriod",
    "CodeEvidence",
    "DeveloperActivity",
    "TeamMetrics",
    "mean_share",
    "parse_activity",
    "parse_team_metrics",
    "weekly_rate",
]

#: The version of the format; bumped on any incompatible change.
FORMAT_VERSION: Literal[1] = 1

Count = Annotated[int, Field(ge=0)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
Rate = Annotated[float, Field(ge=0.0)]


class _Input(BaseModel):
    # Unknown keys are an error: "hours" for "hours_worked" must not read as "not measured".
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActivityPeriod(_Input):
    """One period (a week, a sprint, a month) of one developer's activity.

    Counts are totals for the period; shares are of the period's activity (commits, or worked
    time when that is what was measured); ``None`` is "not measured".
    """

    start: date = Field(description="first day of the period")
    end: date = Field(description="last day of the period, inclusive")
    label: str | None = Field(None, description="a name for the period, e.g. '2024-W10'")
    commits: Count | None = Field(None, description="commits authored")
    lines_added: Count | None = None
    lines_deleted: Count | None = None
    lines_by_language: dict[str, Count] = Field(
        default_factory=dict, description="lines changed, added plus deleted, per language")
    files_touched: Count | None = Field(None, description="distinct files changed")
    active_days: Count | None = Field(None, description="days with any recorded work")
    days_off: Count | None = Field(
        None, description="days without any work, weekends included; 2 a week is usual")
    hours_worked: Annotated[float, Field(ge=0.0)] | None = Field(
        None, description="hours worked in the period")
    after_hours_share: Share | None = Field(
        None, description="share of activity outside 08:00-19:00 local time on weekdays")
    weekend_share: Share | None = Field(None, description="share of activity on weekends")
    reviews_given: Count | None = Field(None, description="code reviews given to others")
    reviews_received: Count | None = Field(None, description="reviews received on own work")
    prs_opened: Count | None = Field(None, description="pull requests opened")
    prs_merged: Count | None = Field(None, description="pull requests merged")
    incidents: Count | None = Field(None, description="incidents handled")
    pages: Count | None = Field(None, description="on-call pages received")
    night_pages: Count | None = Field(
        None, description="pages between 22:00 and 07:00 local time, also counted in pages")
    skills: dict[str, Proficiency] = Field(
        default_factory=dict, description="skills assessed in the period, with their level")
    quality_score: Annotated[float, Field(ge=1.0, le=10.0)] | None = Field(
        None, description="mean code quality of the period's work, 1-10")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        days = self.days
        if days < 1:
            raise ValueError(f"end {self.end} is before start {self.start}")
        for name in ("active_days", "days_off"):
            value = getattr(self, name)
            if value is not None and value > days:
                raise ValueError(f"{name} is {value}, more than the period's {days} days")
        if self.active_days is not None and self.days_off is not None and (
                self.active_days + self.days_off > days):
            raise ValueError(f"active_days + days_off is {self.active_days + self.days_off}, "
                             f"more than the period's {days} days")
        if self.hours_worked is not None and self.hours_worked > 24 * days:
            raise ValueError(f"hours_worked is {self.hours_worked}, more than 24 h a day")
        if self.pages is not None and self.night_pages is not None and (
                self.night_pages > self.pages):
            raise ValueError("night_pages is more than pages (night pages are part of pages)")
        return self

    @property
    def days(self) -> int:
        """Length of the period in days (both ends included)."""
        return (self.end - self.start).days + 1

    @property
    def weeks(self) -> float:
        return self.days / 7

    @property
    def lines_changed(self) -> int | None:
        """Lines changed: the per-language total, else added + deleted, else ``None``."""
        if self.lines_by_language:
            return sum(self.lines_by_language.values())
        if self.lines_added is None and self.lines_deleted is None:
            return None
        return (self.lines_added or 0) + (self.lines_deleted or 0)

    def value(self, field: str) -> float | None:
        """A count or share by name (``lines_changed`` included)."""
        raw = self.lines_changed if field == "lines_changed" else getattr(self, field)
        return None if raw is None else float(raw)


#: Period field -> the baseline field holding its usual weekly rate.
RATE_FIELDS: dict[str, str] = {
    "hours_worked": "hours_per_week",
    "commits": "commits_per_week",
    "lines_changed": "lines_changed_per_week",
    "files_touched": "files_touched_per_week",
    "active_days": "active_days_per_week",
    "days_off": "days_off_per_week",
    "reviews_given": "reviews_given_per_week",
    "reviews_received": "reviews_received_per_week",
    "prs_opened": "prs_opened_per_week",
    "prs_merged": "prs_merged_per_week",
    "incidents": "incidents_per_week",
    "pages": "pages_per_week",
    "night_pages": "night_pages_per_week",
}
_SHARE_FIELDS = ("after_hours_share", "weekend_share")


class ActivityBaseline(_Input):
    """The person's (or the team's) usual levels, per week; ``None`` is "not known"."""

    hours_per_week: Annotated[float, Field(ge=0.0, le=168.0)] | None = None
    commits_per_week: Rate | None = None
    lines_changed_per_week: Rate | None = None
    files_touched_per_week: Rate | None = None
    active_days_per_week: Annotated[float, Field(ge=0.0, le=7.0)] | None = None
    days_off_per_week: Annotated[float, Field(ge=0.0, le=7.0)] | None = None
    reviews_given_per_week: Rate | None = None
    reviews_received_per_week: Rate | None = None
    prs_opened_per_week: Rate | None = None
    prs_merged_per_week: Rate | None = None
    incidents_per_week: Rate | None = None
    pages_per_week: Rate | None = None
    night_pages_per_week: Rate | None = None
    after_hours_share: Share | None = None
    weekend_share: Share | None = None

    @classmethod
    def from_periods(cls, periods: Iterable[ActivityPeriod]) -> ActivityBaseline:
        """Weekly rates and week-weighted shares over ``periods`` (e.g. last year's), each
        from the periods that measured it."""
        items = list(periods)
        values: dict[str, float] = {}
        for field, target in RATE_FIELDS.items():
            rate = weekly_rate(items, field)
            if rate is not None:
                values[target] = round(rate, 4)
        for field in _SHARE_FIELDS:
            share = mean_share(items, field)
            if share is not None:
                values[field] = round(share, 4)
        return cls.model_validate(values)


class CodeEvidence(_Input):
    """One code sample and what an analysis found in it (e.g. a ``skill_extraction`` result)."""

    path: str = Field(min_length=1)
    commit: str | None = None
    language: str | None = None
    skills: list[str] = Field(default_factory=list,
                              description="e.g. SkillExtraction.skills of the sample")
    complexity: Annotated[int, Field(ge=1, le=10)] | None = None
    quality_score: Annotated[int, Field(ge=1, le=10)] | None = None


class DeveloperActivity(_Input):
    """One developer's activity over consecutive periods, with an optional baseline."""

    schema_version: Literal[1] = Field(FORMAT_VERSION, description="format version")
    developer_id: str = Field(min_length=1, description="an id or handle; a label only")
    display_name: str | None = Field(
        None, min_length=1, description="the name recommendations address the developer by")
    timezone: str | None = Field(None, description="IANA zone the hours are read in")
    periods: list[ActivityPeriod] = Field(min_length=1, description="in time order")
    baseline: ActivityBaseline | None = Field(None, description="usual weekly levels")
    code_evidence: list[CodeEvidence] = Field(default_factory=list)

    @property
    def addressee(self) -> str:
        """How advice names the developer: ``display_name``, else ``developer_id`` unless it
        is an opaque id (a UUID or a long hex string), which reads as "this developer"."""
        if self.display_name:
            return self.display_name
        if _OPAQUE_ID.fullmatch(self.developer_id):
            return "this developer"
        return self.developer_id

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        for before, after in pairwise(self.periods):
            if after.start <= before.end:
                raise ValueError(f"periods must be in time order without overlap: "
                                 f"{after.start} starts before {before.end} ends")
        return self

    @property
    def weeks(self) -> float:
        """Weeks covered by the periods."""
        return sum(p.weeks for p in self.periods)


class TeamMetrics(_Input):
    """One team's delivery and load figures over one period."""

    schema_version: Literal[1] = Field(FORMAT_VERSION, description="format version")
    team: str | None = None
    start: date
    end: date
    size: Annotated[int, Field(ge=1)] | None = Field(None, description="people in the team")
    deploys: Count | None = Field(None, description="production deployments in the period")
    change_failure_rate: Share | None = Field(
        None, description="share of deployments that caused a failure in production")
    cycle_time_days_p50: Rate | None = Field(None, description="median days from first commit "
                                                               "to production")
    review_turnaround_hours_p50: Rate | None = Field(
        None, description="median hours from review request to first review")
    incidents: Count | None = Field(None, description="production incidents in the period")
    pages: Count | None = Field(None, description="on-call pages in the period")
    after_hours_share: Share | None = Field(None, description="share of commits after hours")
    weekend_share: Share | None = Field(None, description="share of commits on weekends")
    review_share: dict[str, Share] = Field(
        default_factory=dict, description="person -> share of the team's reviews")
    commit_share: dict[str, Share] = Field(
        default_factory=dict, description="person -> share of the team's commits")
    single_owner_areas: list[str] | None = Field(
        None, description="services or modules only one person changes ([] when none)")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        for name in ("review_share", "commit_share"):
            total = sum(getattr(self, name).values())
            if total > 1.0001:
                raise ValueError(f"{name} adds up to {total:.2f}, more than 1")
        return self

    @property
    def weeks(self) -> float:
        return ((self.end - self.start).days + 1) / 7


# -- figures over periods, shared by the prompts' callers and the offline methods -----------------
def weekly_rate(periods: Sequence[ActivityPeriod], field: str) -> float | None:
    """Total of ``field`` per week over the periods that measured it; ``None`` if none did."""
    total = weeks = 0.0
    for p in periods:
        value = p.value(field)
        if value is not None:
            total += value
            weeks += p.weeks
    return total / weeks if weeks else None


def mean_share(periods: Sequence[ActivityPeriod], field: str) -> float | None:
    """A share averaged over the periods that measured it, weighted by their length."""
    total = weeks = 0.0
    for p in periods:
        value = p.value(field)
        if value is not None:
            total += value * p.weeks
            weeks += p.weeks
    return total / weeks if weeks else None


def parse_activity(content: str) -> DeveloperActivity | None:
    """``content`` as a :class:`DeveloperActivity`, or ``None`` when it is something else
    (free-form JSON or prose, which model providers read as they are)."""
    try:
        return DeveloperActivity.model_validate_json(content)
    except ValidationError:
        return None


def parse_team_metrics(content: str) -> TeamMetrics | None:
    """``content`` as :class:`TeamMetrics`, or ``None``."""
    try:
        return TeamMetrics.model_validate_json(content)
    except ValidationError:
        return None


def _glossary(model: type[BaseModel]) -> str:
    parts = []
    for name, info in model.model_fields.items():
        parts.append(f"{name}: {info.description}" if info.description else name)
    return "; ".join(parts)


#: Said in the system prompt of every type that reads developer activity.
ACTIVITY_FORMAT_NOTE = (
    "The activity data is usually aexy's DeveloperActivity JSON (schema_version 1): "
    "developer_id, optional baseline (usual weekly levels), and periods in time order. Each "
    f"period has: {_glossary(ActivityPeriod)}. Counts are totals for their period, so compare "
    "periods of different lengths per week; shares are 0.0 to 1.0; null or a missing key means "
    "not measured, never zero. Other JSON shapes are possible: read them as they are."
)

#: Said in the ``team_health`` system prompt.
TEAM_FORMAT_NOTE = (
    "The metrics are usually aexy's TeamMetrics JSON (schema_version 1): "
    f"{_glossary(TeamMetrics)}. Counts are totals for the period from start to end; null or a "
    "missing key means not measured, never zero. Other JSON shapes are possible: read them as "
    "they are."
)

