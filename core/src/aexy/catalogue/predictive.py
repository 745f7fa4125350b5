"""Predictive analyses: attrition and burnout risk, performance trajectory, team health.

These read activity data about people. The prompts ask for evidence-based, supportive output:
the results inform a conversation, never a decision on their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from aexy.analysis import AnalysisResult, AnalysisType
from aexy.catalogue.activity import (
    ACTIVITY_FORMAT_NOTE,
    TEAM_FORMAT_NOTE,
    parse_activity,
    parse_team_metrics,
)
from aexy.catalogue.common import (
    Closed,
    Grade,
    Level,
    Proficiency,
    SkillName,
    Trajectory,
    Trend,
    Unit,
    make_spec,
)
from aexy.prompts import context_value, user_prompt

__all__ = [
    "SPECS",
    "AttritionRisk",
    "BurnoutRisk",
    "PerformanceTrajectory",
    "PredictedGrowth",
    "RiskFactor",
    "TeamHealth",
    "TeamRisk",
    "grade_for_score",
    "level_for_score",
]

#: Lower bounds of the risk levels on a 0-1 risk score (stated in the prompts and the schema).
RISK_LEVELS = ((0.75, Level.CRITICAL), (0.5, Level.HIGH), (0.25, Level.MODERATE))
#: Lower bounds of the team grades on a 0-1 health score.
GRADES = ((0.85, Grade.A), (0.7, Grade.B), (0.55, Grade.C), (0.4, Grade.D))


def level_for_score(score: float) -> Level:
    """The risk level a 0-1 risk score stands for: low < 0.25 <= moderate < 0.5 <= high <
    0.75 <= critical."""
    return next((level for bound, level in RISK_LEVELS if score >= bound), Level.LOW)


def grade_for_score(score: float) -> Grade:
    """The grade a 0-1 health score stands for: A >= 0.85, B >= 0.7, C >= 0.55, D >= 0.4, F."""
    return next((grade for bound, grade in GRADES if score >= bound), Grade.F)


_PEOPLE_RULE = (
    "Your output supports a supportive conversation between a manager and a person; it is "
    "never grounds for a decision on its own. Stay factual, avoid speculation about private "
    "life or health, and prefer recommendations that change the environment over ones that "
    "blame the individual."
)

_RISK_KEYS = ("developer_id", "baseline_metrics", "period")
_RISK_CONTEXT = {
    "developer_id": "who is assessed (an id or handle; used as a label only)",
    "baseline_metrics": "the developer's or team's normal levels to compare against (JSON)",
    "period": "time span the activity covers, e.g. 'last 90 days'",
}


class RiskFactor(Closed):
    factor: str = Field(description="short name, e.g. 'declining commit frequency'")
    weight: Unit = Field(description="contribution to the risk, 0.0 to 1.0")
    evidence: str = Field("", description="the data points behind it")
    trend: Trend | None = Field(None, description="direction over the period; null if unknown")


def _risk_task(kind: str, content: str, context: Mapping[str, Any]) -> str:
    developer = context_value(context, "developer_id", "(unnamed)")
    typed = parse_activity(content)
    if context.get("baseline_metrics"):
        baseline = "compare it with the baseline metrics in the context"
    elif typed is not None and typed.baseline is not None:
        baseline = "compare it with the baseline inside the data"
    else:
        baseline = "no baseline was given, so judge changes within the data itself"
    return user_prompt(
        f"Assess the {kind} risk of developer {developer} from the activity data below; "
        f"{baseline}.",
        content, context, _RISK_KEYS)


# -- attrition_risk ----------------------------------------------------------------------------
class AttritionRisk(AnalysisResult):
    risk_score: Unit = Field(description="probability-like risk of leaving, 0.0 to 1.0")
    risk_level: Level = Field(description="low < 0.25 <= moderate < 0.5 <= high < 0.75 <= "
                                          "critical")
    confidence: Unit = Field(description="how well the data supports the assessment")
    factors: list[RiskFactor] = Field(default_factory=list, description="heaviest first")
    positive_signals: list[str] = Field(default_factory=list,
                                        description="signs of engagement that lower the risk")
    recommendations: list[str] = Field(default_factory=list,
                                       description="actions for the manager, most useful first")


_ATTRITION_BRIEF = f"""\
You are an organisational psychologist who specialises in engineering teams, assessing the risk \
that a developer leaves in the coming months from their activity data. Known leading signals: \
a sustained drop in commits, reviews or discussion; withdrawal from planning and design; \
narrowing scope to maintenance only; stalled growth (same level and work for a long time); \
after-hours work followed by disengagement; sudden clean-up or documentation of owned areas. \
Compare with the baseline when one is given: a change matters more than a level.

