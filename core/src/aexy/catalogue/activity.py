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
from datetime import date, timedelta
from itertools import pairwise
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from aexy.catalogue.common import Proficiency

#: An id nobody is called by: a UUID, or 16+ hex digits (a hash).
_OPAQUE_ID = re.compile(r"[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}|[0-9a-fA-F]{16,}")

__all__ = [
    "ACTIVITY_FORMAT_NOTE",
    "DOC_LANGUAGES",
    "RATE_FIELDS",
    "TEAM_FORMAT_NOTE",
    "ActivityBaseline",
    "ActivityPeriod",
    "CodeArea",
    "CodeEvidence",
    "DeveloperActivity",
    "PeriodLength",
    "TeamMetrics",
    "mean_share",
    "parse_activity",
    "parse_team_metrics",
    "period_cells",
    "period_label",
    "period_start",
    "weekly_rate",
]

#: The version of the format; bumped on any incompatible change.
FORMAT_VERSION: Literal[1] = 1

#: Documentation and data formats in ``lines_by_language``: work, but not programming
#: languages (never a developer's "primary language", never sampled as code).
DOC_LANGUAGES = frozenset({"Markdown", "JSON", "YAML", "TOML"})

PeriodLength = Literal["week", "month"]

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


class CodeArea(_Input):
    """A part of a code base a developer changed: a directory (``path`` ends with ``/``) or a
    module (a file), with their volume there and how recent it is."""

    path: str = Field(min_length=1, description="directory (ending with '/') or file")
    lines: Count = Field(description="lines the developer changed there, added plus deleted")
    weight: Annotated[float, Field(ge=0.0)] = Field(
        description="volume and recency: the sum over the developer's commits there of "
                    "log2(1 + lines changed), each halved per half-life before the window's end")
    commits: Count = Field(description="commits of the developer that changed it")
    last_changed: date = Field(description="the developer's newest change there")
    share: Share | None = Field(
        None, description="the developer's share of everyone's weight there")


# -- the calendar periods of a window ---------------------------------------------------------
def period_start(day: date, period: PeriodLength) -> date:
    """The first day of the week (Monday) or month holding ``day``."""
    return day - timedelta(days=day.weekday()) if period == "week" else day.replace(day=1)


def _period_end(start: date, period: PeriodLength) -> date:
    if period == "week":
        return start + timedelta(days=6)
    following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def period_label(start: date, period: PeriodLength) -> str:
    """``2024-W10`` (ISO week) or ``2024-03``."""
    if period == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{start:%Y-%m}"


def period_cells(start: date, end: date, period: PeriodLength
                 ) -> list[tuple[date, date, str, tuple[date, ...]]]:
    """The periods from ``start`` to ``end``: ``(first day, last day, label, calendar period
    starts inside)``, each calendar period cut to the window. A first or last period cut to
    less than half its length joins its neighbour (label ``2024-W10..2024-W11``): a one-day
    "week" would make a weekly rate from one day."""
    cells: list[tuple[date, date, str, tuple[date, ...]]] = []
    cursor = period_start(start, period)
    while cursor <= end:
        last = _period_end(cursor, period)
        cells.append((max(cursor, start), min(last, end), period_label(cursor, period),
                      (cursor,)))
        cursor = last + timedelta(days=1)

    def fragment(i: int) -> bool:
        first_day, last_day, _, (calendar,) = cells[i]
        full = (_period_end(calendar, period) - calendar).days + 1
        return ((last_day - first_day).days + 1) * 2 < full

    def join(a: tuple[date, date, str, tuple[date, ...]],
             b: tuple[date, date, str, tuple[date, ...]]
             ) -> tuple[date, date, str, tuple[date, ...]]:
        return a[0], b[1], f"{a[2]}..{b[2]}", a[3] + b[3]

    if len(cells) > 1 and fragment(len(cells) - 1):
        cells[-2:] = [join(cells[-2], cells[-1])]
    if len(cells) > 1 and fragment(0):
        cells[:2] = [join(cells[0], cells[1])]
    return cells


