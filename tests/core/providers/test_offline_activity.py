"""The offline activity methods: burnout and attrition risk, growth and performance
trajectories, and the developer profile, from typed DeveloperActivity."""

from __future__ import annotations

from typing import Any

import pytest

from aexy import AnalysisRequest
from aexy.catalogue.activity import ActivityBaseline, DeveloperActivity
from aexy.providers.offline import profile, risk, trajectory
from aexy.providers.offline.common import Unsupported

from .offline_inputs import CALM, GROWTH, MONDAY, OVERWORKED, activity_json, weeks


def _request(kind: str, content: str, context: dict[str, Any] | None = None) -> AnalysisRequest:
    return AnalysisRequest.create(kind, content, context or {}, max_content_chars=1_000_000)


def _activity(rows: list[dict[str, Any]], **kw: Any) -> str:
    return activity_json(DeveloperActivity(developer_id="dev-1", periods=weeks(MONDAY, rows),
                                           **kw))


# -- burnout -------------------------------------------------------------------------------------

def test_the_over_worked_example_is_high_risk_with_hours_and_days_off_cited():
    result = risk.burnout_risk(_request("burnout_risk", activity_json(OVERWORKED)))
    assert result.risk_level.value in ("high", "critical")
    assert result.risk_score >= 0.75
    factors = {f.factor: f for f in result.factors}
    hours, days_off = factors["sustained long hours"], factors["missing days off"]
    assert "median 72.5 hours worked per week" in hours.evidence
    assert "(62-80)" in hours.evidence
    assert "0 days off in 28 days" in days_off.evidence
    assert "14 night pages in 4 weeks" in factors["on-call and incident load"].evidence
    assert hours.trend == "worsening"  # 62 -> 80
    assert [f.weight for f in result.factors] == sorted((f.weight for f in result.factors),
                                                        reverse=True)
    assert result.immediate_actions  # high risk: something for this week
    assert any("72.5" in r for r in result.recommendations)


def test_a_calm_month_is_low_risk_with_nothing_to_act_on():
    result = risk.burnout_risk(_request("burnout_risk", activity_json(CALM)))
    assert result.risk_level == "low"
    assert result.risk_score < 0.25
    assert result.factors == [] and result.indicators == [] and result.immediate_actions == []
    assert result.confidence > 0.5  # four weeks, every signal measured


@pytest.mark.parametrize("hours", [44, 50, 55, 60, 70])
def test_more_hours_never_lower_the_risk(hours):
    base = {"days_off": 2, "after_hours_share": 0.1}
    lower = risk.burnout_risk(_request("burnout_risk", _activity(
        [{**base, "hours_worked": hours}] * 3)))
    higher = risk.burnout_risk(_request("burnout_risk", _activity(
        [{**base, "hours_worked": hours + 5}] * 3)))
    assert higher.risk_score >= lower.risk_score


def test_confidence_follows_the_amount_of_data():
    one_signal = risk.burnout_risk(_request("burnout_risk", _activity([{"hours_worked": 60}])))
    two_weeks = risk.burnout_risk(_request("burnout_risk", _activity(
        [{"hours_worked": 60, "days_off": 0, "weekend_share": 0.3}] * 2)))
    eight_weeks = risk.burnout_risk(_request("burnout_risk", _activity(
        [{"hours_worked": 60, "days_off": 0, "weekend_share": 0.3}] * 8)))
    assert one_signal.confidence < two_weeks.confidence < eight_weeks.confidence <= 0.9


def test_a_baseline_turns_a_moderate_week_into_a_change_that_counts():
    rows = [{"hours_worked": 48}] * 4
    alone = risk.burnout_risk(_request("burnout_risk", _activity(rows)))
    against = risk.burnout_risk(_request("burnout_risk", _activity(
        rows, baseline=ActivityBaseline(hours_per_week=32))))
    assert against.risk_score > alone.risk_score
    assert "baseline 32 h" in against.factors[0].evidence
    # The baseline may also come from the context key the prompts document.
    via_context = risk.burnout_risk(_request(
        "burnout_risk", _activity(rows), {"baseline_metrics": {"hours_per_week": 32}}))
    assert via_context.risk_score == against.risk_score


