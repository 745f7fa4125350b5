"""Realistic inputs and answers for every built-in analysis type (test data).

Each example has the content and context a caller would pass, an answer a capable model would
give, and a ``bad`` answer: the same answer with one out-of-bounds number or wrong enum value.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Example:
    content: str
    context: dict[str, Any]
    answer: dict[str, Any]
    #: (path, value): set ``answer[path...] = value`` to get an invalid answer
    bad: tuple[tuple[Any, ...], Any]
    #: context values the task sentence itself must mention (not only the context block)
    inline: tuple[str, ...]

    def bad_answer(self) -> dict[str, Any]:
        data = copy.deepcopy(self.answer)
        *path, last = self.bad[0]
        node: Any = data
        for part in path:
            node = node[part]
        node[last] = self.bad[1]
        return data


OAUTH_CODE = '''\
from datetime import datetime, timedelta, timezone

import jwt
from fastapi import APIRouter, Depends, HTTPException
from fastapi.security import OAuth2PasswordBearer

router = APIRouter()
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")
SECRET_KEY = "change-me"


def create_access_token(subject: str, expires: timedelta = timedelta(minutes=15)) -> str:
    payload = {"sub": subject, "exp": datetime.now(timezone.utc) + expires}
    return jwt.encode(payload, SECRET_KEY, algorithm="HS256")


async def current_user(token: str = Depends(oauth2_scheme)) -> str:
    try:
        payload = jwt.decode(token, SECRET_KEY, algorithms=["HS256"])
    except jwt.PyJWTError:
        raise HTTPException(status_code=401, detail="invalid token")
    return payload["sub"]


@router.get("/me")
async def me(user: str = Depends(current_user)) -> dict[str, str]:
    return {"user": user}
'''

BILLING_CODE = '''\
def process(orders, rates, flags):
    out = []
    for o in orders:
        if o["status"] != "void":
            if o["country"] in rates:
                if flags.get("eu") and o["country"] in ("DE", "FR", "NL"):
                    for line in o["lines"]:
                        if line["kind"] == "digital":
                            line["tax"] = line["amount"] * rates[o["country"]]["digital"]
                        elif line["kind"] == "physical" and not line.get("exempt"):
                            line["tax"] = line["amount"] * rates[o["country"]]["standard"]
                        else:
                            line["tax"] = 0
                else:
                    for line in o["lines"]:
                        line["tax"] = line["amount"] * rates[o["country"]].get("standard", 0)
            out.append(o)
    return out
'''

ACTIVITY = json.dumps({
    "period": "2024-01-01..2024-06-30",
    "commits": 412, "pull_requests_opened": 58, "reviews_given": 131,
    "languages": {"Python": 0.71, "TypeScript": 0.2, "SQL": 0.09},
    "repositories": ["billing-api", "web-dashboard", "data-pipeline"],
    "notable": ["led migration from Celery to Temporal", "added pgbouncer and query plans"],
})

PR_TEXTS = """\
PR #481 description: This splits the invoice renderer into a pure function and an IO shell so \
we can snapshot-test it. I kept the public API unchanged; see the table below for before/after.
Review on PR #475 (by dana): Nice work! One suggestion: the retry here can double-charge if the \
provider times out after committing - could we pass an idempotency key? Happy to pair on it.
Review on PR #470 (by dana): I'd explain why we chose Temporal over Celery in the ADR, newcomers \
keep asking. I drafted a first version in the doc, feel free to rewrite.
Reply on PR #468: Good catch, thanks - fixed and added a regression test.
"""

SKILL_HISTORY = json.dumps([
    {"quarter": "2023-Q3", "skills": {"Python": "advanced", "Django": "advanced"}},
    {"quarter": "2023-Q4", "skills": {"Python": "advanced", "Django": "advanced",
                                      "Kubernetes": "beginner"}},
    {"quarter": "2024-Q1", "skills": {"Python": "expert", "Django": "intermediate",
                                      "Kubernetes": "intermediate", "Terraform": "beginner"}},
    {"quarter": "2024-Q2", "skills": {"Python": "expert", "Kubernetes": "advanced",
                                      "Terraform": "intermediate", "Go": "beginner"}},
])

TASK = """\
Add OAuth login with Google to the customer portal

