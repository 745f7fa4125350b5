"""The typed activity input: validation, derived figures, the docs page, and its use in the
prompts of the activity types."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from aexy import ActivityBaseline, ActivityPeriod, CodeEvidence, DeveloperActivity, TeamMetrics
from aexy.catalogue.activity import (
    ACTIVITY_FORMAT_NOTE,
    TEAM_FORMAT_NOTE,
    CodeArea,
    parse_activity,
)
from aexy.plugins import PluginHost

DOC = Path(__file__).resolve().parents[3] / "docs" / "activity-data.md"


def _period(start: str, end: str, **kw: object) -> ActivityPeriod:
    return ActivityPeriod.model_validate({"start": start, "end": end, **kw})


def test_derived_figures():
    p = _period("2024-03-01", "2024-03-14", lines_added=30, lines_deleted=12, commits=7)
    assert (p.days, p.weeks, p.lines_changed) == (14, 2.0, 42)
    assert _period("2024-03-01", "2024-03-07", lines_by_language={"Go": 5, "SQL": 2},
                   lines_added=99).lines_changed == 7  # per language wins
    assert _period("2024-03-01", "2024-03-07").lines_changed is None  # not measured, not 0


def test_a_baseline_from_earlier_periods():
    baseline = ActivityBaseline.from_periods([
        _period("2024-01-01", "2024-01-07", commits=10, after_hours_share=0.1),
        _period("2024-01-08", "2024-01-21", commits=20, after_hours_share=0.4),
        _period("2024-01-22", "2024-01-28", hours_worked=40),
    ])
    assert baseline.commits_per_week == 10  # 30 commits over the 3 weeks that counted them
    assert baseline.after_hours_share == 0.3  # weighted by weeks: (0.1 + 2 * 0.4) / 3
    assert baseline.hours_per_week == 40
    assert baseline.pages_per_week is None


@pytest.mark.parametrize(("data", "message"), [
    ({"start": "2024-03-10", "end": "2024-03-04"}, "is before start"),
    ({"start": "2024-03-04", "end": "2024-03-10", "hours": 40}, "Extra inputs are not permitted"),
    ({"start": "2024-03-04", "end": "2024-03-10", "weekend_share": 1.5}, "less than or equal"),
    ({"start": "2024-03-04", "end": "2024-03-10", "active_days": 8}, "more than the period's 7"),
    ({"start": "2024-03-04", "end": "2024-03-10", "hours_worked": 200}, "24 h a day"),
])
def test_impossible_periods_are_rejected(data, message):
    with pytest.raises(ValidationError, match=message):
        ActivityPeriod.model_validate(data)


def test_periods_must_be_in_order_and_the_version_is_checked():
    first = _period("2024-03-04", "2024-03-10")
    with pytest.raises(ValidationError, match="in time order without overlap"):
        DeveloperActivity(developer_id="x", periods=[first, _period("2024-03-08", "2024-03-14")])
    with pytest.raises(ValidationError, match="schema_version"):
        DeveloperActivity.model_validate({"schema_version": 2, "developer_id": "x",
                                          "periods": [first.model_dump(mode="json")]})
    with pytest.raises(ValidationError, match=r"review_share adds up to 1\.30"):
        TeamMetrics(start=date(2024, 1, 1), end=date(2024, 1, 31),
                    review_share={"a": 0.8, "b": 0.5})


def test_json_round_trip_and_schemas():
    activity = DeveloperActivity(developer_id="dev-1", periods=[
        _period("2024-03-04", "2024-03-10", skills={"Python": "Advanced"})],
        code_evidence=[CodeEvidence(path="a.py", skills=["Python"])])
    assert parse_activity(activity.model_dump_json()) == activity
    assert parse_activity('{"commits_per_week": [1, 2]}') is None
    assert parse_activity("not json") is None
    assert DeveloperActivity.model_json_schema()["properties"]["schema_version"]["const"] == 1
    assert "periods" in DeveloperActivity.model_json_schema()["required"]


def test_the_docs_page_names_every_field():
    page = DOC.read_text(encoding="utf-8")
    named = set(re.findall(r"`(\w+)`", page))
    for model in (DeveloperActivity, ActivityPeriod, ActivityBaseline, CodeEvidence, CodeArea,
                  TeamMetrics):
        missing = set(model.model_fields) - named
        assert not missing, f"docs/activity-data.md does not name {model.__name__}.{missing}"


def test_the_activity_prompts_describe_the_format():
    types = PluginHost(entry_points=False).analysis_types()
    for name in ("burnout_risk", "attrition_risk", "performance_trajectory",
                 "growth_trajectory", "developer_profile"):
        assert ACTIVITY_FORMAT_NOTE in types.get(name).system_prompt, name
    assert TEAM_FORMAT_NOTE in types.get("team_health").system_prompt
    assert "null or a missing key means not measured" in ACTIVITY_FORMAT_NOTE
    for field in ActivityPeriod.model_fields:
        assert field in ACTIVITY_FORMAT_NOTE


def test_the_risk_prompt_sees_a_baseline_inside_typed_data():
    spec = PluginHost(entry_points=False).analysis_types().get("burnout_risk")
    period = _period("2024-03-04", "2024-03-10", hours_worked=50)
    with_baseline = DeveloperActivity(developer_id="d", periods=[period],
                                      baseline=ActivityBaseline(hours_per_week=40))
    without = DeveloperActivity(developer_id="d", periods=[period])
    assert "baseline inside the data" in spec.build_user_prompt(
        with_baseline.model_dump_json(), {})
    assert "no baseline was given" in spec.build_user_prompt(without.model_dump_json(), {})


def test_the_team_prompt_names_the_team_from_typed_metrics():
    spec = PluginHost(entry_points=False).analysis_types().get("team_health")
    metrics = TeamMetrics(team="payments", size=6, start=date(2024, 1, 1), end=date(2024, 3, 31))
    prompt = spec.build_user_prompt(metrics.model_dump_json(), {})
    assert prompt.startswith("Assess the health of payments (size: 6)")
