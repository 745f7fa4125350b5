"""Code analyses: quality, complexity, skill extraction. Content: source code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from aexy.analysis import AnalysisResult, AnalysisType
from aexy.catalogue.common import (
    Closed,
    IssueCategory,
    Level,
    Score10,
    SkillList,
    SkillName,
    make_spec,
)
from aexy.prompts import context_value, user_prompt

_CODE_CONTEXT = {
    "file_path": "path of the file; a hint for language, framework and the file's role",
    "language": "the language, when the path does not make it obvious",
    "repository": "repository name or one-line description, a hint for the domain",
}
_CODE_KEYS = ("file_path", "language", "repository")


def _where(context: Mapping[str, Any]) -> str:
    where = f"file `{context_value(context, 'file_path', 'unknown')}`"
    if context.get("language"):
        where += f" (language: {context_value(context, 'language')})"
    if context.get("repository"):
        where += f" from repository {context_value(context, 'repository')}"
    return where


# -- code_quality ------------------------------------------------------------------------------
class CodeIssue(Closed):
    severity: Level = Field(description="impact if left as is")
    category: IssueCategory
    description: str = Field(description="what is wrong and why it matters, one or two sentences")
    line: int | None = Field(None, ge=1, description="1-based line number, null if not local")


class CodeQuality(AnalysisResult):
    score: Score10 = Field(description="overall quality, 1 (unacceptable) to 10 (exemplary)")
    strengths: list[str] = Field(default_factory=list)
    issues: list[CodeIssue] = Field(default_factory=list, description="most severe first")
    suggestions: list[str] = Field(default_factory=list,
                                   description="concrete, actionable improvements")
    summary: str = Field(description="two or three sentences for the author")


_QUALITY_BRIEF = """\
You are a principal engineer doing a careful code review for a colleague. Judge the code the way \
you would before approving a merge: correctness first (bugs, unhandled errors, edge cases, race \
conditions), then security (injection, secrets, unsafe deserialisation, missing validation), then \
performance problems that matter at realistic scale, then maintainability, readability, design, \
tests and documentation.

Scoring: 9-10 exemplary, ready to merge; 7-8 solid with minor issues; 5-6 works but needs \
noticeable rework; 3-4 significant defects; 1-2 broken or dangerous. An issue's severity is its \
impact: critical (exploitable or data-losing), high (likely bug or serious risk), moderate (will \
cost time later), low (polish). Give a line number only when the issue is local to a line you can \
see. Name real strengths, not generic praise. Suggestions must be specific enough to act on \
without asking you again. Report at most 15 issues, the most severe first."""


def _quality_prompt(content: str, context: Mapping[str, Any]) -> str:
    return user_prompt(
        f"Review the code from {_where(context)}: score its overall quality, list its strengths "
        "and its issues with severity, category and line, and suggest improvements.",
        content, context, _CODE_KEYS)


# -- code_complexity ---------------------------------------------------------------------------
class Hotspot(Closed):
    name: str = Field(description="function, class or block name")
    reason: str = Field(description="what makes it hard to understand or change")


class CodeComplexity(AnalysisResult):
    complexity: Score10 = Field(description="1 (trivial) to 10 (extremely complex)")
    cognitive_load: Level = Field(description="effort for a newcomer to understand the code")
    hotspots: list[Hotspot] = Field(default_factory=list, description="most complex first")
    summary: str


_COMPLEXITY_BRIEF = """\
You are a senior engineer who specialises in refactoring legacy systems, assessing how hard this \
code is to understand and change safely. Consider nesting depth, branching and cyclomatic \
complexity, function and class length, the number of concepts a reader must keep in mind at once, \
implicit state and side effects, clever or non-obvious constructs, and coupling to code that is \
not shown.

Complexity: 1-2 straight-line code; 3-4 simple logic; 5-6 moderate branching or several \
interacting parts; 7-8 deep nesting, long functions or tangled state; 9-10 very hard to follow \
even for its author. Cognitive load is the effort for a competent newcomer: low, moderate, high or \
critical (nobody can change it safely without a rewrite). Hotspots name the specific functions, \
classes or blocks that concentrate the complexity and say why; at most 10, worst first. Size \
alone is not complexity: long but flat code can be simple."""


