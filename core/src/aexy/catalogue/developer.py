"""Developer analyses: profile, soft skills, growth trajectory. Content: activity data or texts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from aexy.analysis import AnalysisResult, AnalysisType
from aexy.catalogue.activity import ACTIVITY_FORMAT_NOTE
from aexy.catalogue.common import (
    Closed,
    Proficiency,
    Seniority,
    SkillList,
    SoftSkill,
    Trajectory,
    Unit,
    make_spec,
)
from aexy.prompts import context_value, user_prompt

_DEV_KEYS = ("developer_id", "period", "role")


def _who(context: Mapping[str, Any]) -> str:
    who = f"developer {context_value(context, 'developer_id', '(unnamed)')}"
    if context.get("role"):
        who += f", currently {context_value(context, 'role')}"
    if context.get("period"):
        who += f", over {context_value(context, 'period')}"
    return who


# -- developer_profile -------------------------------------------------------------------------
class Expertise(Closed):
    area: str = Field(description="technology or domain, e.g. 'PostgreSQL performance tuning'")
    level: Proficiency
    evidence: str = Field(description="the activity that shows it")


class DeveloperProfile(AnalysisResult):
    summary: str = Field(description="three or four sentences a manager could read")
    primary_languages: SkillList = Field(default_factory=list, description="most used first")
    expertise: list[Expertise] = Field(default_factory=list)
    seniority: Seniority | None = Field(
        None, description="level the activity demonstrates; null when the data cannot show it")
    strengths: list[str] = Field(default_factory=list)
    growth_areas: list[str] = Field(default_factory=list)


_PROFILE_BRIEF = f"""\
You are an engineering manager with years of experience calibrating levels across teams, \
writing a developer's profile from their activity data (commits, pull requests, reviews, \
languages, repositories, issue work). Describe what the activity shows, not what a title says.

Primary languages are ordered by how much real work is in them. Each expertise area needs a \
proficiency (beginner, intermediate, advanced, expert) and a short piece of evidence from the \
data; prefer specific areas ("PostgreSQL query tuning") to broad ones ("databases"). Seniority \
(junior, mid, senior, staff, principal) reflects scope and autonomy: juniors deliver well-defined \
tasks, seniors own features end to end and review others, staff and principal engineers shape \
systems across teams; when the data cannot show scope or autonomy, seniority is null. Strengths \
and growth areas are concrete and kind; growth areas are things the next level needs, not \
faults.

{ACTIVITY_FORMAT_NOTE} Code evidence, when present, lists analysed code samples with the \
skills found in each."""


def _profile_prompt(content: str, context: Mapping[str, Any]) -> str:
    return user_prompt(
        f"Build the profile of {_who(context)} from the activity summary below: summary, "
        "primary languages, expertise with evidence, seniority, strengths and growth areas.",
        content, context, _DEV_KEYS)


# -- soft_skills -------------------------------------------------------------------------------
class SoftSkillScore(Closed):
    skill: SoftSkill
    score: Unit = Field(description="0.0 (no sign) to 1.0 (outstanding, consistent evidence)")
    indicators: list[str] = Field(default_factory=list,
                                  description="short quotes or paraphrases that show it")


class SoftSkills(AnalysisResult):
    skills: list[SoftSkillScore] = Field(
        default_factory=list, description="one entry per soft skill with enough evidence")
    summary: str


_SOFT_BRIEF = """\
You are an engineering coach who reads pull request descriptions, review comments and \
discussion threads to understand how a developer works with others. Assess four skills: \
communication (clear, complete, well-structured writing; context for reviewers), collaboration \
(constructive reviews, responsiveness, accepting feedback, unblocking others), mentorship \
(explaining the why, teaching through reviews, patience with newcomers) and leadership (driving \
decisions, proposing direction, taking ownership of outcomes).

Scores run from 0.0 to 1.0: 0.2 weak or absent, 0.5 adequate, 0.7 good, 0.9 or more \
outstanding and consistent. Include a skill only when the texts give evidence for it, and back \
each with indicators: short quotes or paraphrases from the texts. Judge behaviour, not \
personality, and do not penalise brevity that is appropriate to the context."""


def _soft_prompt(content: str, context: Mapping[str, Any]) -> str:
    return user_prompt(
        f"Assess the soft skills of {_who(context)} from the pull request texts and review "
        "comments below.",
        content, context, _DEV_KEYS)


# -- growth_trajectory -------------------------------------------------------------------------
class GrowthTrajectory(AnalysisResult):
    trajectory: Trajectory
    skills_acquired: SkillList = Field(default_factory=list,
                                       description="skills new or clearly deepened in the period")
    skills_declining: SkillList = Field(default_factory=list,
                                        description="skills used markedly less than before")
    learning_velocity: Unit = Field(
        description="pace of learning, 0.0 (none) to 1.0 (exceptionally fast)")
    summary: str


_GROWTH_BRIEF = f"""\
You are a career coach for software engineers reading a developer's skill history (skills and \
proficiency over time, with the activity behind them) to describe how they are growing.

Trajectory: accelerating (new skills arriving faster over time), steady (consistent growth), \
plateauing (little new since an earlier period of growth), declining (skills and activity \
shrinking). Skills acquired are new or clearly deepened within the history; skills declining are \
used markedly less than before, which is not necessarily bad (a deliberate change of focus). \
Learning velocity is the pace of learning relative to a typical professional developer: 0.5 is \
typical, 0.8 or more is exceptional. Use canonical skill names without versions.

{ACTIVITY_FORMAT_NOTE} Skill history comes as per-period skills with levels, or as lines \
changed per language."""


def _growth_prompt(content: str, context: Mapping[str, Any]) -> str:
    return user_prompt(
        f"Describe the growth trajectory of {_who(context)} from the skill history below.",
        content, context, _DEV_KEYS)


_DEV_CONTEXT = {
    "developer_id": "who is described (an id or handle; used as a label only)",
    "period": "time span the data covers, e.g. '2024-01..2024-06'",
    "role": "current role or title, e.g. 'backend engineer'",
}

SPECS = [
    make_spec(
        AnalysisType.DEVELOPER_PROFILE.value,
        result_model=DeveloperProfile,
        brief=_PROFILE_BRIEF,
        build_user_prompt=_profile_prompt,
        version="2",
        description="A developer's profile from their activity: languages, expertise with "
                    "evidence, seniority, strengths and growth areas.",
        input_description="activity (aexy DeveloperActivity JSON, with code evidence; free-form "
                          "JSON or text for model providers)",
        context_keys={**_DEV_CONTEXT, "level_bands": (
            "for the offline provider: level -> [lines changed, quarters with changes] that "
            "reach it, e.g. {\"expert\": [15000, 8]}")},
    ),
    make_spec(
        AnalysisType.SOFT_SKILLS.value,
        result_model=SoftSkills,
        brief=_SOFT_BRIEF,
        build_user_prompt=_soft_prompt,
        version="1",
        description="Communication, collaboration, mentorship and leadership, scored 0-1 with "
                    "indicators.",
        input_description="pull request descriptions and review comments (text)",
        context_keys=_DEV_CONTEXT,
    ),
    make_spec(
        AnalysisType.GROWTH_TRAJECTORY.value,
        result_model=GrowthTrajectory,
        brief=_GROWTH_BRIEF,
        build_user_prompt=_growth_prompt,
        version="2",
        description="How a developer's skills evolve: trajectory, skills gained and declining, "
                    "learning velocity.",
        input_description="skill history (aexy DeveloperActivity JSON with skills or "
                          "lines_by_language per period; free-form JSON for model providers)",
        context_keys=_DEV_CONTEXT,
    ),
]
