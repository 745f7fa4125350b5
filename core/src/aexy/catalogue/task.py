"""Task analyses: signals from a task, and how well a developer matches it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from aexy.analysis import AnalysisResult, AnalysisType
from aexy.catalogue.common import (
    Effort,
    Score10,
    Score100,
    SkillList,
    Unit,
    make_spec,
)
from aexy.prompts import context_value, user_prompt


# -- task_signals ------------------------------------------------------------------------------
class TaskSignals(AnalysisResult):
    required_skills: SkillList = Field(default_factory=list,
                                       description="skills the task cannot be done without")
    preferred_skills: SkillList = Field(default_factory=list,
                                        description="skills that would make it faster or safer")
    domain: str = Field(description="main technical or business area, e.g. 'payments'")
    complexity: Score10 = Field(description="1 (trivial change) to 10 (research-grade problem)")
    estimated_effort: Effort = Field(description="order of magnitude for a competent developer")
    keywords: list[str] = Field(default_factory=list)
    confidence: Unit = Field(description="how well the description supports these signals")
    code_areas: list[str] = Field(
        default_factory=list, description="the paths from the code_areas context that the task "
                                          "names (directories or modules); [] when none")


_SIGNALS_BRIEF = """\
You are a tech lead triaging the backlog: from a task's title, description and labels you infer \
what it takes to do it, so the right person can pick it up. Required skills are those the task \
cannot be done without; preferred skills would make it faster or safer. Use canonical technology \
names without versions (Python, React, PostgreSQL, Kubernetes) and name domain skills where \
relevant (OAuth, payments, search relevance).

Complexity: 1-2 a trivial, well-specified change; 3-4 a contained change in known code; 5-6 \
several components or some unknowns; 7-8 cross-cutting work or significant design; 9-10 open \
research or high-risk migration. Estimated effort for a competent developer familiar with the \
codebase: hours, days or weeks. Keywords are terms useful for search and matching. Confidence is \
low (under 0.5) when the description is vague or missing; do not invent requirements that the \
text does not support."""


def _signals_prompt(content: str, context: Mapping[str, Any]) -> str:
    labels = context_value(context, "labels", "none")
    project = context_value(context, "project", "unspecified")
    return user_prompt(
        f"Extract the signals of the task below (project: {project}; labels: {labels}): "
        "required and preferred skills, domain, complexity, estimated effort, keywords and your "
        "confidence.",
        content, context, ("labels", "project", "source", "code_areas"))


# -- task_matching -----------------------------------------------------------------------------
class TaskMatch(AnalysisResult):
    overall_score: Score100 = Field(description="fit of developer and task, 0 to 100")
    skill_match: Unit = Field(description="share of the required skills the developer has")
    experience_match: Unit = Field(description="fit of their experience to the task's complexity")
    growth_opportunity: Unit = Field(description="how much the developer would learn from it")
    reasoning: str = Field(description="two to four sentences explaining the score")
    strengths: list[str] = Field(default_factory=list,
                                 description="what makes the developer suited")
    gaps: list[str] = Field(default_factory=list, description="missing skills or experience")


_MATCH_BRIEF = """\
You are an engineering manager assigning work. You have a task (its description or its \
extracted signals) and a developer's profile, and you judge how well they match, the way you \
would before a planning meeting.

Skill match is the share of the task's required skills the developer demonstrably has (0.0 to \
1.0), with partial credit for close neighbours (Flask experience for a FastAPI task). Experience \
match compares the developer's seniority and track record with the task's complexity: a junior on \
a 9/10 migration or a principal on a typo fix both score low. Growth opportunity is how much the \
developer would learn without being set up to fail. The overall score (0-100) weighs delivery \
first: roughly 50% skill match, 30% experience match and 20% growth opportunity, adjusted by \
judgement you explain in the reasoning. Gaps are specific skills or experiences missing."""


def _match_prompt(content: str, context: Mapping[str, Any]) -> str:
    developer = context_value(context, "developer_id", "the developer")
    has_profile = "developer_profile" in context
    where = ("The developer's profile is the `developer_profile` entry of the context."
             if has_profile else
             "No separate profile was given: the content holds both the task and the profile.")
    return user_prompt(
        f"Judge how well {developer} matches the task in the content. {where} Score the overall "
        "fit, skill match, experience match and growth opportunity, explain your reasoning, and "
        "list strengths and gaps.",
        content, context, ("developer_id", "developer_profile"))


SPECS = [
    make_spec(
        AnalysisType.TASK_SIGNALS.value,
        result_model=TaskSignals,
        brief=_SIGNALS_BRIEF,
        build_user_prompt=_signals_prompt,
        version="1",
        description="What a task needs: required and preferred skills, domain, complexity, "
                    "effort and keywords.",
        input_description="task title and description (text)",
        context_keys={
            "labels": "the task's labels or tags (list of strings)",
            "project": "project or repository the task belongs to",
            "source": "tracker the task comes from, e.g. 'github', 'jira', 'linear'",
            "code_areas": "the project's code areas, directories or modules (list of paths), "
                          "for the task to name",
        },
    ),
    make_spec(
        AnalysisType.TASK_MATCHING.value,
        result_model=TaskMatch,
        brief=_MATCH_BRIEF,
        build_user_prompt=_match_prompt,
        version="1",
        description="Fit of a developer for a task: 0-100 overall score, skill, experience and "
                    "growth components, strengths and gaps.",
        input_description="the task (text, or its task_signals result as JSON)",
        context_keys={
            "developer_profile": "the developer's profile (e.g. a developer_profile result)",
            "developer_id": "who is matched (a label only)",
        },
    ),
]