risk_score is 0.0 to 1.0 and risk_level follows it: low below 0.25, moderate below 0.5, high \
below 0.75, critical from 0.75. Each factor has a weight (its share of the risk, 0.0 to 1.0), the \
evidence from the data and its trend (improving, stable, worsening). Confidence is low when the \
data covers a short period or few signals. Positive signals are real signs of engagement. \
Recommendations are concrete actions a manager can take this month.

{ACTIVITY_FORMAT_NOTE}

{_PEOPLE_RULE}"""


def _attrition_prompt(content: str, context: Mapping[str, Any]) -> str:
    return _risk_task("attrition", content, context)


# -- burnout_risk ------------------------------------------------------------------------------
class BurnoutRisk(AnalysisResult):
    risk_score: Unit = Field(description="risk of burnout, 0.0 to 1.0")
    risk_level: Level = Field(description="low < 0.25 <= moderate < 0.5 <= high < 0.75 <= "
                                          "critical")
    confidence: Unit
    indicators: list[str] = Field(default_factory=list,
                                  description="observed warning signs, factual")
    factors: list[RiskFactor] = Field(default_factory=list, description="heaviest first")
    recommendations: list[str] = Field(default_factory=list, description="for the coming weeks")
    immediate_actions: list[str] = Field(
        default_factory=list, description="for this week; empty unless the risk is high")
    unmeasured: list[str] = Field(
        default_factory=list, description="load signals the data does not hold (e.g. hours "
                                          "worked, days off), which the score cannot count")


_BURNOUT_BRIEF = f"""\
You are an occupational health specialist who works with software teams, assessing burnout risk \
from activity data. Warning signs: sustained work outside normal hours and at weekends, rising \
volume with no recovery periods, long stretches without time off, many parallel workstreams or \
constant context switching, a high share of on-call or incident work, review load far above the \
team's, and a drop in quality or tone after a period of overload.

risk_score is 0.0 to 1.0 and risk_level follows it: low below 0.25, moderate below 0.5, high \
below 0.75, critical from 0.75. Indicators are the observed facts; factors weigh them (weight 0.0 \
to 1.0, with evidence and trend). Recommendations address workload and environment over the \
coming weeks; immediate actions are for this week and belong only to high or critical risk. \
Confidence is low when the data is short or partial (for instance no timestamps).

{ACTIVITY_FORMAT_NOTE}

{_PEOPLE_RULE}"""


def _burnout_prompt(content: str, context: Mapping[str, Any]) -> str:
    return _risk_task("burnout", content, context)


# -- performance_trajectory --------------------------------------------------------------------
class PredictedGrowth(Closed):
    skill: SkillName
    current: Proficiency
    predicted: Proficiency
    timeline: str = Field(description="when the predicted level is reached, e.g. '6 months'")


class PerformanceTrajectory(AnalysisResult):
    trajectory: Trajectory
    confidence: Unit
    predicted_growth: list[PredictedGrowth] = Field(default_factory=list)
    challenges: list[str] = Field(default_factory=list)
    opportunities: list[str] = Field(default_factory=list)
    recommendations: list[str] = Field(default_factory=list)


_PERFORMANCE_BRIEF = f"""\
You are an engineering director who has guided many careers, forecasting a developer's \
performance trajectory from their growth history and code quality history. Extrapolate from \
trends, not single points: consistent improvement in quality scores, widening scope and new \
skills suggest acceleration; flat scores and repeated work suggest a plateau.

Trajectory is accelerating, steady, plateauing or declining. Predicted growth lists the skills \
most likely to change, each with its current and predicted proficiency (beginner, intermediate, \
advanced, expert) and a realistic timeline within the forecast horizon; a level rarely moves by \
more than one step in six months. Challenges and opportunities are specific to this person's \
data; recommendations say what would help the predicted growth happen. Confidence reflects how \
long and consistent the history is. Growth history comes as per-period skills with levels and \
quality scores.

{ACTIVITY_FORMAT_NOTE}

