"""``TaskMatcher``: who fits a task, ranked, from developer profiles.

``task_signals`` runs once on the task; ``task_matching`` runs once per developer with those
signals as the content and the developer's profile as the ``developer_profile`` context, all
concurrently (bounded), through the gateway and its cache. Developers are ranked by the overall
score; a developer whose match failed (no profile, a refusal) is listed with the reason, never
ranked with a made-up score.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterable, Sequence
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
from aexy.apps.profile import ProfileReport
from aexy.apps.progress import NO_PROGRESS, Progress
from aexy.catalogue.developer import DeveloperProfile
from aexy.catalogue.task import TaskMatch, TaskSignals
from aexy.errors import InvalidInputError

if TYPE_CHECKING:
    from aexy.gateway import LLMGateway

__all__ = ["Candidate", "MatchReport", "RankedDeveloper", "TaskMatcher", "Unmatched",
           "load_profiles"]


class Candidate(BaseModel):
    """A developer to match: an id, a display name, and their profile (a
    ``developer_profile`` result), or why there is none."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    developer_id: str = Field(min_length=1)
    name: str | None = None
    profile: DeveloperProfile | None = None
    missing: Failure | None = Field(None, description="why there is no profile")
    source: str | None = Field(None, description="the file the profile was read from")

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
                   source=source)


class RankedDeveloper(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rank: int = Field(ge=1)
    developer_id: str
    name: str | None = None
    match: TaskMatch


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
    """Candidates from JSON files: profile reports (one, or a list, as ``aexy profile --json``
    writes), or bare ``developer_profile`` results (the developer id is then the file name).
    A directory stands for the ``*.json`` files in it."""
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


class TaskMatcher:
    """Rank developers for a task through an :class:`~aexy.LLMGateway`.

    :param concurrency: matches in flight at once.
    :param use_cache: read and write the gateway's cache.
    """

    def __init__(self, gateway: LLMGateway, *, concurrency: int = 4,
                 use_cache: bool = True) -> None:
        if concurrency < 1:
            raise InvalidInputError("concurrency must be 1 or more")
        self.gateway = gateway
        self.concurrency = concurrency
        self.use_cache = use_cache

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
        signals = await run_analysis(
            self.gateway, TaskSignals, "task_signals", task,
            {"labels": list(labels)} if labels else None, limit=limit,
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
        matched = [(c, o.result) for c, o in zip(with_profile, outcomes, strict=True)
                   if o.result is not None]
        matched.sort(key=lambda cm: (-cm[1].overall_score, -cm[1].skill_match,
                                     cm[0].developer_id))
        ranking = [RankedDeveloper(rank=i, developer_id=c.developer_id, name=c.name, match=m)
                   for i, (c, m) in enumerate(matched, 1)]
        unmatched = [Unmatched(developer_id=c.developer_id, name=c.name, failure=o.failure)
                     for c, o in zip(with_profile, outcomes, strict=True)
                     if o.failure is not None]
        unmatched += [Unmatched(developer_id=c.developer_id, name=c.name, failure=c.missing)
                      for c in candidates if c.profile is None and c.missing is not None]
        return MatchReport(task=_first_line(task), signals=signals, ranking=ranking,
                           unmatched=unmatched, cost=cost)
