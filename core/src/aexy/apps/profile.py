"""``ProfileAnalyzer``: what a developer's commits show, as one typed report.

For each author: the activity from git (:mod:`aexy.apps.git`); code samples from the files the
author changed most (their own version of each file, at their newest commit that added to it;
bounded in number and size; binary, vendored and generated files skipped);
``skill_extraction`` (and optionally ``code_quality``) per sample through the gateway, at most
``concurrency`` at a time and through its cache; then ``developer_profile`` over the activity
(the weeks with commits, and the code areas the author changed) with the samples' findings as
``code_evidence``.

:meth:`ProfileAnalyzer.analyze_team` profiles a repository's team (the population model of
:mod:`aexy.apps.population`) and hands each report to a sink as soon as it is done; a report
whose inputs have not changed since the sink stored it is reused, not redone.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from aexy.analysis import AnalysisResult
from aexy.apps.git import (
    ActivityFigures,
    AuthorHistory,
    BlobReader,
    GitHistory,
    Period,
    read_history,
)
from aexy.apps.outcome import Cost, Failure, Outcome, outcome_of, run_analysis
from aexy.apps.population import (
    Population,
    PopulationRules,
    PopulationSummary,
    population_of,
)
from aexy.apps.progress import NO_PROGRESS, Progress
from aexy.apps.sources import DATA_LANGUAGES, is_generated_text, looks_binary
from aexy.catalogue.activity import CodeArea, CodeEvidence, DeveloperActivity
from aexy.catalogue.code import CodeQuality, SkillExtraction
from aexy.catalogue.developer import DeveloperProfile
from aexy.errors import InvalidInputError

if TYPE_CHECKING:
    from aexy.batching import BatchItem, BatchJob
    from aexy.gateway import LLMGateway

__all__ = ["ProfileAnalyzer", "ProfileReport", "ReportSink", "SampleEvidence", "SkippedFile",
           "TeamReport"]

#: Code areas kept in a report (the most weight first).
MAX_AREAS = 30
#: Bumped when what a report holds changes, so that stored reports are redone.
_INPUTS_VERSION = 2

#: At most this many skipped files are listed in a report.
MAX_SKIPS_LISTED = 20

R = TypeVar("R", SkillExtraction, CodeQuality)
_KIND: dict[type[AnalysisResult], str] = {SkillExtraction: "skill_extraction",
                                          CodeQuality: "code_quality"}


class SkippedFile(BaseModel):
    """A file among the author's most changed that was not used as a sample, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    reason: str


class SampleEvidence(BaseModel):
    """One code sample: where it comes from and what the analyses found in it."""

    model_config = ConfigDict(extra="forbid")

    path: str
    commit: str = Field(description="the author's newest commit that added lines to the file")
    language: str | None
    lines_changed: int = Field(description="lines the author changed in the file, in the window")
    chars: int = Field(description="characters analysed")
    truncated: bool = Field(description="the file was longer and was cut at a line end")
    skills: list[str] = Field(default_factory=list, description="SkillExtraction.skills")
    skill_extraction: SkillExtraction | None = None
    code_quality: CodeQuality | None = None
    #: Analysis type -> why it has no result for this sample.
    failures: dict[str, Failure] = Field(default_factory=dict)

    def evidence(self) -> CodeEvidence | None:
        """The sample as ``code_evidence`` for ``developer_profile``; ``None`` without a
        ``skill_extraction`` result (there is nothing to say about it)."""
        found = self.skill_extraction
        if found is None:
            return None
        return CodeEvidence(path=self.path, commit=self.commit, language=found.language,
                            skills=self.skills, complexity=found.complexity,
                            quality_score=self.code_quality.score if self.code_quality else None)