def test_days_off_are_bounded_by_active_days_when_not_reported():
    result = risk.burnout_risk(_request("burnout_risk", _activity([{"active_days": 7}] * 3)))
    factor = result.factors[0]
    assert factor.factor == "missing days off"
    assert factor.evidence.startswith("at most 0 days off in 21 days")


@pytest.mark.parametrize(("rows", "fragment"), [
    ([{"hours": 70}], "periods.0.hours: Extra inputs are not permitted"),
    ([{"active_days": 5, "days_off": 3}], "more than the period's 7 days"),
    ([{"night_pages": 4, "pages": 2}], "night_pages is more than pages"),
])
def test_a_misspelt_or_impossible_field_is_refused_not_read_as_missing(rows, fragment):
    content = activity_json(DeveloperActivity(developer_id="x", periods=weeks(MONDAY, [{}])))
    broken = content.replace('"periods":[{', '"periods":[{' + ",".join(
        f'"{k}":{v}' for k, v in rows[0].items()) + ",")
    with pytest.raises(Unsupported) as info:
        risk.burnout_risk(_request("burnout_risk", broken))
    assert fragment in info.value.reason


def test_no_burnout_signal_at_all_is_refused():
    with pytest.raises(Unsupported, match="none of the burnout signals"):
        risk.burnout_risk(_request("burnout_risk", _activity([{"commits": 3}])))


# -- attrition -----------------------------------------------------------------------------------

def test_withdrawal_against_the_baseline_is_a_high_attrition_risk():
    rows = [{"commits": c, "reviews_given": r, "prs_opened": 2}
            for c, r in [(12, 7), (9, 3), (5, 2), (4, 1), (4, 1), (3, 1)]]
    baseline = ActivityBaseline(commits_per_week=12, reviews_given_per_week=7,
                                prs_opened_per_week=2)
    result = risk.attrition_risk(_request("attrition_risk", _activity(rows,
                                                                         baseline=baseline)))
    assert result.risk_level.value in ("high", "critical")
    factors = {f.factor: f for f in result.factors}
    commits = factors["declining commit activity"]
    assert commits.evidence.startswith("3.5 commits a week recently against 12 in the baseline")
    assert commits.trend == "worsening"
    assert "withdrawal from reviews" in factors
    assert any("prs opened steady" in s for s in result.positive_signals)


def test_steady_activity_is_low_attrition_risk_with_positive_signals():
    result = risk.attrition_risk(_request("attrition_risk", activity_json(CALM)))
    assert result.risk_level == "low" and result.factors == []
    assert any(s.startswith("commits steady") for s in result.positive_signals)
    assert any("no sign of overload" in s for s in result.positive_signals)


def test_overload_feeds_attrition():
    result = risk.attrition_risk(_request("attrition_risk", activity_json(OVERWORKED)))
    assert result.factors[0].factor == "sustained overload"


def test_one_period_without_a_baseline_cannot_show_a_change():
    with pytest.raises(Unsupported, match="at least two periods, or a baseline"):
        risk.attrition_risk(_request("attrition_risk", _activity([{"commits": 4}])))


# -- growth and performance ----------------------------------------------------------------------

def test_growth_from_assessed_skills():
    result = trajectory.growth_trajectory(_request("growth_trajectory", activity_json(GROWTH)))
    assert result.trajectory == "accelerating"
    assert {"Kubernetes", "Terraform", "Go"} <= set(result.skills_acquired)
    assert result.skills_declining == ["Django"]
    assert 0.5 < result.learning_velocity <= 1
    assert "7 new skills or level-ups" in result.summary


