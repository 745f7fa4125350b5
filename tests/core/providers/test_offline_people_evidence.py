"""The offline people analyses on what git gives: weeks with activity only, commit times
that can show a risk but never its absence, exposure levels calibrated on real maintainers,
documentation apart from code, risks that are never strengths, and a task vocabulary that
names protocols, platforms, tools and the code areas of a project."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from aexy import AnalysisRequest
from aexy.catalogue.activity import ActivityPeriod, DeveloperActivity, TeamMetrics
from aexy.catalogue.task import TaskSignals
from aexy.providers.offline import profile, risk, trajectory
from aexy.providers.offline.common import Unsupported
from aexy.providers.offline.task import task_matching, task_signals
from aexy.providers.offline.team import team_health

MONDAY = date(2024, 1, 1)


def _request(kind: str, content: str, context: dict[str, Any] | None = None) -> AnalysisRequest:
    return AnalysisRequest.create(kind, content, context or {}, max_content_chars=1_000_000)


def _week(n: int, **figures: Any) -> ActivityPeriod:
    start = MONDAY + timedelta(weeks=n)
    return ActivityPeriod(start=start, end=start + timedelta(days=6), **figures)


def _sparse(weeks: dict[int, dict[str, Any]], until_week: int) -> DeveloperActivity:
    """Git's shape: only the weeks with commits, the window up to the end of ``until_week``."""
    return DeveloperActivity(
        developer_id="dev", periods=[_week(n, **f) for n, f in sorted(weeks.items())],
        window_start=MONDAY, window_end=MONDAY + timedelta(weeks=until_week, days=6),
        period="week", quiet_periods="omitted")


def _git_week(commits: int, after_hours: float = 0.0, weekend: float = 0.0,
              days: int = 1) -> dict[str, Any]:
    return {"commits": commits, "lines_added": 10 * commits, "lines_deleted": 0,
            "lines_by_language": {"Python": 10 * commits}, "files_touched": 1,
            "active_days": days, "after_hours_share": after_hours, "weekend_share": weekend}


# -- quiet periods -------------------------------------------------------------------------------
def test_quiet_periods_are_listed_as_zero_for_what_the_data_measures() -> None:
    sparse = _sparse({0: _git_week(3), 5: _git_week(1)}, until_week=7)
    full = sparse.with_quiet_periods()
    assert [p.commits for p in full.periods] == [3, 0, 0, 0, 0, 1, 0, 0]
    quiet = full.periods[1]
    assert (quiet.active_days, quiet.lines_added, quiet.after_hours_share, quiet.hours_worked) \
        == (0, 0, None, None)  # zero where measured, still unmeasured where not
    assert quiet.label == "2024-W02" and sparse.weeks == full.weeks == 8.0
    with pytest.raises(ValidationError, match="needs the period length"):
        DeveloperActivity(developer_id="x", periods=[_week(0, commits=1)],
                          quiet_periods="omitted")
    with pytest.raises(ValidationError, match="window_end"):
        DeveloperActivity(developer_id="x", periods=[_week(3, commits=1)], period="week",
                          window_end=MONDAY)


def test_attrition_sees_the_quiet_weeks_git_leaves_out() -> None:
    # Busy for eight weeks, then nothing for eight: stored as eight periods, read as sixteen.
    sparse = _sparse({n: _git_week(5, days=3) for n in range(8)}, until_week=15)
    result = risk.attrition_risk(_request("attrition_risk", sparse.model_dump_json()))
    factors = {f.factor: f for f in result.factors}
    assert "declining commit activity" in factors
    assert "0 commits a week recently against 5" in factors["declining commit activity"].evidence
    assert result.risk_level.value in ("high", "critical")


# -- burnout from commit times -------------------------------------------------------------------
def test_commit_times_alone_never_score_a_low_burnout() -> None:
    calm = _sparse({n: _git_week(2, after_hours=0.0, days=2) for n in range(6)}, until_week=5)
    with pytest.raises(Unsupported, match="cannot be scored from commit times alone") as info:
        risk.burnout_risk(_request("burnout_risk", calm.model_dump_json()))
    message = info.value.reason
    assert "after-hours work: 0% of activity outside working hours" in message
    assert "hours worked, days off, on-call and incidents, review load" in message


def test_commit_times_can_show_a_risk_and_say_what_they_cannot_see() -> None:
    nights = _sparse({n: _git_week(7, after_hours=0.9, days=7) for n in range(6)}, until_week=5)
    result = risk.burnout_risk(_request("burnout_risk", nights.model_dump_json()))
    assert result.risk_level.value in ("high", "critical")
    assert result.unmeasured == ["hours worked", "days off", "on-call and incidents",
                                 "review load"]
    assert result.confidence <= risk.PROXY_CONFIDENCE
    # Overload in attrition is measured load, never commit times.
    attrition = risk.attrition_risk(_request("attrition_risk", nights.model_dump_json()))
    assert "sustained overload" not in {f.factor for f in attrition.factors}
    # Nor does a performance forecast read load from commit times.
    graded = nights.model_copy(update={"periods": [
        p.model_copy(update={"quality_score": 6.0 + i / 2})
        for i, p in enumerate(nights.periods)]})
    forecast = trajectory.performance_trajectory(_request(
        "performance_trajectory", graded.model_dump_json()))
    assert not any("load" in c for c in forecast.challenges)
    assert forecast.trajectory == "steady"