def _complexity_prompt(content: str, context: Mapping[str, Any]) -> str:
    return user_prompt(
        f"Assess the complexity of the code from {_where(context)}: overall complexity, "
        "cognitive load, and the hotspots that concentrate it.",
        content, context, _CODE_KEYS)


# -- skill_extraction --------------------------------------------------------------------------
class SkillExtraction(AnalysisResult):
    language: SkillName = Field(description="primary programming language, e.g. Python")
    frameworks: SkillList = Field(default_factory=list,
                                  description="frameworks and notable libraries used")
    patterns: list[str] = Field(default_factory=list,
                                description="design and architectural patterns applied")
    complexity: Score10 = Field(description="technical sophistication, 1 (basic) to 10 (expert)")
    quality_indicators: list[str] = Field(
        default_factory=list, description="observable signs of quality, e.g. type hints, tests")
    domains: SkillList = Field(
        default_factory=list,
        description="technical or business domains, e.g. authentication, payments, OAuth")

    @property
    def skills(self) -> list[str]:
        """Language, frameworks and domains, without duplicates (case-insensitive), in that
        order: the skills this code demonstrates."""
        seen: set[str] = set()
        out: list[str] = []
        for skill in (self.language, *self.frameworks, *self.domains):
            key = skill.strip().casefold()
            if key and key not in seen:
                seen.add(key)
                out.append(skill.strip())
        return out


_SKILL_BRIEF = """\
You are a staff engineer who also runs technical hiring, reading a piece of code to see which \
skills its author demonstrably has. Report only what the code itself shows: an imported library \
that is actually used counts as a framework; a name in a comment does not. Use the canonical \
names of languages, frameworks and libraries (Python, FastAPI, SQLAlchemy, React, PostgreSQL), \
without versions. Patterns are design or architectural patterns that are really applied \
(repository, dependency injection, middleware, retry with backoff, event sourcing). Domains are \
the technical or business areas the code works in (authentication, OAuth, JWT, payments, \
search, data pipelines).

Complexity rates the technical sophistication the code demonstrates: 1-3 introductory, 4-6 \
working professional, 7-8 advanced (concurrency, non-trivial algorithms, careful API design), \
9-10 expert. Quality indicators are observable: type hints, tests, error handling, input \
validation, documentation, logging, consistent naming."""


def _skill_prompt(content: str, context: Mapping[str, Any]) -> str:
    return user_prompt(
        f"Extract the technical skills demonstrated by the code from {_where(context)}: primary "
        "language, frameworks and libraries, design patterns, complexity, quality indicators, "
        "and technical or business domains.",
        content, context, _CODE_KEYS)


SPECS = [
    make_spec(
        AnalysisType.CODE_QUALITY.value,
        result_model=CodeQuality,
        brief=_QUALITY_BRIEF,
        build_user_prompt=_quality_prompt,
        version="1",
        ttl=86400,
        description="Code review: a 1-10 quality score, strengths, located issues with severity "
                    "and category, and suggestions.",
        input_description="source code (one file or a diff hunk)",
        context_keys=_CODE_CONTEXT,
    ),
    make_spec(
        AnalysisType.CODE_COMPLEXITY.value,
        result_model=CodeComplexity,
        brief=_COMPLEXITY_BRIEF,
        build_user_prompt=_complexity_prompt,
        version="1",
        description="How hard the code is to understand and change: 1-10 complexity, cognitive "
                    "load and the hotspots that concentrate it.",
        input_description="source code",
        context_keys=_CODE_CONTEXT,
    ),
    make_spec(
        AnalysisType.SKILL_EXTRACTION.value,
        result_model=SkillExtraction,
        brief=_SKILL_BRIEF,
        build_user_prompt=_skill_prompt,
        version="1",
        ttl=604800,
        description="Technical skills the code demonstrates; `.skills` is language + frameworks "
                    "+ domains.",
        input_description="source code",
        context_keys=_CODE_CONTEXT,
    ),
]
