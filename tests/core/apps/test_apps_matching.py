"""TaskMatcher: the author whose skills fit ranks first, the cache serves a second run, saved
profiles load back, and a developer who cannot be matched is listed with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aexy import LLMGateway, ProfileAnalyzer, TaskMatcher
from aexy.apps import Candidate, ProfileReport, load_profiles
from aexy.catalogue.developer import DeveloperProfile
from aexy.errors import InvalidInputError

from .conftest import CountingOffline
from .repos import ALICE, BOB, BOB_GITHUB

TS_TASK = ("Build the orders page of the web app in React and TypeScript, with an Express "
           "endpoint that lists the orders for the frontend.")
PY_TASK = ("Add a FastAPI endpoint that returns a customer's orders from the SQLAlchemy models, "
           "validated with Pydantic.")


@pytest.fixture
async def reports(gateway: LLMGateway, team_repo: Path) -> list[ProfileReport]:
    return await ProfileAnalyzer(gateway).analyze_repository(
        team_repo, aliases={BOB_GITHUB: BOB})


async def test_the_author_whose_skills_fit_ranks_first(gateway: LLMGateway,
                                                       reports: list[ProfileReport]) -> None:
    matcher = TaskMatcher(gateway)
    frontend = await matcher.match(TS_TASK, reports)
    assert frontend.signals.result is not None
    assert frontend.signals.result.required_skills == ["Express", "React", "TypeScript"]
    assert [(r.rank, r.developer_id) for r in frontend.ranking] == [(1, BOB), (2, ALICE)]
    best, other = frontend.ranking
    assert best.match.overall_score > other.match.overall_score
    assert best.match.skill_match == 1.0 and best.match.gaps == []
    assert set(best.match.strengths) == {"Express", "React", "TypeScript"}
    assert other.match.gaps == ["Express", "React", "TypeScript"]
    assert best.name == "Bob Jones"
    backend = await matcher.match(PY_TASK, reports)
    assert [r.developer_id for r in backend.ranking] == [ALICE, BOB]
    assert frontend.task == TS_TASK[:117] + "..." and frontend.unmatched == []


async def test_signals_once_then_one_match_each_and_the_cache_on_a_second_run(
        gateway: LLMGateway, reports: list[ProfileReport], provider: CountingOffline) -> None:
    before = provider.calls
    matcher = TaskMatcher(gateway)
    first = await matcher.match(TS_TASK, reports)
    assert provider.calls - before == 3 == first.cost.provider_calls  # 1 signals + 2 matches
    second = await matcher.match(TS_TASK, reports)
    assert provider.calls - before == 3  # nothing new
    assert second.cost.provider_calls == 0 and second.cost.cache_hits == 3
    assert [r.model_dump() for r in second.ranking] == [r.model_dump() for r in first.ranking]


async def test_saved_profiles_load_back(gateway: LLMGateway, reports: list[ProfileReport],
                                        tmp_path: Path) -> None:
    folder = tmp_path / "profiles"
    folder.mkdir()
    alice, bob = reports
    (folder / "alice.json").write_text(alice.model_dump_json())
    (tmp_path / "both.json").write_text(json.dumps([r.model_dump(mode="json") for r in reports]))
    bare = tmp_path / "carol.json"  # a bare developer_profile result, as `aexy analyze` gives
    assert bob.profile.result is not None
    bare.write_text(json.dumps({"result": bob.profile.result.model_dump(mode="json")}))
    loaded = load_profiles([folder])
    assert [c.developer_id for c in loaded] == [ALICE]
    assert [c.developer_id for c in load_profiles([tmp_path / "both.json"])] == [ALICE, BOB]
    assert [(c.developer_id, c.source) for c in load_profiles([bare])] == [
        ("carol", str(bare))]
    report = await TaskMatcher(gateway).match(TS_TASK, [*loaded, *load_profiles([bare])])
    assert [r.developer_id for r in report.ranking] == ["carol", ALICE]


def test_unreadable_profiles_are_bad_input(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InvalidInputError, match="cannot read a profile"):
        load_profiles([tmp_path / "bad.json"])
    (tmp_path / "other.json").write_text('{"summary": 3}')
    with pytest.raises(InvalidInputError, match="neither an aexy profile report"):
        load_profiles([tmp_path / "other.json"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InvalidInputError, match=r"holds no \.json profile"):
        load_profiles([empty])
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_profiles([tmp_path / "missing.json"])


async def test_a_developer_who_cannot_be_matched_is_listed_not_ranked(
        gateway: LLMGateway, reports: list[ProfileReport], provider: CountingOffline) -> None:
    # No seniority and no expertise levels: the offline matcher refuses to judge experience.
    vague = Candidate(developer_id="vague", profile=DeveloperProfile(
        summary="writes code", primary_languages=["TypeScript"]))
    report = await TaskMatcher(gateway).match(TS_TASK, [*reports, vague])
    assert [r.developer_id for r in report.ranking] == [BOB, ALICE]
    (unmatched,) = report.unmatched
    assert unmatched.developer_id == "vague" and unmatched.failure.refused
    assert "neither a seniority nor expertise levels" in unmatched.failure.message
    assert report.cost.failed == 1


async def test_bad_input_fails_before_any_provider_call(
        gateway: LLMGateway, reports: list[ProfileReport], provider: CountingOffline) -> None:
    before = provider.calls
    matcher = TaskMatcher(gateway)
    with pytest.raises(InvalidInputError, match="no developer profile"):
        await matcher.match(TS_TASK, [])
    with pytest.raises(InvalidInputError, match="given twice"):
        await matcher.match(TS_TASK, [reports[0], reports[0]])
    with pytest.raises(InvalidInputError, match="the task is empty"):
        await matcher.match("  \n", reports)
    assert provider.calls == before
    with pytest.raises(ValueError, match="either a profile or the reason"):
        Candidate(developer_id="x")
