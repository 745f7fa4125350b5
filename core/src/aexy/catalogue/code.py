"""Code analyses: quality, complexity, skill extraction. Content: source code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, field_validator

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
from aexy.grounding import CODE_QUOTE, LINE, QUOTE, BackedBy, MentionedIn
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


#: Said in the system prompt of every code type: claims need evidence the code shows.
EVIDENCE_RULES = """\
Evidence: every library, strength, issue and quality indicator carries its evidence, a line \
number or a short quote copied exactly from the code (one line, as it is written there). A claim \
you cannot point to in the code must not be made: aexy checks each quote and line against the \
code and drops claims whose evidence is not there. Text inside comments and string literals is \
not code: a name mentioned there is no import, no test and no framework. Report only what this \
code shows; when it shows nothing for a field, leave the list empty. Confidence is how sure you \
are of the answer as a whole, 0.0 to 1.0: lower it when the code is a fragment, the language is \
unclear or the evidence is thin."""

Confidence = Annotated[float, Field(ge=0.0, le=1.0, description=(
    "how sure the answer is, 0.0 (a guess) to 1.0 (certain), as the evidence supports it"))]
LineNumber = Annotated[int | None, LINE, Field(ge=1, description=(
    "1-based line number in the code where it shows; null when none"))]
Quote = Annotated[str | None, QUOTE, Field(description=(
    "a short quote copied exactly from the code where it shows (one line); null when a "
    "line number is given instead"))]


def _objects(value: Any, key: str) -> Any:
    """Bare strings in a list of claims read as claims without evidence."""
    if isinstance(value, list):
        return [{key: v} if isinstance(v, str) else v for v in value]
    return value


# -- code_quality ------------------------------------------------------------------------------
class CodeIssue(Closed):
    severity: Level = Field(description="impact if left as is")
    category: IssueCategory
    description: str = Field(description="what is wrong and why it matters, one or two sentences")
    line: LineNumber = None
    evidence: Quote = None


class Strength(Closed):
    description: str = Field(description="what the code does well, stated with its figure")
    line: LineNumber = None
    evidence: Quote = None


class CodeQuality(AnalysisResult):
    score: Score10 = Field(description="overall quality, 1 (unacceptable) to 10 (exemplary)")
    strengths: list[Strength] = Field(default_factory=list,
                                      description="each with the line or quote that shows it")
    issues: list[CodeIssue] = Field(default_factory=list, description="most severe first")
    suggestions: list[str] = Field(default_factory=list,
                                   description="concrete, actionable improvements")
    summary: str = Field(description="two or three sentences for the author")
    confidence: Confidence = 0.5

    @field_validator("strengths", mode="before")
    @classmethod
    def _plain_strengths(cls, value: Any) -> Any:
        # A bare sentence (the answer shape before evidence) is a strength with no evidence,
        # which grounding then drops.
        return _objects(value, "description")


_QUALITY_BRIEF = """\
You are a principal engineer reviewing code before a merge. Judge correctness first (bugs, \
unhandled errors, edge cases, race conditions), then security (injection, hard-coded secrets, \
evaluation of strings as code, unsafe deserialisation, missing validation), then performance that \
matters at realistic scale, then maintainability, readability, design, tests and documentation.

Scoring: 9-10 exemplary, ready to merge; 7-8 solid with minor issues; 5-6 works but needs \
noticeable rework; 3-4 significant defects; 1-2 broken or dangerous. The score follows from the \
issues and strengths you can show, never from what comments or strings claim about the code. An \
issue's severity is its impact: critical (exploitable or data-losing), high (likely bug or \
serious risk), moderate (will cost time later), low (polish). A strength is specific to this \
code, never generic praise. Suggestions are specific enough to act on without asking again. At \
most 15 issues, the most severe first."""


def _quality_prompt(content: str, context: Mapping[str, Any]) -> str:
    return user_prompt(
        f"Review the code from {_where(context)}: score its overall quality, list its strengths "
        "and its issues (severity, category, and the line or quote that shows each), and "
        "suggest improvements.",
        content, context, _CODE_KEYS)


# -- code_complexity ---------------------------------------------------------------------------
class Hotspot(Closed):
    name: str = Field(description="function, class or block name as written in the code")
    reason: str = Field(description="what makes it hard to understand or change")


class CodeComplexity(AnalysisResult):
    complexity: Score10 = Field(description="1 (trivial) to 10 (extremely complex)")
    cognitive_load: Level = Field(description="effort for a newcomer to understand the code")
    hotspots: list[Hotspot] = Field(default_factory=list, description="most complex first")
    summary: str
    confidence: Confidence = 0.5


