"""The batch job store: claims that keep two processes from submitting one request twice,
claims of dead processes dropped, batches resumed by key, cancelled and closed; and a provider
without a batch API refused with the names of those that have one."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from aexy import LLMGateway
from aexy.batch_store import Endpoint, JobStore, default_store_path
from aexy.batching import BatchJob
from aexy.errors import BatchUnsupportedError, ErrorCode, LLMError
from aexy.plugins import PluginHost
from aexy.settings import AexySettings
from aexy.testing import FakeProvider

HERE = Endpoint("claude", "claude-sonnet-4-5", "https://api.anthropic.com")


def store(tmp_path: Path, pid: int, alive: set[int] | None = None) -> JobStore:
    """The store as process ``pid`` sees it (``alive``: the processes still running)."""
    running = {pid} if alive is None else alive
    return JobStore(tmp_path / "jobs.sqlite3", owner=f"host-a:{pid}",
                    alive=lambda p: p in running)


async def test_a_claim_becomes_a_batch_that_a_later_run_finds_by_key(tmp_path: Path) -> None:
    s = store(tmp_path, 1)
    claim = await s.claim("job", HERE, {"c1": "k1", "c2": "k2"})
    assert claim.elsewhere == [] and claim.record is not None
    record = await s.submitted(claim.record, "msgbatch_1")
    later = store(tmp_path, 2, alive={1, 2})
    (found,) = await later.holding(HERE, ["k2", "k9"])
    assert found.api_id == "msgbatch_1" and found.requests == {"c2": "k2"}
    assert await later.holding(Endpoint("claude", "other-model", HERE.url), ["k2"]) == []
    await later.collected(record)
    assert await later.holding(HERE, ["k1", "k2"]) == []


async def test_a_second_process_does_not_claim_what_the_first_holds(tmp_path: Path) -> None:
    first, second = store(tmp_path, 1, alive={1, 2}), store(tmp_path, 2, alive={1, 2})
    mine = await first.claim("job", HERE, {"c1": "k1", "c2": "k2"})
    theirs = await second.claim("job", HERE, {"c2": "k2", "c3": "k3"})
    assert theirs.record is not None and theirs.record.requests == {"c3": "k3"}
    (held,) = theirs.elsewhere
    assert held.id == mine.record.id and held.api_id is None  # type: ignore[union-attr]
    assert held.requests == {"c2": "k2"}


async def test_the_claim_of_a_process_that_died_is_dropped_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    dead = store(tmp_path, 1)
    await dead.claim("job", HERE, {"c1": "k1"})
    survivor = store(tmp_path, 2, alive={2})
    with caplog.at_level(logging.WARNING, logger="aexy"):
        claim = await survivor.claim("job", HERE, {"c1": "k1"})
    assert claim.elsewhere == [] and claim.record is not None
    assert "interrupted before its batch id was recorded" in caplog.text


async def test_an_abandoned_claim_leaves_nothing(tmp_path: Path) -> None:
    s = store(tmp_path, 1)
    claim = await s.claim("job", HERE, {"c1": "k1"})
    assert claim.record is not None
    await s.abandon(claim.record)
    assert await s.holding(HERE, ["k1"]) == []
    assert await s.job_batches("job", HERE) == []


async def test_a_jobs_batches_are_listed_by_name(tmp_path: Path) -> None:
    s = store(tmp_path, 1)
    for job, key in (("nightly", "k1"), ("nightly", "k2"), ("other", "k3")):
        claim = await s.claim(job, HERE, {f"c-{key}": key})
        assert claim.record is not None
        await s.submitted(claim.record, f"batch-{key}")
    listed = await s.job_batches("nightly", HERE)
    assert [r.api_id for r in listed] == ["batch-k1", "batch-k2"]
    await s.cancel_requested(listed[0])
    assert (await s.job_batches("nightly", HERE))[0].cancel_requested


def test_the_store_is_in_the_user_data_directory_unless_set(tmp_path: Path) -> None:
    assert default_store_path().name == "batches.sqlite3"
    assert "cache" not in default_store_path().parts[-2].lower()
    settings = AexySettings(batch_store=str(tmp_path / "x.sqlite3"))
    assert JobStore.from_settings(settings).path == tmp_path / "x.sqlite3"


async def test_the_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    s = store(tmp_path, 1)
    await s.holding(HERE, ["k"])
    assert os.stat(s.path).st_mode & 0o777 == 0o600


async def test_a_provider_without_a_batch_api_is_refused_naming_those_with_one(
        tmp_path: Path) -> None:
    async with LLMGateway(FakeProvider(), plugins=PluginHost(), cache=False) as gw:
        with pytest.raises(BatchUnsupportedError) as info:
            BatchJob(gw, store=store(tmp_path, 1))
    error = info.value
    assert error.provider == "fake"
    assert {"claude", "openai"} <= set(error.providers)  # the installed plugins
    assert "ollama" not in error.providers and "offline" not in error.providers
    assert "has no batch API" in str(error) and "claude" in str(error)


async def test_the_default_batch_methods_say_not_supported() -> None:
    provider = FakeProvider()
    with pytest.raises(LLMError, match="has no batch API") as info:
        await provider.submit_batch([])
    assert info.value.code is ErrorCode.UNSUPPORTED
    assert not provider.supports_batch and provider.describe()["batch_api"] is False