{_PEOPLE_RULE}"""


def _performance_prompt(content: str, context: Mapping[str, Any]) -> str:
    developer = context_value(context, "developer_id", "(unnamed)")
    horizon = context_value(context, "horizon_months", "6")
    return user_prompt(
        f"Forecast the performance trajectory of developer {developer} over the next "
        f"{horizon} months from the growth and quality history below.",
        content, context, ("developer_id", "horizon_months"))


# -- team_health -------------------------------------------------------------------------------
class TeamRisk(Closed):
    risk: str
    severity: Level
    mitigation: str


class TeamHealth(AnalysisResult):
    health_score: Unit = Field(description="0.0 (failing) to 1.0 (thriving)")
    grade: Grade = Field(description="A >= 0.85, B >= 0.7, C >= 0.55, D >= 0.4, F below")
    strengths: list[str] = Field(default_factory=list)
    risks: list[TeamRisk] = Field(default_factory=list, description="most severe first")
    bottlenecks: list[str] = Field(default_factory=list,
                                   description="people, reviews or systems work queues behind")
    recommendations: list[str] = Field(default_factory=list)


_TEAM_BRIEF = f"""\
You are an engineering effectiveness consultant assessing a team's health from its metrics \
(delivery throughput and cycle time, review turnaround, deployment frequency and failure rate, \
incident load, work distribution, after-hours activity, knowledge concentration). Look for \
sustainable delivery, balanced load and shared knowledge; a fast team with one person holding \
every review is not healthy.

health_score is 0.0 to 1.0 and the grade follows it: A from 0.85, B from 0.7, C from 0.55, D from \
0.4, F below. Risks carry a severity (low, moderate, high, critical) and a concrete mitigation. \
Bottlenecks are specific: a person, a review queue, a flaky pipeline, a system only one person \
understands (bus factor). Recommendations are ordered by impact for effort.

{TEAM_FORMAT_NOTE}

{_PEOPLE_RULE}"""


def _team_prompt(content: str, context: Mapping[str, Any]) -> str:
    typed = parse_team_metrics(content)
    team = context_value(context, "team_name", (typed.team if typed and typed.team else
                                                "the team"))
    size = context_value(context, "team_size", str(typed.size) if typed and typed.size else
                         "unknown")
    return user_prompt(
        f"Assess the health of {team} (size: {size}) from the team metrics below.",
        content, context, ("team_name", "team_size", "period"))


SPECS = [
    make_spec(
        AnalysisType.ATTRITION_RISK.value,
        result_model=AttritionRisk,
        brief=_ATTRITION_BRIEF,
        build_user_prompt=_attrition_prompt,
        version="2",
        ttl=3600,
        description="Risk that a developer leaves: 0-1 score and level, weighted factors with "
                    "evidence and trend, positive signals and recommendations.",
        input_description="activity data (aexy DeveloperActivity JSON; free-form JSON for "
                          "model providers)",
        context_keys=_RISK_CONTEXT,
    ),
    make_spec(
        AnalysisType.BURNOUT_RISK.value,
        result_model=BurnoutRisk,
        brief=_BURNOUT_BRIEF,
        build_user_prompt=_burnout_prompt,
        version="2",
        description="Burnout risk: 0-1 score and level, indicators, weighted factors, "
                    "recommendations and immediate actions.",
        input_description="activity data (aexy DeveloperActivity JSON; free-form JSON for "
                          "model providers)",
        context_keys=_RISK_CONTEXT,
    ),
    make_spec(
        AnalysisType.PERFORMANCE_TRAJECTORY.value,
        result_model=PerformanceTrajectory,
        brief=_PERFORMANCE_BRIEF,
        build_user_prompt=_performance_prompt,
        version="2",
        description="Forecast of a developer's growth: trajectory, predicted proficiency per "
                    "skill with timeline, challenges, opportunities.",
        input_description="growth and code-quality history (aexy DeveloperActivity JSON with "
                          "skills and quality_score per period; free-form JSON for model "
                          "providers)",
        context_keys={
            "developer_id": "who is assessed (a label only)",
            "horizon_months": "forecast horizon in months (default 6)",
        },
    ),
    make_spec(
        AnalysisType.TEAM_HEALTH.value,
        result_model=TeamHealth,
        brief=_TEAM_BRIEF,
        build_user_prompt=_team_prompt,
        version="2",
        ttl=3600,
        description="A team's health: 0-1 score and A-F grade, strengths, risks with severity "
                    "and mitigation, bottlenecks.",
        input_description="team metrics (aexy TeamMetrics JSON; free-form JSON for model "
                          "providers)",
        context_keys={
            "team_name": "the team's name",
            "team_size": "number of people in the team",
            "period": "time span the metrics cover",
        },
    ),
]
