"""``TaskMatcher``: who fits a task, ranked, from developer profiles and the evidence of
their commits.

``task_signals`` runs once on the task, with the code areas the profiles know as its
``code_areas`` context, so that the signals name the areas the task is about. ``task_matching``
runs once per developer with those signals as the content and the developer's profile as the
``developer_profile`` context, all concurrently (bounded), through the gateway and its cache.

The ranking combines three things (:class:`RankWeights`): the match's overall score (skills,
experience, growth), the developer's share of the recent work in the areas the task names,
and how recently they committed at all. Ties are broken by evidence (area share, lines in the
task's languages, recency), never by name alone, and each rank is explained in one line. A
developer whose match failed (no profile, a refusal) is listed with the reason, never ranked
with a made-up score.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from aexy.apps.outcome import Cost, Failure, Outcome, run_analysis
from aexy.apps.profile import ProfileReport, TeamReport
from aexy.apps.progress import NO_PROGRESS, Progress
from aexy.catalogue.activity import CodeArea
from aexy.catalogue.developer import DeveloperProfile
from aexy.catalogue.task import TaskMatch, TaskSignals
from aexy.errors import InvalidInputError

if TYPE_CHECKING:
    from aexy.gateway import LLMGateway

__all__ = ["Candidate", "MatchEvidence", "MatchReport", "RankWeights", "RankedDeveloper",
           "TaskMatcher", "Unmatched", "load_profiles"]

#: Code areas offered to task_signals, at most (the most weight first).
MAX_CONTEXT_AREAS = 300


class Candidate(BaseModel):
    """A developer to match: an id, a display name, and their profile (a
    ``developer_profile`` result), or why there is none."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    developer_id: str = Field(min_length=1)
    name: str | None = None
    profile: DeveloperProfile | None = None
    missing: Failure | None = Field(None, description="why there is no profile")
    source: str | None = Field(None, description="the file the profile was read from")
    areas: list[CodeArea] = Field(default_factory=list,
                                  description="code areas from git, with the share of each")
    last_active: date | None = Field(None, description="the day of their newest commit")
    window_end: date | None = Field(None, description="the last day of the history read")
    lines_by_language: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.profile is None) == (self.missing is None):
            raise ValueError("a candidate has either a profile or the reason it has none")
        return self

    @classmethod
    def of(cls, report: ProfileReport, source: str | None = None) -> Candidate:
        """A candidate from a :class:`~aexy.apps.ProfileReport` (its profile, or why it has
        none)."""
        p = report.profile
        return cls(developer_id=report.developer_id, name=report.name, profile=p.result,
                   missing=None if p.result is not None else Failure(
                       code=p.failure.code if p.failure else "invalid_input",
                       message="the profile report has no developer_profile result: "
                               + (p.failure.message if p.failure else "unknown")),
                   source=source, areas=report.areas,
                   last_active=report.figures.last_commit.date(), window_end=report.window_end,
                   lines_by_language=report.figures.lines_by_language)


@dataclass(frozen=True, slots=True)
class RankWeights:
    """How the ranking score (0-100) is made: ``fit`` weighs the match's overall score,
    ``areas`` the developer's share of the recent work in the code areas the task names, and
    ``recency`` how recently they committed (1 on the last day of the history, half after
    ``recency_half_life_days``). When the task names no area, ``areas`` is shared out between
    the other two.

    The defaults put the evidence of the code on a par with the skills a profile lists: on a
    real repository (encode/httpx), skills alone tie dozens of developers, and the people who
    wrote and keep changing the code the task is about are the ones to ask. Recency weighs
    little: the area shares already count recent work more, so it mostly orders people who
    own none of the areas.
    """

    fit: float = 0.45
    areas: float = 0.45
    recency: float = 0.1
    recency_half_life_days: int = 365

    def __post_init__(self) -> None:
        if min(self.fit, self.areas, self.recency) < 0 or (
                self.fit + self.areas + self.recency) <= 0:
            raise InvalidInputError("rank weights must be 0 or more, and not all 0")
        if self.recency_half_life_days < 1:
            raise InvalidInputError("recency_half_life_days must be 1 or more")


class MatchEvidence(BaseModel):
    """What the ranking read besides the match: the developer's share of each code area the
    task names, how recent their last commit is, and their lines in the task's languages."""

    model_config = ConfigDict(extra="forbid")

    area_shares: dict[str, float] = Field(
        default_factory=dict, description="each code area the task names -> their share of "
                                          "its recent work (0 when they never changed it)")
    areas: float = Field(0.0, description="the mean of the area shares")
    last_active: date | None = None
    recency: float | None = Field(None, description="1 for a commit on the last day of the "
                                                    "history, half after the half-life")
    skill_lines: int = Field(0, description="lines changed in the task's languages")