class DeveloperActivity(_Input):
    """One developer's activity over consecutive periods, with an optional baseline.

    With ``quiet_periods="omitted"``, only periods with activity are listed: the rest of the
    window (``window_start`` to ``window_end``) had none, which is zero, not "not measured".
    :meth:`with_quiet_periods` lists them.
    """

    schema_version: Literal[1] = Field(FORMAT_VERSION, description="format version")
    developer_id: str = Field(min_length=1, description="an id or handle; a label only")
    display_name: str | None = Field(
        None, min_length=1, description="the name recommendations address the developer by")
    timezone: str | None = Field(None, description="IANA zone the hours are read in")
    periods: list[ActivityPeriod] = Field(min_length=1, description="in time order")
    baseline: ActivityBaseline | None = Field(None, description="usual weekly levels")
    code_evidence: list[CodeEvidence] = Field(default_factory=list)
    window_start: date | None = Field(
        None, description="first day observed (default: the first period's start)")
    window_end: date | None = Field(
        None, description="last day observed (default: the last period's end)")
    period: PeriodLength | None = Field(
        None, description="length of the periods: 'week' (Monday to Sunday) or 'month'")
    quiet_periods: Literal["listed", "omitted"] = Field(
        "listed", description="'omitted': periods without activity are left out, and the "
                              "window's days outside every period had no activity")
    code_areas: list[CodeArea] = Field(
        default_factory=list, description="code areas the developer changed, most first")

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
        if self.window_start is not None and self.window_start > self.periods[0].start:
            raise ValueError(f"window_start {self.window_start} is after the first period "
                             f"starts ({self.periods[0].start})")
        if self.window_end is not None and self.window_end < self.periods[-1].end:
            raise ValueError(f"window_end {self.window_end} is before the last period ends "
                             f"({self.periods[-1].end})")
        if self.quiet_periods == "omitted" and self.period is None:
            raise ValueError("quiet_periods 'omitted' needs the period length ('week' or "
                             "'month') to know which periods are left out")
        return self

    @property
    def first_day(self) -> date:
        return self.window_start or self.periods[0].start

    @property
    def last_day(self) -> date:
        return self.window_end or self.periods[-1].end

    @property
    def weeks(self) -> float:
        """Weeks covered: the window's, when quiet periods are omitted; otherwise the
        periods'."""
        if self.quiet_periods == "omitted":
            return ((self.last_day - self.first_day).days + 1) / 7
        return sum(p.weeks for p in self.periods)

    def with_quiet_periods(self) -> DeveloperActivity:
        """The same activity with every period of the window listed: the periods left out
        are added with zero for each figure the listed periods measure (shares stay
        ``None``: there is nothing to take a share of). Listed periods are kept as they are."""
        if self.quiet_periods == "listed":
            return self
        assert self.period is not None
        measured = {name for p in self.periods for name in _ZERO_FIELDS
                    if getattr(p, name) is not None}
        zeros: dict[str, Any] = {name: 0 for name in measured}
        given = self.periods
        out: list[ActivityPeriod] = []
        i = 0
        for first, last, label, _ in period_cells(self.first_day, self.last_day, self.period):
            while i < len(given) and given[i].end < first:
                out.append(given[i])
                i += 1
            if i < len(given) and given[i].start <= last:
                continue  # a listed period covers (part of) this one
            # Built without validation: a zero period within the window is valid by design.
            out.append(ActivityPeriod.model_construct(start=first, end=last, label=label,
                                                      **zeros))
        out += given[i:]
        return self.model_copy(update={"periods": out, "quiet_periods": "listed"})


#: Counts a period without activity holds as zero (when the data measures them at all).
_ZERO_FIELDS = ("commits", "lines_added", "lines_deleted", "files_touched", "active_days",
                "reviews_given", "reviews_received", "prs_opened", "prs_merged")


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
    departures: list[str] | None = Field(
        None, description="people who were in the team at the start of the period and are no "
                          "longer active ([] when none)")

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

