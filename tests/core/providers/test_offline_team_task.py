"""The offline team_health, task_signals and task_matching methods."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from aexy import AnalysisRequest
from aexy.catalogue.activity import TeamMetrics
from aexy.catalogue.predictive import grade_for_score, level_for_score
from aexy.providers.offline.common import Unsupported
from aexy.providers.offline.task import task_matching, task_signals
from aexy.providers.offline.team import team_health

from .offline_inputs import PROFILE, TEAM, team_json

TASK = (Path(__file__).resolve().parents[3] / "examples" / "task.md").read_text()


def _request(kind: str, content: str, context: dict[str, Any] | None = None) -> AnalysisRequest:
    return AnalysisRequest.create(kind, content, context or {}, max_content_chars=1_000_000)


# -- team health ---------------------------------------------------------------------------------

def test_the_payments_team():
    result = team_health(_request("team_health", team_json(TEAM)))
    assert result.grade == grade_for_score(result.health_score)
    assert (result.health_score, result.grade) == (0.76, "B")
    assert "deployment frequency: 13.8 deploys a week" in result.strengths
    risk = result.risks[0]
    assert risk.risk.startswith("review load concentrated on one person: alice does 46%")
    assert risk.severity == "moderate"
    assert result.bottlenecks == [
        "alice does 46% of the reviews (2.8x an even share in a team of 6)",
        "single owners: ledger, fx-rates"]


def test_grade_and_score_agree_on_any_metrics():
    rng = random.Random(15)
    fields = {
        "deploys": lambda: rng.randint(0, 400), "change_failure_rate": lambda: rng.random(),
        "cycle_time_days_p50": lambda: rng.uniform(0, 30),
        "review_turnaround_hours_p50": lambda: rng.uniform(0, 96),
        "incidents": lambda: rng.randint(0, 60), "pages": lambda: rng.randint(0, 300),
        "after_hours_share": lambda: rng.random(), "weekend_share": lambda: rng.random() / 2,
    }
    grades = set()
    for _ in range(200):
        chosen = rng.sample(sorted(fields), rng.randint(3, len(fields)))
        metrics = TeamMetrics(start=date(2024, 1, 1), end=date(2024, 3, 31),
                              **{k: fields[k]() for k in chosen})
        result = team_health(_request("team_health", team_json(metrics)))
        assert result.grade == grade_for_score(result.health_score)
        assert all(r.severity != "low" for r in result.risks)
        grades.add(result.grade)
    assert len(grades) >= 4  # the metrics reach across the scale


@pytest.mark.parametrize(("score", "grade", "level"), [
    (0.0, "F", "low"), (0.24, "F", "low"), (0.25, "F", "moderate"), (0.4, "D", "moderate"),
    (0.5, "D", "high"), (0.55, "C", "high"), (0.7, "B", "high"), (0.75, "B", "critical"),
    (0.85, "A", "critical"), (1.0, "A", "critical"),
])
def test_the_catalogues_thresholds(score, grade, level):
    assert grade_for_score(score) == grade
    assert level_for_score(score) == level


def test_too_few_metrics_are_refused():
    metrics = TeamMetrics(start=date(2024, 1, 1), end=date(2024, 1, 31), deploys=4,
                          incidents=1)
    with pytest.raises(Unsupported, match="at least 3 measured dimensions and the metrics "
                                          "have 2"):
        team_health(_request("team_health", team_json(metrics)))


def test_free_form_team_metrics_are_refused():
    with pytest.raises(Unsupported, match="TeamMetrics JSON"):
        team_health(_request("team_health", '{"team": "payments", "deploys_per_week": 14}'))


# -- task signals --------------------------------------------------------------------------------

def test_signals_of_the_example_task():
    result = task_signals(_request("task_signals", TASK, {"labels": ["auth", "backend"]}))
    assert set(result.required_skills) == {"OAuth", "JWT", "FastAPI", "PostgreSQL", "React"}
    assert result.domain == "authentication"
    assert result.estimated_effort == "days"
    assert "auth" in result.keywords
    assert len({k.casefold() for k in result.keywords}) == len(result.keywords)
    assert 0 < result.confidence <= 0.6


def test_preferences_and_risk():
    text = ("Migrate the billing service to Kubernetes with zero downtime.\n"
            "It runs Python and PostgreSQL. Familiarity with Terraform would be a plus.")
    result = task_signals(_request("task_signals", text))
    assert result.preferred_skills == ["Terraform"]
    assert "Terraform" not in result.required_skills
    assert {"Kubernetes", "Python", "PostgreSQL"} <= set(result.required_skills)
    assert result.domain == "infrastructure"  # Kubernetes, Terraform over billing
    simple = task_signals(_request("task_signals", "Fix the typo on the login page."))
    assert result.complexity > simple.complexity
    assert simple.estimated_effort == "hours"


def test_ambiguous_words_are_not_skills():
    text = "Users go to the settings page and react to the rest of the form. Add a login."
    assert task_signals(_request("task_signals", text)).required_skills == []


def test_a_text_without_known_skills_or_domains_is_refused():
    with pytest.raises(Unsupported, match="no skill, domain cue or code area"):
        task_signals(_request("task_signals", "Make it better, soon."))


# -- task matching -------------------------------------------------------------------------------

def _match(profile: dict[str, Any], content: str = TASK) -> Any:
    return task_matching(_request("task_matching", content, {"developer_profile": profile}))


def test_the_developer_whose_skills_fit_ranks_first():
    fits = {"primary_languages": ["Python", "TypeScript"], "seniority": "senior",
            "expertise": ["FastAPI", "OAuth", "PostgreSQL", "React", "JWT"]}
    partial = PROFILE
    unrelated = {"primary_languages": ["Go"], "seniority": "senior",
                 "expertise": [{"area": "Kubernetes", "level": "expert", "evidence": "ops"}]}
    scores = [_match(p).overall_score for p in (fits, partial, unrelated)]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == 3
    best = _match(fits)
    assert best.skill_match == 1.0 and best.gaps == []
    half = _match(partial)
    assert half.strengths == ["FastAPI", "JWT"]  # "JWT" found in "JWT sessions"
    assert set(half.gaps) == {"OAuth", "PostgreSQL", "React"}
    assert "Has 2 of 5 required skills" in half.reasoning


def test_experience_against_complexity():
    signals = ('{"required_skills": ["Python"], "domain": "docs", "complexity": 1, '
               '"estimated_effort": "hours", "confidence": 0.5}')
    junior = _match({"skills": ["Python"], "seniority": "junior"}, signals)
    principal = _match({"skills": ["Python"], "seniority": "principal"}, signals)
    assert junior.experience_match == 1.0
    assert principal.experience_match == 0.0  # six points below a principal's range


def test_matching_needs_a_profile_with_a_level():
    with pytest.raises(Unsupported, match="developer_profile context key"):
        task_matching(_request("task_matching", TASK))
    with pytest.raises(Unsupported, match="neither a seniority nor expertise levels"):
        _match({"primary_languages": ["Python"]})