class ProfileReport(BaseModel):
    """A developer's profile from a repository, with everything it was built from.

    Saved as JSON (``model_dump_json``), it is what ``aexy match --profiles`` and
    :class:`~aexy.apps.TaskMatcher` read back.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["aexy.profile_report"] = "aexy.profile_report"
    schema_version: Literal[1] = 1
    repository: str
    developer_id: str = Field(description="the author's email after .mailmap and aliases")
    name: str
    emails: list[str] = Field(description="every address merged into this author")
    window_start: date
    window_end: date
    figures: ActivityFigures
    profile: Outcome[DeveloperProfile]
    samples: list[SampleEvidence]
    skipped_files: list[SkippedFile] = Field(default_factory=list)
    activity: DeveloperActivity = Field(
        description="the activity sent to developer_profile: the periods with commits (quiet "
                    "ones omitted), code evidence and code areas included")
    cost: Cost
    areas: list[CodeArea] = Field(
        default_factory=list, description="the code areas the author changed, most weight "
                                          "first, with their share of each")
    series: DeveloperActivity | None = Field(
        None, description="every period of the window, quiet ones with zero commits (only "
                          "when asked for)")
    revision: str | None = Field(None, description="the commit whose history was read")
    inputs: str | None = Field(
        None, description="digest of everything the report was made from; a stored report "
                          "with the same digest is reused")


class TeamReport(BaseModel):
    """A repository's team profiled: who is in it and who is not (the population), and one
    report per person profiled."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["aexy.team_report"] = "aexy.team_report"
    schema_version: Literal[1] = 1
    repository: str
    revision: str
    window_start: date
    window_end: date
    population: PopulationSummary
    reports: list[ProfileReport]
    reused: list[str] = Field(default_factory=list,
                              description="reports whose inputs had not changed, not redone")
    cost: Cost


class ReportSink(Protocol):
    """Where :meth:`ProfileAnalyzer.analyze_team` puts each report as soon as it is done
    (e.g. :class:`aexy.apps.ReportStore`, files in a directory)."""

    def load(self, developer_id: str, inputs: str) -> ProfileReport | None:
        """The stored report of ``developer_id`` made from ``inputs``, if there is one."""
        ...

    def save(self, report: ProfileReport) -> object:
        ...


@dataclass(frozen=True, slots=True)
class _Sample:
    path: str
    commit: str
    language: str
    lines: int
    text: str
    truncated: bool


def _cut(text: str, limit: int) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    end = text.rfind("\n", 0, limit)
    return (text[:end + 1] if end > 0 else text[:limit]), True


def select_samples(blobs: BlobReader, author: AuthorHistory, *, max_samples: int,
                   max_chars: int, max_file_bytes: int) -> tuple[list[_Sample], list[SkippedFile]]:
    """The author's most changed code files, as samples (at most ``max_samples``), and the
    files passed over on the way, with the reason."""
    samples: list[_Sample] = []
    skipped: list[SkippedFile] = []

    def skip(path: str, reason: str) -> None:
        if len(skipped) < MAX_SKIPS_LISTED:
            skipped.append(SkippedFile(path=path, reason=reason))

    candidates = []
    for f in author.files:
        if f.language is None or f.language in DATA_LANGUAGES:
            continue  # not code: counted in the activity, not sampled
        if f.vendored:
            skip(f.path, "vendored or generated (by its path)")
        elif f.binary:
            skip(f.path, "binary")
        elif f.sample_commit is not None and f.sample_path is not None:
            candidates.append(f)
        # else the author never added a line to it: nothing of theirs to sample
    for f in candidates[:max_samples * 4]:  # files read at most, whatever is skipped
        if len(samples) >= max_samples:
            break
        blob = blobs.read(f.sample_commit or "", f.sample_path or "", max_bytes=max_file_bytes)
        if blob.status == "missing":
            skip(f.path, f"not found at {(f.sample_commit or '')[:12]}")
            continue
        if blob.status == "too_large":
            skip(f.path, f"{blob.size} bytes, over the {max_file_bytes}-byte limit")
            continue
        if looks_binary(blob.data):
            skip(f.path, "binary")
            continue
        try:
            text = blob.data.decode("utf-8")
        except UnicodeDecodeError:
            skip(f.path, "not UTF-8 text")
            continue
        if not text.strip():
            skip(f.path, "empty")
            continue
        if is_generated_text(text):
            skip(f.path, "generated (marked in its first lines)")
            continue
        cut, truncated = _cut(text, max_chars)
        assert f.language is not None
        assert f.sample_commit is not None
        samples.append(_Sample(path=f.path, commit=f.sample_commit, language=f.language,
                               lines=f.lines, text=cut, truncated=truncated))
    return samples, skipped


