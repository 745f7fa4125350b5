"""PredictiveAnalyzer: over-worked activity (from git and from a file) reports high risk
offline; a refusal is an outcome of its own; the cache serves a second run; team health."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from aexy import DeveloperActivity, LLMGateway, PredictiveAnalyzer, TeamMetrics
from aexy.apps import Outcome, ProfileAnalyzer, load_activity
from aexy.catalogue.activity import ActivityPeriod
from aexy.catalogue.common import Level, Proficiency
from aexy.catalogue.predictive import BurnoutRisk
from aexy.errors import InvalidInputError

from .conftest import CountingOffline
from .repos import ALICE, BOB, BOB_GITHUB

CAROL = "carol@example.com"
HIGH = {Level.HIGH, Level.CRITICAL}


def overworked() -> DeveloperActivity:
    """Four weeks of long hours without a day off, with assessed skills rising."""
    monday = date(2024, 3, 4)
    levels = [Proficiency.BEGINNER, Proficiency.INTERMEDIATE, Proficiency.INTERMEDIATE,
              Proficiency.ADVANCED]
    return DeveloperActivity(developer_id="dev-9", periods=[
        ActivityPeriod(start=monday + timedelta(weeks=i), end=monday + timedelta(weeks=i, days=6),
                       hours_worked=hours, days_off=0, after_hours_share=0.4,
                       weekend_share=0.25, pages=5, night_pages=3, commits=30,
                       skills={"Kubernetes": levels[i]})
        for i, hours in enumerate((62, 68, 72, 80))])


async def test_overworked_git_history_is_high_burnout_risk(gateway: LLMGateway,
                                                           crunch_repo: Path) -> None:
    prediction = await PredictiveAnalyzer(gateway).predict_from_git(crunch_repo, CAROL)
    burnout = prediction.burnout.result
    assert burnout is not None and burnout.risk_level in HIGH and burnout.risk_score >= 0.5
    factors = {f.factor for f in burnout.factors}
    # A commit every day at 23:00 for four weeks, weekends included.
    assert {"missing days off", "after-hours work", "weekend work"} <= factors
    assert prediction.attrition.ok
    assert [p.commits for p in prediction.activity.periods] == [7, 7, 7, 7]
    assert prediction.activity.periods[0].weekend_share == pytest.approx(2 / 7, abs=1e-4)


async def test_a_refusal_is_reported_as_the_outcome(gateway: LLMGateway,
                                                    crunch_repo: Path) -> None:
    # Commit counts alone are not performance: the offline method refuses, and says why.
    prediction = await PredictiveAnalyzer(gateway).predict_from_git(crunch_repo, CAROL)
    performance = prediction.performance
    assert performance.result is None and performance.provenance is None
    assert performance.failure is not None and performance.failure.refused
    assert performance.failure.code == "unsupported"
    assert "quality_score" in performance.failure.message
    assert prediction.cost.analyses == 3 and prediction.cost.failed == 1
    assert [o.ok for o in prediction.outcomes] == [True, True, False]
    # As JSON, the refusal is there under its own name; no score stands in for it.
    data = json.loads(prediction.model_dump_json())
    assert data["performance"]["result"] is None
    assert data["performance"]["failure"]["code"] == "unsupported"


async def test_activity_with_hours_and_skills_answers_all_three_then_hits_the_cache(
        gateway: LLMGateway, provider: CountingOffline) -> None:
    analyzer = PredictiveAnalyzer(gateway, horizon_months=12)
    first = await analyzer.predict(overworked())
    assert all(o.ok for o in first.outcomes)
    assert first.burnout.result is not None and first.burnout.result.risk_level in HIGH
    assert first.performance.result is not None
    assert provider.calls == 3 == first.cost.provider_calls
    second = await analyzer.predict(overworked())
    assert provider.calls == 3
    assert second.cost.provider_calls == 0 and second.cost.cache_hits == 3
    assert second.burnout.result is not None
    assert second.burnout.result.model_dump() == first.burnout.result.model_dump()


async def test_analyses_run_concurrently(gateway: LLMGateway, provider: CountingOffline) -> None:
    await PredictiveAnalyzer(gateway).predict(overworked())
    assert provider.peak == 3
    await PredictiveAnalyzer(gateway, concurrency=1, use_cache=False).predict(overworked())
    assert provider.calls == 6


async def test_team_health_from_git(gateway: LLMGateway, team_repo: Path) -> None:
    team = await PredictiveAnalyzer(gateway).team_health_from_git(
        team_repo, team="shop", aliases={BOB_GITHUB: BOB})
    assert team.metrics.size == 2 and team.metrics.commit_share == {ALICE: 0.5555, BOB: 0.4444}
    health = team.health.result
    assert health is not None and 0 <= health.health_score <= 1
    # Each code directory has one owner: named as a bottleneck, not hidden; and what only
    # measures a risk (after hours, concentration, single owners) is never a strength.
    assert "single owners: api/, web/" in health.bottlenecks
    assert health.strengths == []


def test_load_activity_reads_each_kind(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(overworked().model_dump_json())
    assert isinstance(load_activity(path), DeveloperActivity)
    team = TeamMetrics(start=date(2024, 3, 4), end=date(2024, 3, 31), deploys=4)
    path.write_text(team.model_dump_json())
    assert load_activity(path) == team
    path.write_text('{"developer_id": "x", "periods": [{"start": "2024-03-04", '
                    '"end": "2024-03-10", "hours": 60}]}')
    with pytest.raises(InvalidInputError, match=r"periods\.0\.hours: Extra inputs"):
        load_activity(path)
    path.write_text("[1, 2")
    with pytest.raises(InvalidInputError, match="cannot read activity data"):
        load_activity(path)


async def test_a_profile_report_gives_its_activity(gateway: LLMGateway, team_repo: Path,
                                                   tmp_path: Path) -> None:
    report = await ProfileAnalyzer(gateway).analyze_author(team_repo, ALICE)
    path = tmp_path / "alice.json"
    path.write_text(report.model_dump_json())
    activity = load_activity(path)
    assert isinstance(activity, DeveloperActivity) and activity.code_evidence
    prediction = await PredictiveAnalyzer(gateway).predict(activity)
    assert prediction.activity.code_evidence == []  # the risk analyses read the periods


def test_an_outcome_has_a_result_or_a_failure() -> None:
    with pytest.raises(ValueError, match="either a result or a failure"):
        Outcome[BurnoutRisk](analysis_type="burnout_risk")
