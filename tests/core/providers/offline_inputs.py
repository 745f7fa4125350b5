"""Activity and team inputs for the offline tests, built with the typed models."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aexy.catalogue.activity import ActivityPeriod, DeveloperActivity, TeamMetrics


def weeks(start: date, rows: list[dict[str, Any]]) -> list[ActivityPeriod]:
    """One week-long period per row, consecutive from ``start``."""
    return [ActivityPeriod(start=start + timedelta(weeks=i),
                           end=start + timedelta(weeks=i, days=6), **row)
            for i, row in enumerate(rows)]


def activity_json(activity: DeveloperActivity) -> str:
    return activity.model_dump_json(exclude_none=True)


def team_json(metrics: TeamMetrics) -> str:
    return metrics.model_dump_json(exclude_none=True)


MONDAY = date(2024, 3, 4)

#: The issue's over-worked developer: 62 to 80 hour weeks, no day off, 14 overnight pages.
OVERWORKED = DeveloperActivity(developer_id="dev-9", periods=weeks(MONDAY, [
    {"hours_worked": h, "days_off": 0, "after_hours_share": ah, "weekend_share": we,
     "night_pages": n, "pages": n + 2, "commits": c, "reviews_given": r}
    for h, ah, we, n, c, r in [(62, 0.35, 0.2, 3, 30, 9), (70, 0.4, 0.25, 4, 34, 11),
                               (75, 0.45, 0.3, 3, 28, 12), (80, 0.5, 0.3, 4, 25, 14)]
]))

#: A calm month: 40-hour weeks, weekends off, almost no pages.
CALM = DeveloperActivity(developer_id="dev-3", periods=weeks(MONDAY, [
    {"hours_worked": h, "days_off": d, "after_hours_share": ah, "weekend_share": 0.0,
     "night_pages": 0, "pages": p, "commits": 12, "reviews_given": 5}
    for h, d, ah, p in [(40, 2, 0.05, 0), (38, 2, 0.04, 1), (41, 2, 0.06, 0), (39, 3, 0.03, 0)]
]))

#: A year of quarterly history with assessed skills, quality scores and code evidence.
GROWTH = DeveloperActivity.model_validate({
    "developer_id": "dev-42",
    "periods": [
        {"start": "2023-07-01", "end": "2023-09-30", "label": "2023-Q3", "commits": 120,
         "skills": {"Python": "advanced", "Django": "advanced"}, "quality_score": 6.1,
         "lines_by_language": {"Python": 9000, "SQL": 600}},
        {"start": "2023-10-01", "end": "2023-12-31", "label": "2023-Q4", "commits": 130,
         "skills": {"Python": "advanced", "Django": "advanced", "Kubernetes": "beginner"},
         "quality_score": 6.8, "lines_by_language": {"Python": 8000, "YAML": 1500}},
        {"start": "2024-01-01", "end": "2024-03-31", "label": "2024-Q1", "commits": 140,
         "skills": {"Python": "expert", "Django": "intermediate", "Kubernetes": "intermediate",
                    "Terraform": "beginner"},
         "quality_score": 7.4, "lines_by_language": {"Python": 9000, "HCL": 2000, "YAML": 1000}},
        {"start": "2024-04-01", "end": "2024-06-30", "label": "2024-Q2", "commits": 150,
         "prs_opened": 40, "reviews_given": 90,
         "skills": {"Python": "expert", "Kubernetes": "advanced", "Terraform": "intermediate",
                    "Go": "beginner"},
         "quality_score": 7.9, "lines_by_language": {"Python": 7000, "Go": 3000, "HCL": 2500}},
    ],
    "code_evidence": [
        {"path": "deploy/k8s.py", "language": "Python", "skills": ["Python", "Kubernetes"],
         "complexity": 6, "quality_score": 8},
        {"path": "infra/main.tf", "skills": ["Terraform"], "complexity": 4},
    ],
})

#: The payments team of the catalogue examples, as TeamMetrics over one quarter.
TEAM = TeamMetrics(
    team="payments", start=date(2024, 1, 1), end=date(2024, 3, 31), size=6, deploys=180,
    change_failure_rate=0.08, cycle_time_days_p50=3.2, review_turnaround_hours_p50=20,
    incidents=5, after_hours_share=0.17,
    review_share={"alice": 0.46, "bob": 0.2, "chen": 0.14, "dana": 0.1, "eli": 0.06, "fay": 0.04},
    single_owner_areas=["ledger", "fx-rates"],
)

#: A profile in the shape of a developer_profile result (as TaskMatcher passes it).
PROFILE = {"primary_languages": ["Python", "TypeScript"], "seniority": "senior",
           "expertise": [{"area": "FastAPI", "level": "advanced", "evidence": "3 services"},
                         {"area": "JWT sessions", "level": "advanced", "evidence": "auth lib"}]}
