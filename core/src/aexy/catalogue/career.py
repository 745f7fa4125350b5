"""Career analyses: learning path, job description, interview rubric."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from aexy.analysis import AnalysisResult, AnalysisType
from aexy.catalogue.common import (
    Closed,
    Difficulty,
    Proficiency,
    Seniority,
    SkillList,
    SkillName,
    Unit,
    make_spec,
)
from aexy.prompts import context_value, user_prompt


# -- learning_path -----------------------------------------------------------------------------
class LearningPhase(Closed):
    name: str
    weeks: int = Field(ge=1, le=52, description="duration of the phase in weeks")
    skills: SkillList = Field(default_factory=list)
    activities: list[str] = Field(default_factory=list,
                                  description="concrete work: projects, courses, pairing")


class Milestone(Closed):
    skill: SkillName
    week: int = Field(ge=1, le=156, description="week from the start when it is reached")
    success_criteria: str = Field(description="observable proof that the skill is there")


class LearningPath(AnalysisResult):
    phases: list[LearningPhase] = Field(default_factory=list, description="in order")
    milestones: list[Milestone] = Field(default_factory=list, description="in week order")
    success_probability: Unit = Field(description="chance of reaching the target role on time")
    risks: list[str] = Field(default_factory=list)
    recommendations: list[str] = Field(default_factory=list)


_LEARNING_BRIEF = """\
You are a senior engineering mentor who designs learning plans for developers moving towards a \
new role. From the developer's current skills and the target role, build a realistic, \
sequenced path: foundations before specialisations, and learning by doing real work (a project \
in the team's codebase, pairing, owning a small feature) over courses alone.

Phases run in order, each with a duration in weeks (1-52), the skills it builds and concrete \
activities. Milestones are checkpoints with the week they should be reached and observable \
success criteria ("ships a reviewed PR adding a Kafka consumer with tests"), not "understands \
X". Fit the plan to the time available per week when given. success_probability (0.0 to 1.0) is \
your honest estimate of reaching the target on this plan; name the main risks to it."""


def _learning_prompt(content: str, context: Mapping[str, Any]) -> str:
    target = context_value(context, "target_role", "(target role not given)")
    hours = context_value(context, "hours_per_week", "unspecified")
    weeks = context_value(context, "timeline_weeks", "flexible")
    return user_prompt(
        f"Design a learning path from the current skills below to the target role "
        f"'{target}', with {hours} hours per week available and a timeline of {weeks} weeks.",
        content, context, ("target_role", "hours_per_week", "timeline_weeks"))


# -- job_description ---------------------------------------------------------------------------
class SkillRequirement(Closed):
    skill: SkillName
    level: Proficiency
    reasoning: str = Field(description="why the role needs it at this level")


class JobDescription(AnalysisResult):
    role_title: str
    level: Seniority
    summary: str = Field(description="two or three sentences on the role and its impact")
    must_have_skills: list[SkillRequirement] = Field(default_factory=list)
    nice_to_have_skills: SkillList = Field(default_factory=list)
    responsibilities: list[str] = Field(default_factory=list)
    qualifications: list[str] = Field(default_factory=list)
    full_text: str = Field(description="the complete job description in Markdown")


_JD_BRIEF = """\
You are a technical recruiter who partners closely with engineering managers, writing a job \
description from the role, its level and what the team needs. Write for the engineers you want \
to attract: concrete about the work, the stack and the impact; honest about must-haves; free of \
clichés ("rockstar", "ninja", "fast-paced environment") and of requirements that exclude people \
without reason (years of experience as a proxy for skill, degrees the work does not need).

Keep must-have skills to what the role truly cannot do without (usually five to eight), each with \
the proficiency needed and a reason tied to the team's needs; everything else is nice to have. \
The level is one of junior, mid, senior, staff, principal and must match the responsibilities. \
full_text is the complete, ready-to-publish description in Markdown with headings for the role, \
responsibilities, requirements and nice-to-haves, consistent with the structured fields."""


def _jd_prompt(content: str, context: Mapping[str, Any]) -> str:
    role = context_value(context, "role", "(role not given)")
    level = context_value(context, "level", "unspecified")
    team = context_value(context, "team_name", "the team")
    return user_prompt(
        f"Write the job description for a {role} at level {level} joining {team}, from the "
        "team needs below.",
        content, context, ("role", "level", "team_name", "location"))