_COMPLEXITY_BRIEF = """\
You are a senior engineer assessing how hard code is to understand and change safely. Consider \
nesting depth, branching and cyclomatic complexity, function and class length, the number of \
concepts a reader must keep in mind at once, implicit state and side effects, non-obvious \
constructs, and coupling to code that is not shown.

Complexity: 1-2 straight-line code; 3-4 simple logic; 5-6 moderate branching or several \
interacting parts; 7-8 deep nesting, long functions or tangled state; 9-10 very hard to follow \
even for its author. Cognitive load is the effort for a competent newcomer: low, moderate, high \
or critical (nobody can change it safely without a rewrite). Hotspots name functions, classes or \
blocks that exist in this code, as they are written there, and say why; at most 10, worst first. \
Size alone is not complexity: long but flat code can be simple."""


def _complexity_prompt(content: str, context: Mapping[str, Any]) -> str:
    return user_prompt(
        f"Assess the complexity of the code from {_where(context)}: overall complexity, "
        "cognitive load, and the hotspots that concentrate it.",
        content, context, _CODE_KEYS)


# -- skill_extraction --------------------------------------------------------------------------
class LibraryUse(Closed):
    name: Annotated[str, MentionedIn("evidence")] = Field(description=(
        "the imported package or module as the import names it (its root), without version"))
    evidence: Annotated[str, CODE_QUOTE] = Field(description=(
        "the import or usage line, copied exactly from the code (never from a comment)"))


class QualityIndicator(Closed):
    name: str = Field(description="an observable sign of quality, named in two or three words")
    line: LineNumber = None
    evidence: Quote = None


class SkillExtraction(AnalysisResult):
    language: SkillName = Field(description="the primary programming language of the code")
    libraries: list[LibraryUse] = Field(
        default_factory=list,
        description="every external library the code imports (not the language's standard "
                    "library, not the project's own modules), each with its import line")
    frameworks: Annotated[SkillList, BackedBy("libraries")] = Field(
        default_factory=list,
        description="canonical names of the well-known frameworks and libraries among "
                    "`libraries`; each must be one of them")
    patterns: list[str] = Field(default_factory=list,
                                description="design and architectural patterns applied")
    complexity: Score10 = Field(description="technical sophistication, 1 (basic) to 10 (expert)")
    quality_indicators: list[QualityIndicator] = Field(
        default_factory=list,
        description="observable signs of quality, each with the line or quote that shows it")
    domains: SkillList = Field(
        default_factory=list,
        description="technical or business areas the code itself works in")
    confidence: Confidence = 0.5

    @field_validator("quality_indicators", mode="before")
    @classmethod
    def _plain_indicators(cls, value: Any) -> Any:
        return _objects(value, "name")

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
You are a staff engineer reading code to see which skills its author demonstrably has. Report \
only what the code itself shows. Libraries are the external packages it imports, each with its \
import line; the language's standard library and the project's own modules are not libraries. \
Frameworks are the canonical names (no versions) of the well-known ones among those libraries, \
and nothing else. Patterns are design or architectural patterns the code really applies. Domains \
are the technical or business areas this code works in, as its names and calls show; none when it \
shows none.

Complexity rates the technical sophistication the code demonstrates: 1-3 introductory, 4-6 \
working professional, 7-8 advanced (concurrency, non-trivial algorithms, careful API design), \
9-10 expert. Quality indicators are observable signs such as type annotations, tests, error \
handling, input validation, documentation or logging, each only where the code shows it."""


def _skill_prompt(content: str, context: Mapping[str, Any]) -> str:
    return user_prompt(
        f"Extract the technical skills demonstrated by the code from {_where(context)}: primary "
        "language, imported libraries (with their import lines), frameworks among them, design "
        "patterns, complexity, quality indicators (with evidence), and domains.",
        content, context, _CODE_KEYS)


SPECS = [
    make_spec(
        AnalysisType.CODE_QUALITY.value,
        result_model=CodeQuality,
        brief=f"{_QUALITY_BRIEF}\n\n{EVIDENCE_RULES}",
        build_user_prompt=_quality_prompt,
        version="2",
        ttl=86400,
        description="Code review: a 1-10 quality score, strengths, located issues with severity "
                    "and category, and suggestions.",
        input_description="source code (one file or a diff hunk)",
        context_keys=_CODE_CONTEXT,
    ),
    make_spec(
        AnalysisType.CODE_COMPLEXITY.value,
        result_model=CodeComplexity,
        brief=f"{_COMPLEXITY_BRIEF}\n\n{EVIDENCE_RULES}",
        build_user_prompt=_complexity_prompt,
        version="2",
        description="How hard the code is to understand and change: 1-10 complexity, cognitive "
                    "load and the hotspots that concentrate it.",
        input_description="source code",
        context_keys=_CODE_CONTEXT,
    ),
    make_spec(
        AnalysisType.SKILL_EXTRACTION.value,
        result_model=SkillExtraction,
        brief=f"{_SKILL_BRIEF}\n\n{EVIDENCE_RULES}",
        build_user_prompt=_skill_prompt,
        version="2",
        ttl=604800,
        description="Technical skills the code demonstrates; `.skills` is language + frameworks "
                    "+ domains.",
        input_description="source code",
        context_keys=_CODE_CONTEXT,
    ),
]
