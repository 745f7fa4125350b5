"""ProfileAnalyzer over the fixture repository with the offline provider: languages, samples,
skips, bounds, concurrency, the cache on a second run, and honest refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from aexy import LLMGateway, ProfileAnalyzer
from aexy.apps import ProfileReport, UnknownAuthorError
from aexy.errors import InvalidInputError
from aexy.plugins import PluginHost

from .conftest import CountingOffline
from .repos import ALICE, ALICE_OLD, BOB, BOB_GITHUB, Commit, build, lines

MERGE_BOB = {BOB_GITHUB: BOB}


async def test_each_author_profile_lists_their_languages(gateway: LLMGateway,
                                                         team_repo: Path) -> None:
    reports = await ProfileAnalyzer(gateway).analyze_repository(team_repo, aliases=MERGE_BOB)
    by_id = {r.developer_id: r for r in reports}
    assert list(by_id) == [ALICE, BOB]
    alice, bob = by_id[ALICE].profile.result, by_id[BOB].profile.result
    assert alice is not None and bob is not None
    assert alice.primary_languages == ["Python"]  # by lines changed; Markdown is prose
    assert bob.primary_languages == ["TypeScript", "JavaScript"]  # 27, 4
    areas = {e.area for e in alice.expertise}
    assert {"Python", "FastAPI", "Pydantic", "SQLAlchemy"} <= areas
    assert {"TypeScript", "React", "Express"} <= {e.area for e in bob.expertise}
    assert "Python" not in {e.area for e in bob.expertise}
    # The profile was computed from the activity and the samples' evidence.
    assert [e.path for e in by_id[ALICE].activity.code_evidence] == ["api/app.py",
                                                                      "api/schema.py"]


async def test_samples_skips_and_figures_in_the_report(gateway: LLMGateway,
                                                       team_repo: Path) -> None:
    report = await ProfileAnalyzer(gateway).analyze_author(team_repo, ALICE_OLD)
    assert report.developer_id == ALICE and report.emails == [ALICE, ALICE_OLD]
    assert (report.window_start.isoformat(), report.window_end.isoformat()) == (
        "2024-03-04", "2024-03-17")
    assert report.figures.commits == 5 and report.figures.lines_by_language["Python"] == 31
    app, schema = report.samples
    assert (app.path, app.language, app.lines_changed, app.truncated) == (
        "api/app.py", "Python", 16, False)
    assert app.skills[:3] == ["Python", "FastAPI", "Pydantic"]
    assert app.skill_extraction is not None and app.skill_extraction.language == "Python"
    # schema.py is read at the rename commit, under its new name.
    assert (schema.path, schema.lines_changed) == ("api/schema.py", 12)
    assert "SQLAlchemy" in schema.skills and schema.failures == {}
    assert app.commit != schema.commit
    # Passed over: the vendored file by its path, the generated one by its marker; the binary
    # logo and the Markdown README are not code and are not candidates at all.
    assert [(s.path, s.reason) for s in report.skipped_files] == [
        ("vendor/lib.py", "vendored or generated (by its path)"),
        ("api/tables.py", "generated (marked in its first lines)")]
    cost = report.cost
    assert (cost.analyses, cost.provider_calls, cost.cache_hits, cost.failed) == (3, 3, 0, 0)
    assert cost.tokens_estimated and cost.methods == ["heuristic"]
    assert cost.answered_by == {"offline/heuristic-v1": 3}
    assert cost.input_tokens > 0 and cost.output_tokens > 0


async def test_a_second_run_is_served_by_the_cache(gateway: LLMGateway, team_repo: Path,
                                                   provider: CountingOffline) -> None:
    analyzer = ProfileAnalyzer(gateway, code_quality=True)
    first = await analyzer.analyze_repository(team_repo, aliases=MERGE_BOB)
    calls = provider.calls
    # Alice: 2 samples x 2 analyses + profile; Bob: 3 samples x 2 + profile.
    assert calls == 5 + 7 == sum(r.cost.provider_calls for r in first)
    second = await analyzer.analyze_repository(team_repo, aliases=MERGE_BOB)
    assert provider.calls == calls  # no provider call at all
    for before, after in zip(first, second, strict=True):
        assert after.cost.provider_calls == 0 and after.cost.input_tokens == 0
        assert after.cost.cache_hits == after.cost.analyses == before.cost.analyses
        assert after.profile.result is not None and before.profile.result is not None
        # (compared as data: the provenance attached to each differs, by design)
        assert after.profile.result.model_dump() == before.profile.result.model_dump()
        assert after.profile.provenance is not None and after.profile.provenance.cache_hit
    stats = gateway.stats()
    assert stats["cache"]["hits"] == 12 and stats["provider_calls"] == {"offline": 12}
    quality = [s.code_quality for r in first for s in r.samples]
    assert all(q is not None for q in quality)
    assert all(e.quality_score is not None for r in first for e in r.activity.code_evidence)


async def test_samples_are_bounded_in_number_and_size(gateway: LLMGateway,
                                                      team_repo: Path) -> None:
    report = await ProfileAnalyzer(gateway, max_samples=1, max_sample_chars=50).analyze_author(
        team_repo, ALICE)
    (only,) = report.samples
    assert only.path == "api/app.py" and only.truncated
    assert only.chars <= 50
    # Cut at the last line end before 50 characters: the first import line only.
    assert only.chars == len("from fastapi import FastAPI\n")
    none = await ProfileAnalyzer(gateway, max_samples=0).analyze_author(team_repo, ALICE)
    assert none.samples == [] and none.profile.ok  # languages alone still make a profile
    assert none.cost.analyses == 1


async def test_unreadable_samples_are_skipped_with_the_reason(gateway: LLMGateway,
                                                              tmp_path: Path) -> None:
    repo = build(tmp_path / "mixed", [
        Commit("Hal", "hal@example.com", "2024-06-03T10:00:00+00:00", {
            "big.py": lines(400, "value_{i} = {i}  # a long enough line"),
            "legacy.py": "name = 'Jos\xe9'\n".encode("latin-1") * 30,
            "blank.py": "\n\n\n",
            "ok.py": lines(3, "import json\nv{i} = json.dumps({i})")})])
    report = await ProfileAnalyzer(gateway, max_file_bytes=2_000).analyze_author(
        repo, "hal@example.com")
    assert [s.path for s in report.samples] == ["ok.py"]
    reasons = dict((s.path, s.reason) for s in report.skipped_files)
    assert reasons["big.py"].endswith("over the 2000-byte limit")
    assert reasons == {"big.py": reasons["big.py"], "legacy.py": "not UTF-8 text",
                       "blank.py": "empty"}


async def test_concurrency_is_bounded(host: PluginHost, tmp_path: Path) -> None:
    repo = build(tmp_path / "many", [
        Commit("Dan", "dan@example.com", f"2024-06-{day:02d}T10:00:00+00:00",
               {f"pkg/mod{day}.py": lines(day + 2, "import os\nvalue_{i} = os.sep")})
        for day in range(3, 10)])
    provider = CountingOffline()
    async with LLMGateway(provider, fallbacks=(), plugins=host) as gateway:
        report = await ProfileAnalyzer(gateway, concurrency=2).analyze_author(
            repo, "dan@example.com")
    assert len(report.samples) == 7 and provider.calls == 8
    assert provider.peak == 2


async def test_a_refused_profile_is_reported_as_refused(gateway: LLMGateway,
                                                        tmp_path: Path) -> None:
    # Only files of no known language: no languages, no samples; offline cannot profile that.
    repo = build(tmp_path / "notes", [
        Commit("Fay", "fay@example.com", "2024-06-03T10:00:00+00:00",
               {"notes.txt": lines(5), "LICENSE": lines(3)})])
    report = await ProfileAnalyzer(gateway).analyze_author(repo, "fay@example.com")
    assert report.profile.result is None
    failure = report.profile.failure
    assert failure is not None and failure.refused and failure.code == "unsupported"
    assert "no lines in a programming language or in documentation" in failure.message
    assert failure.provider == "offline/heuristic-v1"
    assert report.cost.failed == 1 and report.samples == []
    # The report still round-trips as JSON, refusal included.
    again = ProfileReport.model_validate_json(report.model_dump_json())
    assert again.profile.failure == failure


async def test_bad_input_fails_before_any_provider_call(gateway: LLMGateway, team_repo: Path,
                                                        provider: CountingOffline) -> None:
    with pytest.raises(UnknownAuthorError):
        await ProfileAnalyzer(gateway).analyze_repository(team_repo, [ALICE, "zed@example.com"])
    with pytest.raises(InvalidInputError, match="concurrency"):
        ProfileAnalyzer(gateway, concurrency=0)
    assert provider.calls == 0