# -- profile levels and documentation -------------------------------------------------------------
def _lines_over(quarters: int, total: int, language: str = "Python") -> DeveloperActivity:
    per = total // quarters
    starts = [date(2018 + q // 4, 1 + 3 * (q % 4), 1) for q in range(quarters)]
    return DeveloperActivity(developer_id="dev", periods=[
        ActivityPeriod(start=s, end=s + timedelta(days=6), commits=10,
                       lines_by_language={language: per}) for s in starts])


@pytest.mark.parametrize(("quarters", "lines", "level"), [
    (24, 60_000, "expert"),  # the maintainer of encode/httpx: 60,123 lines over 24 quarters
    (9, 20_000, "expert"),
    (8, 8_400, "advanced"),
    (3, 8_400, "intermediate"),  # volume without the span
    (2, 1_200, "intermediate"),
    (1, 100, "beginner"),
])
def test_exposure_levels(quarters: int, lines: int, level: str) -> None:
    result = profile.developer_profile(_request(
        "developer_profile", _lines_over(quarters, lines).model_dump_json()))
    (python,) = [e for e in result.expertise if e.area == "Python"]
    assert python.level == level
    assert f"in {quarters} quarter" in python.evidence


def test_the_level_bands_are_a_setting() -> None:
    content = _lines_over(9, 20_000).model_dump_json()
    stricter = profile.developer_profile(_request(
        "developer_profile", content, {"level_bands": {"expert": [30_000, 12]}}))
    assert [e.level for e in stricter.expertise if e.area == "Python"] == ["advanced"]
    with pytest.raises(Unsupported, match="level_bands must map"):
        profile.developer_profile(_request("developer_profile", content,
                                           {"level_bands": {"guru": [1, 1]}}))


def test_documentation_is_work_but_not_a_programming_language() -> None:
    docs = DeveloperActivity(developer_id="writer", periods=[
        _week(n, commits=3, lines_by_language={"Markdown": 400, "YAML": 20}) for n in range(4)])
    result = profile.developer_profile(_request("developer_profile", docs.model_dump_json()))
    assert result.primary_languages == []
    assert [(e.area, e.level) for e in result.expertise] == [
        ("documentation (Markdown)", "intermediate")]
    assert "writes documentation: 1,600 lines of Markdown changed" in result.strengths
    data_only = DeveloperActivity(developer_id="ci", periods=[
        _week(0, commits=1, lines_by_language={"YAML": 20})])
    with pytest.raises(Unsupported, match=r"only data files: YAML"):
        profile.developer_profile(_request("developer_profile", data_only.model_dump_json()))


# -- team ----------------------------------------------------------------------------------------
def test_what_measures_a_risk_is_never_a_strength() -> None:
    quiet = TeamMetrics(start=MONDAY, end=MONDAY + timedelta(days=179), size=5,
                        after_hours_share=0.0, weekend_share=0.0,
                        commit_share={"a": 0.2, "b": 0.2, "c": 0.2, "d": 0.2, "e": 0.2},
                        single_owner_areas=[], departures=["f", "g", "h"], deploys=180)
    result = team_health(_request("team_health", quiet.model_dump_json()))
    assert result.strengths == ["deployment frequency: 7 deploys a week"]
    (left,) = [r for r in result.risks if r.risk.startswith("people leaving")]
    assert "3 people active in the previous period no longer active (f, g, h)" in left.risk


# -- task signals ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "skills", "domain"), [
    ("Port the tokenizer to Rust.", ["Rust"], "systems programming"),
    ("Add Prometheus metrics and a Grafana dashboard.", ["Prometheus", "Grafana"],
     "observability"),
    ("Define the protobuf messages for the events.", ["Protocol Buffers"], "serialization"),
    ("Store drafts offline with Core Data.", ["Core Data"], "mobile"),
    ("Retry HTTP/2 connection resets in the async client's transport.", ["HTTP/2"],
     "networking"),
])
def test_a_broader_vocabulary(text: str, skills: list[str], domain: str) -> None:
    result = task_signals(_request("task_signals", text))
    assert result.required_skills == skills and result.domain == domain


def test_the_code_areas_a_task_names() -> None:
    areas = ["httpx/", "httpx/_transports/", "httpx/_client.py", "tests/client/",
             "httpx/_transports/default.py", "docs/advanced/transports.md", "docs/"]
    text = "Retry HTTP/2 connection resets in the async client's transport"
    result = task_signals(_request("task_signals", text, {"code_areas": areas}))
    # Files first, then directories, deepest first; "default" is too common to name an area,
    # and documentation is named only by a task about documentation.
    assert result.code_areas == ["httpx/_client.py", "httpx/_transports/", "tests/client/"]
    docs = task_signals(_request("task_signals", "Document the transports in the docs",
                                 {"code_areas": areas}))
    assert docs.code_areas == ["docs/advanced/transports.md", "httpx/_transports/"]
    with pytest.raises(Unsupported, match="no skill, domain cue or code area"):
        task_signals(_request("task_signals", "Make it better, soon.", {"code_areas": areas}))


def test_a_task_that_names_only_code_areas_can_be_matched() -> None:
    signals = TaskSignals(domain="httpx/_client.py", complexity=3, estimated_effort="hours",
                          confidence=0.4, code_areas=["httpx/_client.py"])
    result = task_matching(_request("task_matching", signals.model_dump_json(), {
        "developer_profile": {"primary_languages": ["Python"],
                              "expertise": [{"area": "Python", "level": "expert",
                                             "evidence": "x"}]}}))
    assert result.skill_match == 1.0 and result.growth_opportunity == 0.0
    assert result.reasoning.startswith("The task names no skill, only code areas "
                                       "(httpx/_client.py)")
    bare = TaskSignals(domain="networking", complexity=3, estimated_effort="hours",
                       confidence=0.3)
    with pytest.raises(Unsupported, match="nothing to match"):
        task_matching(_request("task_matching", bare.model_dump_json(),
                               {"developer_profile": {"seniority": "senior"}}))