Customers keep asking to sign in with their Google Workspace accounts. Add "Sign in with Google" \
to the portal (React front end, FastAPI back end). Existing password accounts with the same \
verified email should be linked, not duplicated. Sessions are JWTs today.
"""

ATTRITION_ACTIVITY = json.dumps({
    "developer_id": "dev-7f3a",
    "weekly_commits": [14, 12, 13, 9, 6, 5, 4, 4],
    "reviews_given_per_week": [8, 7, 7, 3, 2, 2, 1, 1],
    "meetings_declined": 9, "design_docs_authored": 0,
    "after_hours_share": [0.05, 0.08, 0.21, 0.25, 0.1, 0.02, 0.01, 0.01],
    "last_promotion": "2021-03", "one_on_ones_skipped": 3,
})

BURNOUT_ACTIVITY = json.dumps({
    "weeks": 10, "avg_hours_per_week": 58, "weekend_days_worked": 11,
    "on_call_shifts": 6, "incidents_handled": 14, "days_off_last_6_months": 1,
    "parallel_projects": 4, "review_load_vs_team_median": 2.6,
})

PERFORMANCE_HISTORY = json.dumps({
    "quality_scores": [{"quarter": "2023-Q3", "avg": 6.1}, {"quarter": "2023-Q4", "avg": 6.8},
                       {"quarter": "2024-Q1", "avg": 7.4}, {"quarter": "2024-Q2", "avg": 7.9}],
    "skills": {"Python": ["intermediate", "advanced"], "Kubernetes": ["beginner", "intermediate"]},
    "scope": ["bug fixes", "features", "owns billing exports"],
})

TEAM_METRICS = json.dumps({
    "team": "payments", "size": 6, "cycle_time_days_p50": 3.2, "cycle_time_days_p90": 11.5,
    "deploys_per_week": 14, "change_failure_rate": 0.08, "incidents_last_quarter": 5,
    "review_share": {"alice": 0.46, "bob": 0.2, "chen": 0.14, "dana": 0.1, "eli": 0.06,
                     "fay": 0.04},
    "after_hours_commit_share": 0.17, "services_with_single_owner": ["ledger", "fx-rates"],
})

EXAMPLES: dict[str, Example] = {
    "code_quality": Example(
        content=OAUTH_CODE,
        context={"file_path": "auth/oauth.py", "repository": "customer-portal"},
        answer={
            "score": 6,
            "strengths": [
                {"description": "Small, focused functions with type hints", "line": 12,
                 "evidence": None},
                {"description": "Uses FastAPI dependency injection for authentication",
                 "line": None, "evidence": "token: str = Depends(oauth2_scheme)"},
            ],
            "issues": [
                {"severity": "critical", "category": "security",
                 "description": "The JWT signing key is hard-coded in the module; anyone with "
                                "the source can forge tokens.", "line": 9,
                 "evidence": 'SECRET_KEY = "change-me"'},
                {"severity": "moderate", "category": "bug",
                 "description": "The decode error is re-raised without 'from', hiding the "
                                "cause in logs.", "line": 20, "evidence": None},
                {"severity": "low", "category": "testing",
                 "description": "No tests cover expired or tampered tokens.", "line": None,
                 "evidence": "def create_access_token("},
            ],
            "confidence": 0.8,
            "suggestions": ["Load SECRET_KEY from settings and fail fast when it is missing",
                            "Add tests for expired, tampered and missing tokens"],
            "summary": "Clean structure, but the hard-coded signing key is a critical security "
                       "problem that must be fixed before merging.",
        },
        bad=(("score",), 11),
        inline=("auth/oauth.py",),
    ),
    "code_complexity": Example(
        content=BILLING_CODE,
        context={"file_path": "billing/tax.py", "language": "Python"},
        answer={
            "complexity": 7,
            "cognitive_load": "high",
            "hotspots": [
                {"name": "process", "reason": "Five levels of nesting mixing filtering, "
                                              "country rules and line-kind rules."},
                {"name": "process: EU digital branch",
                 "reason": "Country list duplicated inline; tax rules hidden in conditions."},
            ],
            "summary": "One function does filtering and tax rules with deep nesting and "
                       "mutation of its input; extract a per-line tax function.",
            "confidence": 0.7,
        },
        bad=(("cognitive_load",), "extreme"),
        inline=("billing/tax.py", "Python"),
    ),
    "skill_extraction": Example(
        content=OAUTH_CODE,
        context={"file_path": "auth/oauth.py"},
        answer={
            "language": "Python",
            "libraries": [
                {"name": "jwt", "evidence": "import jwt"},
                {"name": "fastapi", "evidence": "from fastapi import APIRouter, Depends, "
                                                "HTTPException"},
            ],
            "frameworks": ["FastAPI", "PyJWT"],
            "patterns": ["dependency injection", "bearer token authentication"],
            "complexity": 7,
            "quality_indicators": [
                {"name": "type hints", "line": 12, "evidence": None},
                {"name": "explicit error handling", "line": None,
                 "evidence": "except jwt.PyJWTError:"},
            ],
            "domains": ["OAuth", "JWT", "authentication"],
            "confidence": 0.8,
        },
        bad=(("complexity",), 0),
        inline=("auth/oauth.py",),
    ),
    "developer_profile": Example(
        content=ACTIVITY,
        context={"developer_id": "dev-42", "role": "backend engineer"},
        answer={
            "summary": "A productive backend engineer centred on Python services who reviews "
                       "widely and has led a workflow-engine migration.",
            "primary_languages": ["Python", "TypeScript", "SQL"],
            "expertise": [
                {"area": "Workflow orchestration (Celery, Temporal)", "level": "advanced",
                 "evidence": "led migration from Celery to Temporal"},
                {"area": "PostgreSQL performance", "level": "intermediate",
                 "evidence": "added pgbouncer and query plans"},
            ],
            "seniority": "senior",
            "strengths": ["Owns migrations end to end", "Reviews more than twice what they open"],
            "growth_areas": ["Front-end depth (TypeScript is 20% of activity)"],
        },
        bad=(("seniority",), "ninja"),
        inline=("dev-42", "backend engineer"),
    ),
    "soft_skills": Example(
        content=PR_TEXTS,
        context={"developer_id": "dana", "period": "2024-Q2"},
        answer={
            "skills": [
                {"skill": "communication", "score": 0.8,
                 "indicators": ["explains trade-offs with before/after tables"]},
                {"skill": "mentorship", "score": 0.75,
                 "indicators": ["offers to pair on the idempotency fix",
                                "drafted the ADR explanation for newcomers"]},
                {"skill": "collaboration", "score": 0.85,
                 "indicators": ["constructive, specific review suggestions"]},
            ],
            "summary": "Clear, kind and constructive in reviews, with visible mentoring.",
        },
        bad=(("skills", 0, "score"), 1.4),
        inline=("dana", "2024-Q2"),
    ),
    "growth_trajectory": Example(
        content=SKILL_HISTORY,
        context={"developer_id": "dev-42", "period": "2023-Q3..2024-Q2"},
        answer={
            "trajectory": "accelerating",
            "skills_acquired": ["Kubernetes", "Terraform", "Go"],
            "skills_declining": ["Django"],
            "learning_velocity": 0.8,
            "summary": "Moving from Django web work into platform engineering, adding a new "
                       "skill each quarter.",
        },
        bad=(("trajectory",), "skyrocketing"),
        inline=("dev-42",),
    ),
    "task_signals": Example(
        content=TASK,
        context={"labels": ["auth", "customer-portal"], "project": "portal"},
        answer={
            "required_skills": ["OAuth", "FastAPI", "React"],
            "preferred_skills": ["JWT", "Google Workspace"],
            "domain": "authentication",
            "complexity": 6,
            "estimated_effort": "days",
            "keywords": ["sso", "google", "account linking"],
            "confidence": 0.85,
            "code_areas": [],
        },
        bad=(("estimated_effort",), "months"),
        inline=("portal", "auth"),
    ),
    "task_matching": Example(
        content=TASK,
        context={"developer_id": "dev-42",
                 "developer_profile": {"primary_languages": ["Python", "TypeScript"],
                                       "seniority": "senior",
                                       "expertise": ["FastAPI", "JWT sessions"]}},
        answer={
            "overall_score": 82,
            "skill_match": 0.8,
            "experience_match": 0.9,
            "growth_opportunity": 0.5,
            "reasoning": "Strong FastAPI and JWT background covers the back end; React work is "
                         "lighter but within reach for a senior engineer.",
            "strengths": ["FastAPI", "JWT sessions"],
            "gaps": ["Google OAuth specifics", "React depth"],
        },
        bad=(("overall_score",), 140),
        inline=("dev-42",),
    ),
    "attrition_risk": Example(
        content=ATTRITION_ACTIVITY,
        context={"developer_id": "dev-7f3a",
                 "baseline_metrics": {"weekly_commits": 12, "reviews_given_per_week": 7}},
        answer={
            "risk_score": 0.62,
            "risk_level": "high",
            "confidence": 0.7,
            "factors": [
                {"factor": "declining_activity", "weight": 0.35,
                 "evidence": "weekly commits fell from 14 to 4 against a baseline of 12",
                 "trend": "worsening"},
                {"factor": "withdrawal from reviews", "weight": 0.25,
                 "evidence": "reviews per week fell from 8 to 1", "trend": "worsening"},
                {"factor": "stalled growth", "weight": 0.2,
                 "evidence": "no promotion since 2021-03", "trend": "stable"},
            ],
            "positive_signals": ["after-hours work returned to normal"],
            "recommendations": ["Schedule 1:1 meeting", "Discuss growth path and scope"],
        },
        bad=(("risk_score",), 1.7),
        inline=("dev-7f3a",),
    ),
    "burnout_risk": Example(
        content=BURNOUT_ACTIVITY,
        context={"developer_id": "dev-9", "period": "last 10 weeks"},
        answer={
            "risk_score": 0.81,
            "risk_level": "critical",
            "confidence": 0.75,
            "indicators": ["58 hours per week on average", "1 day off in 6 months",
                           "11 weekend days worked"],
            "factors": [
                {"factor": "sustained overtime", "weight": 0.4,
                 "evidence": "58 h/week for 10 weeks", "trend": "stable"},
                {"factor": "on-call load", "weight": 0.3,
                 "evidence": "6 shifts, 14 incidents", "trend": "worsening"},
            ],
            "recommendations": ["Rebalance the on-call rotation",
                                "Reduce parallel projects to two"],
            "immediate_actions": ["Take the developer off next week's on-call",
                                  "Agree on time off within two weeks"],
            "unmeasured": [],
        },
        bad=(("factors", 1, "trend"), "spiralling"),
        inline=("dev-9",),
    ),
    "performance_trajectory": Example(
        content=PERFORMANCE_HISTORY,
        context={"developer_id": "dev-42", "horizon_months": 12},
        answer={
            "trajectory": "accelerating",
            "confidence": 0.65,
            "predicted_growth": [
                {"skill": "Kubernetes", "current": "intermediate", "predicted": "advanced",
                 "timeline": "9 months"},
                {"skill": "Python", "current": "advanced", "predicted": "expert",
                 "timeline": "12 months"},
            ],
            "challenges": ["Ownership of billing exports may crowd out learning time"],
            "opportunities": ["Lead the next platform migration"],
            "recommendations": ["Pair with the platform team one day a week"],
        },
        bad=(("predicted_growth", 0, "predicted"), "guru"),
        inline=("dev-42", "12"),
    ),
    "team_health": Example(
        content=TEAM_METRICS,
        context={"team_name": "payments", "team_size": 6},
        answer={
            "health_score": 0.64,
            "grade": "C",
            "strengths": ["14 deploys per week with an 8% change failure rate"],
            "risks": [
                {"risk": "Review load concentrated on one person", "severity": "high",
                 "mitigation": "Rotate reviewers; pair newer members on reviews"},
                {"risk": "Single owners for ledger and fx-rates", "severity": "critical",
                 "mitigation": "Schedule knowledge-transfer sessions and shadow on-call"},
            ],
            "bottlenecks": ["alice reviews 46% of all pull requests"],
            "recommendations": ["Set a reviewer rotation", "Document the ledger service"],
        },
        bad=(("grade",), "E"),
        inline=("payments", "6"),
    ),
    "learning_path": Example(
        content="Python (advanced), Django (advanced), PostgreSQL (intermediate), "
                "Docker (beginner)",
        context={"target_role": "platform engineer", "hours_per_week": 5,
                 "timeline_weeks": 24},
        answer={
            "phases": [
                {"name": "Containers and Kubernetes basics", "weeks": 8,
                 "skills": ["Docker", "Kubernetes"],
                 "activities": ["Containerise a team service", "Pair on a deployment change"]},
                {"name": "Infrastructure as code", "weeks": 8, "skills": ["Terraform"],
                 "activities": ["Own a small Terraform module with review"]},
                {"name": "Operating in production", "weeks": 8,
                 "skills": ["observability", "incident response"],
                 "activities": ["Shadow on-call for four weeks"]},
            ],
            "milestones": [
                {"skill": "Kubernetes", "week": 8,
                 "success_criteria": "ships a reviewed Helm chart change to staging"},
                {"skill": "Terraform", "week": 16,
                 "success_criteria": "merges a Terraform module used by another team"},
            ],
            "success_probability": 0.7,
            "risks": ["5 hours per week is tight for on-call shadowing"],
            "recommendations": ["Agree protected learning time with the manager"],
        },
        bad=(("phases", 0, "weeks"), 0),
        inline=("platform engineer", "24"),
    ),
    "job_description": Example(
        content="We need someone to own our payment integrations (Stripe, Adyen), make the "
                "ledger service reliable, and help two mid-level engineers grow.",
        context={"role": "backend engineer", "level": "senior", "team_name": "payments"},
        answer={
            "role_title": "Senior Backend Engineer, Payments",
            "level": "senior",
            "summary": "Own our payment integrations and the reliability of the ledger.",
            "must_have_skills": [
                {"skill": "Python", "level": "advanced",
                 "reasoning": "all payment services are Python"},
                {"skill": "Payment integrations", "level": "advanced",
                 "reasoning": "owns Stripe and Adyen integrations"},
            ],
            "nice_to_have_skills": ["Kafka", "PostgreSQL"],
            "responsibilities": ["Own Stripe and Adyen integrations",
                                 "Improve ledger reliability", "Mentor two engineers"],
            "qualifications": ["Has run a payment system in production"],
            "full_text": "# Senior Backend Engineer, Payments\n\nYou will own our payment "
                         "integrations...\n\n## Responsibilities\n- Own Stripe and Adyen",
        },
        bad=(("must_have_skills", 0, "level"), "godlike"),
        inline=("backend engineer", "senior", "payments"),
    ),
    "interview_rubric": Example(
        content="Senior backend engineer on the payments team: owns Stripe and Adyen "
                "integrations and the ledger service.",
        context={"role": "backend engineer", "level": "senior",
                 "skills": ["Python", "payments", "distributed systems"],
                 "stack": ["Python", "PostgreSQL", "Kafka"]},
        answer={
            "role_title": "Senior Backend Engineer, Payments",
            "technical_questions": [
                {"question": "How would you make a charge request idempotent across retries?",
                 "skill_assessed": "payments", "difficulty": "medium",
                 "evaluation_criteria": ["idempotency keys", "exactly-once limits"],
                 "red_flags": ["relies on client retries never happening"]},
                {"question": "Design a consumer that reconciles ledger entries from Kafka.",
                 "skill_assessed": "Kafka", "difficulty": "hard",
                 "evaluation_criteria": ["offset handling", "poison messages"],
                 "red_flags": ["ignores ordering"]},
            ],
            "behavioral_questions": [
                {"question": "Tell me about a time you disagreed with a design decision.",
                 "competency": "handling conflict",
                 "evaluation_criteria": ["specific situation", "outcome and learning"],
                 "red_flags": ["blames others"]},
            ],
            "system_design_prompt": "Design a double-entry ledger service for multi-currency "
                                    "payments.",
            "culture_fit_criteria": ["writes decisions down", "gives specific feedback"],
        },
        bad=(("technical_questions", 1, "difficulty"), "impossible"),
        inline=("backend engineer", "senior", "Python"),
    ),
}