class ProfileAnalyzer:
    """Developer profiles from a repository's history, through an :class:`~aexy.LLMGateway`.

    :param max_samples: code samples per author (the files they changed most).
    :param max_sample_chars: characters per sample; a longer file is cut at a line end.
    :param max_file_bytes: files larger than this are not read at all.
    :param concurrency: analyses in flight at once (for all authors together).
    :param code_quality: also run ``code_quality`` on every sample.
    :param use_cache: read and write the gateway's cache.
    :param series: also put every period of the window in each report
        (:attr:`ProfileReport.series`), quiet ones with zero commits.
    :param level_bands: the offline provider's exposure levels, level -> (lines changed,
        quarters with changes), on top of its defaults (the ``level_bands`` context of
        ``developer_profile``).
    :param batch: send the analyses through this job's provider batch API
        (:class:`~aexy.batching.BatchJob`): the samples' analyses of every author as one
        batch, then every ``developer_profile`` (which needs their findings) as the next.
    """

    def __init__(self, gateway: LLMGateway, *, max_samples: int = 8,
                 max_sample_chars: int = 12_000, max_file_bytes: int = 1_000_000,
                 concurrency: int = 4, code_quality: bool = False,
                 use_cache: bool = True, series: bool = False,
                 level_bands: Mapping[str, tuple[int, int]] | None = None,
                 batch: BatchJob | None = None) -> None:
        if max_samples < 0 or max_sample_chars < 1 or max_file_bytes < 1 or concurrency < 1:
            raise InvalidInputError("max_samples must be 0 or more, and max_sample_chars, "
                                    "max_file_bytes and concurrency 1 or more")
        self.gateway = gateway
        self.max_samples = max_samples
        self.max_sample_chars = max_sample_chars
        self.max_file_bytes = max_file_bytes
        self.concurrency = concurrency
        self.code_quality = code_quality
        self.use_cache = use_cache
        self.series = series
        self.level_bands = ({k: list(v) for k, v in level_bands.items()} if level_bands
                            else None)
        self.batch = batch

    async def analyze_author(
        self, repo: str | os.PathLike[str], author: str, *, since: date | None = None,
        until: date | None = None, period: Period = "week",
        aliases: Mapping[str, str] | None = None, history: GitHistory | None = None,
        progress: Progress = NO_PROGRESS,
    ) -> ProfileReport:
        """The report of one author (an email, an alias email, or a name), active or not."""
        (report,) = await self.analyze_repository(
            repo, [author], since=since, until=until, period=period, aliases=aliases,
            history=history, progress=progress)
        return report

    async def analyze_repository(
        self, repo: str | os.PathLike[str], authors: Sequence[str] | None = None, *,
        since: date | None = None, until: date | None = None, period: Period = "week",
        aliases: Mapping[str, str] | None = None, history: GitHistory | None = None,
        progress: Progress = NO_PROGRESS, rules: PopulationRules | None = None,
    ) -> list[ProfileReport]:
        """One report per author, in the order asked; with ``authors=None``, one per member
        of the team (the active people; see :class:`~aexy.apps.PopulationRules`), most
        commits first.

        :param history: a history already read (``since``, ``until``, ``period`` and
            ``aliases`` are then ignored).
        :raises UnknownAuthorError: an author is not in the history (before any analysis).
        """
        if history is None:
            history = await asyncio.to_thread(read_history, repo, since=since, until=until,
                                              period=period, aliases=aliases)
        population = population_of(history, rules)
        chosen = (list(population.chosen) if authors is None
                  else list({h.email: h for h in map(history.author, authors)}.values()))
        reports, _ = await self._run(repo, history, population, chosen, progress, None, None)
        return reports

    async def analyze_team(
        self, repo: str | os.PathLike[str], *, since: date | None = None,
        until: date | None = None, period: Period = "week",
        aliases: Mapping[str, str] | None = None, history: GitHistory | None = None,
        rules: PopulationRules | None = None, progress: Progress = NO_PROGRESS,
        sink: ReportSink | None = None,
        on_report: Callable[[ProfileReport, bool], None] | None = None,
    ) -> TeamReport:
        """The team of ``repo`` profiled: everyone :attr:`Population.chosen` names (the
        active people; the inactive too with ``include_inactive``), bots and inactive people
        listed in the population.

        :param sink: gets each report as soon as it is done (``save``), and gives back a
            stored report whose inputs have not changed (``load``), which is then reused.
        :param on_report: called with each report as it is done, and whether it was reused.
        """
        if history is None:
            history = await asyncio.to_thread(read_history, repo, since=since, until=until,
                                              period=period, aliases=aliases)
        population = population_of(history, rules)
        reports, reused = await self._run(repo, history, population, list(population.chosen),
                                          progress, sink, on_report)
        assert history.start is not None
        assert history.end is not None
        return TeamReport(repository=str(repo), revision=history.revision,
                          window_start=history.start, window_end=history.end,
                          population=population.summary(), reports=reports, reused=reused,
                          cost=Cost.total(r.cost for r in reports if r.developer_id
                                          not in reused))

    async def _run(self, repo: str | os.PathLike[str], history: GitHistory,
                   population: Population, chosen: Sequence[AuthorHistory],
                   progress: Progress, sink: ReportSink | None,
                   on_report: Callable[[ProfileReport, bool], None] | None,
                   ) -> tuple[list[ProfileReport], list[str]]:
        limit = asyncio.Semaphore(self.concurrency)
        bots = frozenset(a.email for a in population.bots)
        totals = history.area_totals(exclude=bots)
        identities = _identities(history, bots)
        reused: list[str] = []
        with BlobReader(repo) as blobs:

            async def one(author: AuthorHistory) -> ProfileReport:
                inputs = self._inputs(history, author, identities)
                # The sink works in the event loop, between analyses: a report is saved and
                # announced before any other work goes on, so an interruption never leaves a
                # saved report unannounced (a report is a few kilobytes of JSON).
                if sink is not None:
                    stored = sink.load(author.email, inputs)
                    if stored is not None:
                        progress.planned(1)
                        progress.advanced(f"{author.email}: unchanged, reused")
                        reused.append(author.email)
                        if on_report is not None:
                            on_report(stored, True)
                        return stored
                report = await self._report(repo, blobs, history, author, totals, limit,
                                            progress, inputs)
                if sink is not None:
                    sink.save(report)
                if on_report is not None:
                    on_report(report, False)
                return report

            if self.batch is not None:
                return await self._run_batched(repo, blobs, history, chosen, totals,
                                               identities, progress, sink, on_report)
            reports = list(await asyncio.gather(*(one(a) for a in chosen)))
        return reports, reused

    async def _run_batched(self, repo: str | os.PathLike[str], blobs: BlobReader,
                           history: GitHistory, chosen: Sequence[AuthorHistory],
                           totals: Mapping[str, float], identities: str, progress: Progress,
                           sink: ReportSink | None,
                           on_report: Callable[[ProfileReport, bool], None] | None,
                           ) -> tuple[list[ProfileReport], list[str]]:
        """:meth:`_run` through a batch job: every author's sample analyses as one batch,
        then every ``developer_profile`` as the next (only what the cache lacks is sent)."""
        job = self.batch
        assert job is not None
        reports: dict[str, ProfileReport] = {}
        reused: list[str] = []
        drafts: list[_Draft] = []
        for author in chosen:
            inputs = self._inputs(history, author, identities)
            stored = sink.load(author.email, inputs) if sink is not None else None
            if stored is not None:
                progress.planned(1)
                progress.advanced(f"{author.email}: unchanged, reused")
                reused.append(author.email)
                reports[author.email] = stored
                if on_report is not None:
                    on_report(stored, True)
                continue
            samples, skipped = await self._samples(blobs, author)
            progress.planned(len(samples) * (2 if self.code_quality else 1) + 1)
            kinds: tuple[type[SkillExtraction | CodeQuality], ...] = (
                (SkillExtraction, CodeQuality) if self.code_quality else (SkillExtraction,))
            drafts.append(_Draft(author, inputs, samples, skipped, [
                {model: _add(job, _KIND[model], s.text, {"file_path": s.path},
                             self.use_cache) for model in kinds} for s in samples]))
        await job.run()
        for draft in drafts:
            evidence = []
            for sample, pending in zip(draft.samples, draft.pending, strict=True):
                found = outcome_of(SkillExtraction, "skill_extraction",
                                   pending[SkillExtraction], draft.cost)
                progress.advanced(f"{draft.author.email}: skill_extraction {sample.path}")
                quality = None
                if CodeQuality in pending:
                    quality = outcome_of(CodeQuality, "code_quality", pending[CodeQuality],
                                         draft.cost)
                    progress.advanced(f"{draft.author.email}: code_quality {sample.path}")
                evidence.append(_evidence(sample, found, quality))
            draft.evidence = evidence
            draft.activity = self._activity(draft.author, evidence, totals)
            draft.profile = _add(job, "developer_profile", *self._profile_input(
                history, draft.author, draft.activity), self.use_cache)
        await job.run()
        for draft in drafts:
            assert draft.activity is not None
            assert draft.profile is not None
            profile = outcome_of(DeveloperProfile, "developer_profile", draft.profile,
                                 draft.cost)
            progress.advanced(f"{draft.author.email}: developer_profile")
            report = self._assemble(repo, history, draft.author, profile, draft.evidence,
                                    draft.skipped, draft.activity, draft.cost, totals,
                                    draft.inputs)
            reports[draft.author.email] = report
            if sink is not None:
                sink.save(report)
            if on_report is not None:
                on_report(report, False)
        return [reports[a.email] for a in chosen], reused

    def _inputs(self, history: GitHistory, author: AuthorHistory, identities: str) -> str:
        """A digest of everything a report is made from: the revision and window read, who
        is who, the author, the settings, and the providers and analysis versions."""
        kinds = ["skill_extraction", "developer_profile"] + (
            ["code_quality"] if self.code_quality else [])
        payload = {
            "format": _INPUTS_VERSION, "revision": history.revision,
            "window": [str(history.start), str(history.end), history.period,
                       history.half_life_days],
            "identities": identities, "author": author.email,
            "settings": [self.max_samples, self.max_sample_chars, self.max_file_bytes,
                         self.code_quality, self.series, self.level_bands],
            "providers": [f"{p.name}/{p.model}" for p in self.gateway.providers],
            "versions": {k: self.gateway.spec_for(k).version for k in kinds},
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    async def _report(self, repo: str | os.PathLike[str], blobs: BlobReader,
                      history: GitHistory, author: AuthorHistory, totals: Mapping[str, float],
                      limit: asyncio.Semaphore, progress: Progress,
                      inputs: str | None = None) -> ProfileReport:
        samples, skipped = await self._samples(blobs, author)
        per_sample = 2 if self.code_quality else 1
        progress.planned(len(samples) * per_sample + 1)
        cost = Cost()

        async def one(model: type[R], sample: _Sample) -> Outcome[R]:
            kind = _KIND[model]
            outcome = await run_analysis(self.gateway, model, kind, sample.text,
                                         {"file_path": sample.path}, limit=limit,
                                         use_cache=self.use_cache, cost=cost)
            progress.advanced(f"{author.email}: {kind} {sample.path}")
            return outcome

        async def analyse(sample: _Sample) -> SampleEvidence:
            quality: Outcome[CodeQuality] | None = None
            if self.code_quality:
                found, quality = await asyncio.gather(one(SkillExtraction, sample),
                                                      one(CodeQuality, sample))
            else:
                found = await one(SkillExtraction, sample)
            return _evidence(sample, found, quality)

        evidence = list(await asyncio.gather(*(analyse(s) for s in samples)))
        activity = self._activity(author, evidence, totals)
        content, context = self._profile_input(history, author, activity)
        profile = await run_analysis(self.gateway, DeveloperProfile, "developer_profile",
                                     content, context, limit=limit, use_cache=self.use_cache,
                                     cost=cost)
        progress.advanced(f"{author.email}: developer_profile")
        return self._assemble(repo, history, author, profile, evidence, skipped, activity,
                              cost, totals, inputs)

    async def _samples(self, blobs: BlobReader, author: AuthorHistory
                       ) -> tuple[list[_Sample], list[SkippedFile]]:
        return await asyncio.to_thread(
            select_samples, blobs, author, max_samples=self.max_samples,
            max_chars=self.max_sample_chars, max_file_bytes=self.max_file_bytes)

    def _activity(self, author: AuthorHistory, evidence: Sequence[SampleEvidence],
                  totals: Mapping[str, float]) -> DeveloperActivity:
        """The activity ``developer_profile`` reads: the samples' findings and code areas."""
        areas = author.code_areas(totals, limit=MAX_AREAS)
        return author.activity.model_copy(update={
            "code_evidence": [e for e in (s.evidence() for s in evidence) if e is not None],
            "code_areas": areas[:ACTIVITY_AREAS]})

    def _profile_input(self, history: GitHistory, author: AuthorHistory,
                       activity: DeveloperActivity) -> tuple[str, dict[str, Any]]:
        """``developer_profile``'s content and context."""
        return (activity.model_dump_json(exclude_none=True, exclude_defaults=True),
                {"developer_id": author.email, "period": f"{history.start}..{history.end}",
                 **({"level_bands": self.level_bands} if self.level_bands else {})})

    def _assemble(self, repo: str | os.PathLike[str], history: GitHistory,
                  author: AuthorHistory, profile: Outcome[DeveloperProfile],
                  evidence: list[SampleEvidence], skipped: list[SkippedFile],
                  activity: DeveloperActivity, cost: Cost, totals: Mapping[str, float],
                  inputs: str | None) -> ProfileReport:
        assert history.start is not None
        assert history.end is not None
        return ProfileReport(
            repository=str(repo), developer_id=author.email, name=author.name,
            emails=list(author.emails), window_start=history.start, window_end=history.end,
            figures=author.figures, profile=profile, samples=evidence,
            skipped_files=skipped, activity=activity, cost=cost,
            areas=author.code_areas(totals, limit=MAX_AREAS),
            series=author.series() if self.series else None, revision=history.revision,
            inputs=inputs)


def _evidence(sample: _Sample, found: Outcome[SkillExtraction],
              quality: Outcome[CodeQuality] | None) -> SampleEvidence:
    """One sample with what its analyses found (or why they found nothing)."""
    outcomes: list[Outcome[Any]] = [found] + ([quality] if quality else [])
    return SampleEvidence(
        path=sample.path, commit=sample.commit, language=sample.language,
        lines_changed=sample.lines, chars=len(sample.text), truncated=sample.truncated,
        skills=found.result.skills if found.result else [],
        skill_extraction=found.result,
        code_quality=quality.result if quality else None,
        failures={o.analysis_type: o.failure for o in outcomes if o.failure})


def _add(job: BatchJob, analysis_type: str, content: str, context: Mapping[str, Any],
         use_cache: bool) -> BatchItem | InvalidInputError:
    """An analysis added to ``job``, or why its input was refused (nothing is sent for it)."""
    try:
        return job.add(analysis_type, content, context, use_cache=use_cache)
    except InvalidInputError as exc:
        return exc


@dataclass(slots=True, eq=False)
class _Draft:
    """An author's report between the batches of :meth:`ProfileAnalyzer._run_batched`."""

    author: AuthorHistory
    inputs: str
    samples: list[_Sample]
    skipped: list[SkippedFile]
    pending: list[dict[type[AnalysisResult], BatchItem | InvalidInputError]]
    cost: Cost = field(default_factory=Cost)
    evidence: list[SampleEvidence] = field(default_factory=list)
    activity: DeveloperActivity | None = None
    profile: BatchItem | InvalidInputError | None = None


#: Code areas sent with the activity to developer_profile (the report keeps more).
ACTIVITY_AREAS = 10


def _identities(history: GitHistory, bots: frozenset[str]) -> str:
    """A digest of who is who in ``history`` (each author's merged addresses) and who counts
    as a bot: what .mailmap, aliases and the bot rules decided."""
    entries = sorted((key, sorted(a.emails), key in bots) for key, a in history.authors.items())
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()