def test_growth_from_languages_alone_and_a_plateau():
    rows = [{"lines_by_language": {"Python": 900, "Go": 10}}] * 4
    flat = trajectory.growth_trajectory(_request("growth_trajectory", _activity(rows)))
    assert flat.trajectory == "plateauing" and flat.learning_velocity == 0
    assert flat.skills_acquired == [] and flat.skills_declining == []
    assert "languages with at least 5%" in flat.summary


def test_growth_needs_skills_or_languages():
    with pytest.raises(Unsupported, match=r"skills .* or lines_by_language"):
        trajectory.growth_trajectory(_request("growth_trajectory", _activity([{"commits": 3}] * 3)))


def test_performance_from_quality_and_skills():
    result = trajectory.performance_trajectory(_request("performance_trajectory",
                                                     activity_json(GROWTH)))
    assert result.trajectory == "accelerating"
    predicted = {p.skill: p for p in result.predicted_growth}
    assert (predicted["Kubernetes"].current, predicted["Kubernetes"].predicted) == (
        "advanced", "expert")
    assert all(int(p.timeline.split()[0]) <= 6 for p in result.predicted_growth)
    assert any("6.1 to 7.9/10" in o for o in result.opportunities)


def test_falling_quality_is_a_declining_performance():
    rows = [{"quality_score": q} for q in (8.0, 7.2, 6.5, 5.9)]
    result = trajectory.performance_trajectory(_request("performance_trajectory", _activity(rows)))
    assert result.trajectory == "declining"
    assert any("8 to 5.9/10" in c for c in result.challenges)


def test_performance_without_quality_or_skills_is_refused():
    with pytest.raises(Unsupported, match="quality_score in at least three periods"):
        trajectory.performance_trajectory(_request("performance_trajectory",
                                                _activity([{"commits": 5}] * 4)))


# -- developer profile ---------------------------------------------------------------------------

def test_profile_from_activity_leaves_judgement_empty():
    result = profile.developer_profile(_request("developer_profile", activity_json(GROWTH)))
    assert result.primary_languages[0] == "Python"
    assert result.seniority is None and result.growth_areas == []
    areas = {e.area: e for e in result.expertise}
    assert areas["Kubernetes"].level == "advanced"  # its latest assessed level
    assert areas["HCL"].evidence == "4,500 lines changed, in 2 quarters (exposure)"
    assert "reviews others' work: 90 reviews given, 40 PRs opened" in result.strengths
    # YAML is data, not a programming language: apart from the shares of code.
    assert "Python 80%" in result.summary and "YAML 2,500 lines" in result.summary
    assert "YAML" not in result.primary_languages and "not mastery" in result.summary


def test_profile_from_code_evidence():
    content = _activity([{"commits": 3}], code_evidence=[
        {"path": f"svc/{i}.py", "language": "Python", "skills": ["FastAPI", "OAuth"],
         "complexity": 7} for i in range(4)])
    result = profile.developer_profile(_request("developer_profile", content))
    areas = {e.area: e for e in result.expertise}
    assert areas["FastAPI"].level == "advanced"
    assert areas["FastAPI"].evidence.startswith("seen in 4 code samples (svc/0.py, svc/1.py")
    assert result.primary_languages == ["Python"]


def test_profile_from_free_text_is_refused():
    with pytest.raises(Unsupported, match="a profile from free text needs a model"):
        profile.developer_profile(_request("developer_profile",
                                           "Dana writes Python and leads the payments team."))


def test_an_even_pace_is_steady_not_accelerating():
    # One new language at each of two steps: the halves keep the same pace.
    rows = [{"lines_by_language": langs} for langs in (
        {"Python": 900}, {"Python": 900, "Go": 300}, {"Python": 900, "Go": 300, "Rust": 300})]
    result = trajectory.growth_trajectory(_request("growth_trajectory", _activity(rows)))
    assert result.trajectory == "steady"
    assert result.skills_acquired == ["Go", "Rust"]
    assert "(1 in the first half of the periods, 1 in the second)" in result.summary