class RankedDeveloper(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rank: int = Field(ge=1)
    developer_id: str
    name: str | None = None
    match: TaskMatch
    score: int = Field(0, ge=0, le=100, description="the ranking score (see RankWeights)")
    evidence: MatchEvidence = Field(default_factory=MatchEvidence)
    explanation: str = Field("", description="the rank in one line")


class Unmatched(BaseModel):
    model_config = ConfigDict(extra="forbid")

    developer_id: str
    name: str | None = None
    failure: Failure


class MatchReport(BaseModel):
    """The task's signals, the developers ranked best first, and those without a match."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["aexy.match_report"] = "aexy.match_report"
    schema_version: Literal[1] = 1
    task: str = Field(description="the task's first line")
    signals: Outcome[TaskSignals]
    ranking: list[RankedDeveloper]
    unmatched: list[Unmatched] = Field(default_factory=list)
    cost: Cost
    weights: dict[str, float] = Field(default_factory=dict,
                                      description="the RankWeights the ranking used")


_REPORTS = TypeAdapter(list[ProfileReport])


def _candidates_in(path: Path) -> list[Candidate]:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"{path}: cannot read a profile ({exc})") from None
    source = str(path)
    try:
        if isinstance(data, list):
            return [Candidate.of(r, source) for r in _REPORTS.validate_python(data)]
        if isinstance(data, dict) and data.get("kind") == "aexy.profile_report":
            return [Candidate.of(ProfileReport.model_validate(data), source)]
        if isinstance(data, dict) and data.get("kind") == "aexy.team_report":
            return [Candidate.of(r, source) for r in TeamReport.model_validate(data).reports]
        if isinstance(data, dict) and isinstance(data.get("result"), dict):
            data = data["result"]  # `aexy analyze developer_profile --json` output
        return [Candidate(developer_id=path.stem,
                          profile=DeveloperProfile.model_validate(data), source=source)]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInputError(
            f"{path} is neither an aexy profile report (aexy profile --json) nor a "
            f"developer_profile result ({where}: {first['msg']})") from None


def load_profiles(paths: Iterable[str | os.PathLike[str]]) -> list[Candidate]:
    """Candidates from JSON files: profile reports (one, a list, or a team report, as
    ``aexy profile --json`` writes), or bare ``developer_profile`` results (the developer id
    is then the file name). A directory stands for the ``*.json`` files in it."""
    found: list[Candidate] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(path.glob("*.json"))
            if not files:
                raise InvalidInputError(f"{path} holds no .json profile")
            for f in files:
                found += _candidates_in(f)
        elif path.exists():
            found += _candidates_in(path)
        else:
            raise InvalidInputError(f"{path} does not exist")
    return found


def _first_line(text: str) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= 120 else line[:117] + "..."


def _context_areas(candidates: Sequence[Candidate]) -> list[str]:
    """The code areas the candidates know, the most weight (everyone's) first."""
    weight: dict[str, float] = {}
    for c in candidates:
        for a in c.areas:
            weight[a.path] = weight.get(a.path, 0.0) + a.weight
    return sorted(weight, key=lambda p: (-weight[p], p))[:MAX_CONTEXT_AREAS]


def _evidence(c: Candidate, areas: Sequence[str], languages: set[str], end: date | None,
              weights: RankWeights) -> MatchEvidence:
    known = {a.path: a for a in c.areas}
    shares = {}
    for path in areas:
        found = known.get(path)
        shares[path] = round(found.share or 0.0, 4) if found is not None else 0.0
    recency = None
    if c.last_active is not None and end is not None:
        days = max(0, (end - c.last_active).days)
        recency = round(math.exp2(-days / weights.recency_half_life_days), 4)
    return MatchEvidence(
        area_shares=shares, areas=round(sum(shares.values()) / len(shares), 4) if shares else 0.0,
        last_active=c.last_active, recency=recency,
        skill_lines=sum(n for lang, n in c.lines_by_language.items()
                        if lang.casefold() in languages))


def _score(match: TaskMatch, ev: MatchEvidence, named_areas: bool, w: RankWeights) -> float:
    parts = [(w.fit, match.overall_score / 100), (w.recency, ev.recency)]
    if named_areas:
        parts.append((w.areas, ev.areas))
    known = [(weight, value) for weight, value in parts if value is not None]
    total = sum(weight for weight, _ in known)
    return sum(weight * value for weight, value in known) / total if total else 0.0


def _explain(match: TaskMatch, ev: MatchEvidence, score: int) -> str:
    parts = [f"fit {match.overall_score}"
             + (f" (has {', '.join(match.strengths[:3])})" if match.strengths else "")
             + (f" (misses {', '.join(match.gaps[:2])})" if match.gaps and not match.strengths
                else "")]
    owned = [(p, v) for p, v in ev.area_shares.items() if v > 0]  # the task's order
    if owned:
        parts.append("owns " + ", ".join(f"{v * 100:.0f}% of {p}" for p, v in owned[:2])
                     + (f" (+{len(owned) - 2} more)" if len(owned) > 2 else ""))
    elif ev.area_shares:
        parts.append("has not changed the areas named")
    if ev.last_active is not None:
        parts.append(f"last commit {ev.last_active}")
    return f"score {score}: " + "; ".join(parts)


class TaskMatcher:
    """Rank developers for a task through an :class:`~aexy.LLMGateway`.

    :param concurrency: matches in flight at once.
    :param use_cache: read and write the gateway's cache.
    """

    def __init__(self, gateway: LLMGateway, *, concurrency: int = 4,
                 use_cache: bool = True, weights: RankWeights | None = None) -> None:
        if concurrency < 1:
            raise InvalidInputError("concurrency must be 1 or more")
        self.gateway = gateway
        self.concurrency = concurrency
        self.use_cache = use_cache
        self.weights = weights or RankWeights()

    async def match(self, task: str, developers: Sequence[Candidate | ProfileReport], *,
                    labels: Sequence[str] | None = None,
                    progress: Progress = NO_PROGRESS) -> MatchReport:
        """Signals of ``task`` once, then each developer's match; ranked best first.

        :raises InvalidInputError: no developer, or one id given twice (before any analysis).
        """
        if not task.strip():
            raise InvalidInputError("the task is empty: give its title and description")
        candidates = [d if isinstance(d, Candidate) else Candidate.of(d) for d in developers]
        if not candidates:
            raise InvalidInputError("no developer profile to match the task against")
        seen: dict[str, str] = {}
        for c in candidates:
            if c.developer_id in seen:
                raise InvalidInputError(
                    f"developer {c.developer_id!r} is given twice ({seen[c.developer_id]} and "
                    f"{c.source or 'an object'}); keep one profile per developer")
            seen[c.developer_id] = c.source or "an object"
        limit = asyncio.Semaphore(self.concurrency)
        cost = Cost()
        with_profile = [c for c in candidates if c.profile is not None]
        progress.planned(1 + len(with_profile))
        context: dict[str, Any] = {}
        if labels:
            context["labels"] = list(labels)
        if areas := _context_areas(candidates):
            context["code_areas"] = areas
        signals = await run_analysis(
            self.gateway, TaskSignals, "task_signals", task, context or None, limit=limit,
            use_cache=self.use_cache, cost=cost)
        progress.advanced("task_signals")
        # Matching reads the signals; when they failed, the task text itself (the type takes
        # either), and the signals' failure stays in the report.
        content = signals.result.model_dump_json() if signals.result is not None else task

        async def one(c: Candidate) -> Outcome[TaskMatch]:
            assert c.profile is not None
            outcome = await run_analysis(
                self.gateway, TaskMatch, "task_matching", content,
                {"developer_profile": c.profile.model_dump(mode="json"),
                 "developer_id": c.developer_id},
                limit=limit, use_cache=self.use_cache, cost=cost)
            progress.advanced(f"task_matching {c.developer_id}")
            return outcome

        outcomes = await asyncio.gather(*(one(c) for c in with_profile))
        found = signals.result
        named = list(found.code_areas) if found is not None else []
        languages = {s.casefold() for s in ([*found.required_skills, *found.preferred_skills]
                                            if found is not None else [])}
        ends = [c.window_end or c.last_active for c in candidates]
        end = max((d for d in ends if d is not None), default=None)
        scored = []
        for c, o in zip(with_profile, outcomes, strict=True):
            if o.result is None:
                continue
            ev = _evidence(c, named, languages, end, self.weights)
            score = round(100 * _score(o.result, ev, bool(named), self.weights))
            scored.append((c, o.result, ev, score))
        # Best score first; ties broken by evidence: area share, lines in the task's
        # languages, recency, the match's own score; the id only last.
        scored.sort(key=lambda x: (-x[3], -x[2].areas, -x[2].skill_lines, -(x[2].recency or 0),
                                   -x[1].overall_score, -x[1].skill_match, x[0].developer_id))
        ranking = [RankedDeveloper(rank=i, developer_id=c.developer_id, name=c.name, match=m,
                                   score=score, evidence=ev,
                                   explanation=_explain(m, ev, score))
                   for i, (c, m, ev, score) in enumerate(scored, 1)]
        unmatched = [Unmatched(developer_id=c.developer_id, name=c.name, failure=o.failure)
                     for c, o in zip(with_profile, outcomes, strict=True)
                     if o.failure is not None]
        unmatched += [Unmatched(developer_id=c.developer_id, name=c.name, failure=c.missing)
                      for c in candidates if c.profile is None and c.missing is not None]
        w = self.weights
        return MatchReport(task=_first_line(task), signals=signals, ranking=ranking,
                           unmatched=unmatched, cost=cost,
                           weights={"fit": w.fit, "areas": w.areas, "recency": w.recency,
                                    "recency_half_life_days": w.recency_half_life_days})