# -- interview_rubric --------------------------------------------------------------------------
class TechnicalQuestion(Closed):
    question: str
    skill_assessed: SkillName
    difficulty: Difficulty
    evaluation_criteria: list[str] = Field(default_factory=list,
                                           description="what a strong answer contains")
    red_flags: list[str] = Field(default_factory=list)


class BehavioralQuestion(Closed):
    question: str
    competency: str = Field(description="e.g. ownership, collaboration, handling conflict")
    evaluation_criteria: list[str] = Field(default_factory=list)
    red_flags: list[str] = Field(default_factory=list)


class InterviewRubric(AnalysisResult):
    role_title: str
    technical_questions: list[TechnicalQuestion] = Field(default_factory=list)
    behavioral_questions: list[BehavioralQuestion] = Field(default_factory=list)
    system_design_prompt: str = Field(description="one open design exercise for the role")
    culture_fit_criteria: list[str] = Field(default_factory=list,
                                            description="observable behaviours, not affinity")


_RUBRIC_BRIEF = """\
You are a hiring manager who has trained many interviewers, building a structured interview \
rubric so that different interviewers assess candidates consistently and fairly. Questions test \
the skills the role really uses, on the role's stack, with problems like the team's real work \
rather than trivia or puzzles.

Technical questions each assess one skill, with a difficulty (easy, medium, hard) fitted to the \
level, evaluation criteria that describe what a strong answer contains, and red flags. \
Behavioural questions ask for specific past situations ("tell me about a time...") and name the \
competency they assess. The system design prompt is one open exercise sized for the level. \
Culture-fit criteria are observable working behaviours (gives and takes feedback, writes things \
down) - never similarity to the interviewer, background or personality."""


def _rubric_prompt(content: str, context: Mapping[str, Any]) -> str:
    role = context_value(context, "role", "(role not given)")
    level = context_value(context, "level", "unspecified")
    skills = context_value(context, "skills", "as described")
    stack = context_value(context, "stack", "as described")
    count = context_value(context, "question_count", "5")
    return user_prompt(
        f"Build an interview rubric for a {role} at level {level}. Skills to assess: {skills}. "
        f"Stack: {stack}. Write about {count} technical questions and 3 behavioural questions. "
        "The role description follows.",
        content, context, ("role", "level", "skills", "stack", "question_count"))


SPECS = [
    make_spec(
        AnalysisType.LEARNING_PATH.value,
        result_model=LearningPath,
        brief=_LEARNING_BRIEF,
        build_user_prompt=_learning_prompt,
        version="1",
        description="A phased plan from current skills to a target role, with milestones, "
                    "success probability and risks.",
        input_description="current skills (text or JSON)",
        context_keys={
            "target_role": "the role to reach, e.g. 'senior backend engineer'",
            "hours_per_week": "time available for learning",
            "timeline_weeks": "desired duration in weeks",
        },
    ),
    make_spec(
        AnalysisType.JOB_DESCRIPTION.value,
        result_model=JobDescription,
        brief=_JD_BRIEF,
        build_user_prompt=_jd_prompt,
        version="1",
        max_tokens=6144,
        description="A job description: structured must-have skills, responsibilities and "
                    "qualifications, plus the full Markdown text.",
        input_description="what the team needs (text)",
        context_keys={
            "role": "the role, e.g. 'backend engineer'",
            "level": "junior, mid, senior, staff or principal",
            "team_name": "the hiring team",
            "location": "location or remote policy",
        },
    ),
    make_spec(
        AnalysisType.INTERVIEW_RUBRIC.value,
        result_model=InterviewRubric,
        brief=_RUBRIC_BRIEF,
        build_user_prompt=_rubric_prompt,
        version="1",
        max_tokens=6144,
        description="A structured interview: technical and behavioural questions with criteria "
                    "and red flags, a system design prompt, culture-fit criteria.",
        input_description="role description (text, e.g. a job_description result's full_text)",
        context_keys={
            "role": "the role, e.g. 'backend engineer'",
            "level": "junior, mid, senior, staff or principal",
            "skills": "skills to assess (list of strings)",
            "stack": "the team's technology stack (list of strings)",
            "question_count": "number of technical questions (default 5)",
        },
    ),
]
