"""aexy-claude on Message Batches, through :class:`aexy.batching.BatchJob`, against the
wire-shaped stand-in of ``tools/batch_stubs.py`` (checked against anthropic 2.17.0's types):
requests built as live calls are, results matched by ``custom_id`` whatever their order,
errored / canceled / expired entries as typed failures, several polls with backoff, an
interruption and a resume that pays nothing twice, a rerun from the cache, batch prices."""

from __future__ import annotations

import asyncio
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from claude_wire import KEY
from tools.batch_stubs import AnthropicStub, handler

from aexy import ErrorCode, LLMGateway
from aexy.batch_store import JobStore
from aexy.batching import BatchJob, BatchProgress
from aexy.budget import Budget
from aexy.cache import MemoryCache
from aexy.completion import Usage
from aexy.contract.tokens import upper_bound
from aexy.cost import price, worst_case
from aexy.errors import BudgetExceededError
from aexy.gateway import _completion_request
from aexy.plugins import PluginHost
from aexy.testing import ScriptedServer
from aexy_claude import ClaudeProvider, ClaudeSettings

MODEL = "claude-sonnet-4-5"


def skills(params: dict[str, Any]) -> str:
    """A SkillExtraction naming the language the request's code names (``lang=X``)."""
    found = re.search(r"lang=(\w+)", json.dumps(params["messages"]))
    return json.dumps({"language": found.group(1) if found else "Python", "frameworks": [],
                       "patterns": [], "complexity": 3, "quality_indicators": [],
                       "domains": []})


class Fixture:
    def __init__(self, tmp_path: Path, **stub: Any) -> None:
        self.stub = AnthropicStub(model=MODEL, **stub)
        self.server = ScriptedServer(default=handler(self.stub, "httpx2"), library="httpx2")
        self.store = JobStore(tmp_path / "batches.sqlite3")
        self.cache = MemoryCache()
        self.slept: list[float] = []

    def gateway(self, **kw: Any) -> LLMGateway:
        provider = ClaudeProvider(ClaudeSettings(api_key=KEY, model=MODEL),
                                  transport=self.server.transport)
        return LLMGateway(provider, plugins=PluginHost(), cache=kw.pop("cache", self.cache),
                          **kw)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def job(self, gateway: LLMGateway, **kw: Any) -> BatchJob:
        return BatchJob(gateway, "test-job", store=self.store, sleep=kw.pop("sleep", self.sleep),
                        **kw)

    def calls(self, kind: str) -> int:
        return sum(1 for line in self.stub.log if re.fullmatch(kind, line))


@pytest.fixture
def fx(tmp_path: Path) -> Fixture:
    return Fixture(tmp_path, answer=skills)


def code(lang: str, marker: str = "") -> str:
    return f"fn main() {{}} // lang={lang}" + (f" aexy-test: {marker}" if marker else "")


async def test_each_request_is_built_exactly_as_a_live_call(fx: Fixture) -> None:
    async with fx.gateway(cache=False) as gw:
        await gw.analyze("skill_extraction", code("Rust"), {"file_path": "main.rs"})
        job = fx.job(gw)
        job.add("skill_extraction", code("Rust"), {"file_path": "main.rs"})
        await job.run()
    live = fx.server.body(0)
    (batch,) = fx.stub.batches.values()
    (entry,) = batch.requests
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", entry["custom_id"])  # the API's pattern
    assert entry["params"] == live  # same prompt, schema and structured output
    assert entry["params"]["output_config"]["format"]["type"] == "json_schema"
    assert "timeout" not in entry["params"]


async def test_results_in_another_order_are_matched_by_custom_id(fx: Fixture) -> None:
    langs = ["Rust", "Go", "Zig", "Kotlin", "Haskell"]
    async with fx.gateway() as gw:
        job = fx.job(gw)
        items = [job.add("skill_extraction", code(lang), {"file_path": f"{lang}.src"})
                 for lang in langs]
        await job.run()
    (batch,) = fx.stub.batches.values()
    submitted = [r["custom_id"] for r in batch.requests]
    assert len(set(submitted)) == len(langs)  # the stand-in answers them in reverse
    assert [item.unwrap().language for item in items] == langs
    assert {item.unwrap().provenance.batch_id for item in items} == {batch.id}


async def test_errored_canceled_and_expired_entries_are_typed_failures(fx: Fixture) -> None:
    async with fx.gateway() as gw:
        job = fx.job(gw)
        items = {m: job.add("skill_extraction", code("C", m)) for m in
                 ("", "error", "cancel", "expire")}
        await job.run()
        stats = gw.stats()
    assert items[""].ok
    assert items["error"].error is not None
    assert items["error"].error.code is ErrorCode.BAD_REQUEST  # type: ignore[attr-defined]
    assert "invalid_request_error" in str(items["error"].error)
    assert items["cancel"].error.code is ErrorCode.CANCELED  # type: ignore[union-attr]
    assert items["expire"].error.code is ErrorCode.EXPIRED  # type: ignore[union-attr]
    assert all(item.done for item in items.values())  # nothing dropped
    assert stats["errors"] == {"bad_request": 1, "canceled": 1, "expired": 1}
    assert stats["batch_answers"] == {"claude": 1}


async def test_errored_and_expired_entries_are_sent_live_with_retry_live(fx: Fixture) -> None:
    async with fx.gateway() as gw:
        job = fx.job(gw, retry_live=True)
        expired = job.add("skill_extraction", code("Ada", "expire"))
        errored = job.add("skill_extraction", code("Lua", "error"))
        await job.run()
    assert expired.unwrap().language == "Ada" and errored.unwrap().language == "Lua"
    assert expired.unwrap().provenance.batch_id is None  # answered by a live call
    assert fx.calls("POST /v1/messages") == 2


async def test_a_batch_that_needs_several_polls_backs_off_to_the_cap(tmp_path: Path) -> None:
    fx = Fixture(tmp_path, polls=6, answer=skills)
    seen: list[BatchProgress] = []
    async with fx.gateway() as gw:
        job = fx.job(gw, poll_seconds=2, max_poll_seconds=5, on_progress=seen.append)
        item = job.add("skill_extraction", code("OCaml"))
        await job.run()
    assert item.unwrap().language == "OCaml"
    assert fx.calls(r"GET /v1/messages/batches/\w+") == 6 + 1  # the polls, and the results'
    assert fx.slept == [2, 3, 4.5, 5, 5]
    waiting = [p for p in seen if p.phase == "waiting"]
    assert waiting[0].submitted == 1 and waiting[0].processing == 1
    assert seen[-1].succeeded == 1 and seen[-1].processing == 0


async def test_an_interrupted_job_resumes_its_batch_instead_of_resubmitting(
        fx: Fixture) -> None:
    async def interrupt(seconds: float) -> None:
        raise asyncio.CancelledError  # Ctrl-C while waiting for the batch

    inputs = [code(lang) for lang in ("Elm", "Nim", "Odin")]
    async with fx.gateway() as gw:
        job = fx.job(gw, sleep=interrupt)
        for text in inputs:
            job.add("skill_extraction", text)
        with pytest.raises(asyncio.CancelledError):
            await job.run()
    assert fx.calls("POST /v1/messages/batches") == 1
    (recorded,) = await fx.store.job_batches("test-job", _endpoint())
    assert recorded.state == "open" and len(recorded.requests) == 3

    # A new process: a new gateway, the same store and cache.
    async with fx.gateway() as gw:
        job = fx.job(gw)
        items = [job.add("skill_extraction", text) for text in inputs]
        await job.run()
    assert fx.calls("POST /v1/messages/batches") == 1  # nothing submitted again
    assert [i.unwrap().language for i in items] == ["Elm", "Nim", "Odin"]
    assert job.progress.resumed == 3 and job.progress.submitted == 0
    assert await fx.store.job_batches("test-job", _endpoint()) == []  # collected


def _endpoint() -> Any:
    from aexy.batch_store import Endpoint
    from aexy_claude.provider import DEFAULT_BASE_URL

    return Endpoint("claude", MODEL, DEFAULT_BASE_URL)


async def test_a_rerun_is_served_entirely_from_the_cache(fx: Fixture) -> None:
    inputs = [code(lang) for lang in ("Dart", "Perl")]
    async with fx.gateway() as gw:
        job = fx.job(gw)
        for text in inputs:
            job.add("skill_extraction", text)
        await job.run()
    before = list(fx.stub.log)
    async with fx.gateway() as gw:
        job = fx.job(gw)
        items = [job.add("skill_extraction", text) for text in inputs]
        await job.run()
        totals = gw.cost_totals()
    assert fx.stub.log == before  # not one request
    assert all(i.unwrap().provenance.cache_hit for i in items)
    assert job.progress.cached == 2 and job.progress.submitted == 0
    assert totals.paid_usd == 0 and totals.saved_usd > 0


async def test_identical_analyses_are_sent_once(fx: Fixture) -> None:
    async with fx.gateway() as gw:
        job = fx.job(gw)
        first = job.add("skill_extraction", code("Ruby"))
        again = job.add("skill_extraction", code("Ruby"))
        await job.run()
    (batch,) = fx.stub.batches.values()
    assert len(batch.requests) == 1
    assert first.unwrap().language == again.unwrap().language == "Ruby"
    assert first.result is not again.result
    assert again.unwrap().provenance.coalesced and again.unwrap().provenance.attempts == 0


async def test_an_invalid_answer_is_repaired_by_a_live_call(fx: Fixture) -> None:
    async with fx.gateway() as gw:
        job = fx.job(gw)
        item = job.add("skill_extraction", code("Julia", "invalid"))
        await job.run()
    result = item.unwrap()
    assert result.language == "Julia" and result.provenance.repaired
    assert result.provenance.attempts == 2  # the batch's answer and the live repair
    repair = json.loads(fx.server.requests[-1].content)
    assert repair["messages"][-2] == {"role": "assistant", "content": "this is not JSON"}


async def test_answers_are_priced_at_the_batch_rate(fx: Fixture) -> None:
    async with fx.gateway() as gw:
        job = fx.job(gw)
        item = job.add("skill_extraction", code("Scala"))
        await job.run()
        totals = gw.cost_totals()
    p = item.unwrap().provenance
    usage = Usage(p.input_tokens, p.output_tokens)
    assert p.cost is not None and p.cost.batch
    assert p.cost == price("claude", MODEL, usage, batch=True)
    standard = price("claude", MODEL, usage).total_usd
    assert standard is not None and p.cost.total_usd == standard / 2
    assert totals.paid_usd == p.cost.total_usd


async def test_the_budget_reserves_the_batch_price(fx: Fixture) -> None:
    text = code("Swift")
    async with fx.gateway(cache=False) as gw:  # the request both would send, and its bounds
        admitted = gw._admit("skill_extraction", text, None, False)
        request = _completion_request(gw._render(admitted))
        tokens, cap = upper_bound(request), gw.provider.max_output_tokens(request)
    live = worst_case("claude", MODEL, tokens, cap).total_usd
    batch = worst_case("claude", MODEL, tokens, cap, batch=True).total_usd
    assert live is not None and batch is not None and batch < live
    limit = (live + batch) / 2  # enough for the batch's worst case, not for a live call's
    async with fx.gateway(budget=Budget(limit), cache=False) as gw:
        job = fx.job(gw)
        item = job.add("skill_extraction", text)
        await job.run()
        assert item.ok
        with pytest.raises(BudgetExceededError):
            await gw.analyze("skill_extraction", text)
        spent, held = await gw.budget.totals()  # type: ignore[union-attr]
    cost = item.unwrap().provenance.cost
    assert cost is not None and cost.total_usd is not None
    assert held == 0 and abs(spent - cost.total_usd) < Decimal("1e-9")


async def test_over_the_budget_nothing_is_submitted(fx: Fixture) -> None:
    async with fx.gateway(budget=Budget(Decimal("0.000001"))) as gw:
        job = fx.job(gw)
        item = job.add("skill_extraction", code("Pascal"))
        await job.run()
    assert item.error is not None and isinstance(item.error, BudgetExceededError)
    assert fx.stub.log == []


async def test_a_dry_run_plans_at_batch_prices_and_sends_nothing(fx: Fixture) -> None:
    async with fx.gateway(dry_run=True) as gw:
        job = fx.job(gw)
        items = [job.add("skill_extraction", code(lang)) for lang in ("F", "G")]
        await job.run()
        plan = gw.plan
    assert plan is not None and len(plan.calls) == 2 and all(c.batch for c in plan.calls)
    call = plan.calls[0]
    assert call.cost_range()[1] == worst_case("claude", MODEL, call.tokens.tokens,
                                              call.max_output_tokens, batch=True)
    assert "at batch rates" in dict(plan.rows())["cost"]
    assert all(i.unwrap().provenance.dry_run for i in items)
    assert fx.calls("POST /v1/messages/batches") == 0
    assert not fx.store.path.exists()


async def test_cancel_cancels_the_recorded_batches_and_a_rerun_reads_what_they_did(
        fx: Fixture) -> None:
    async def interrupt(seconds: float) -> None:
        raise asyncio.CancelledError

    async with fx.gateway() as gw:
        job = fx.job(gw, sleep=interrupt)
        job.add("skill_extraction", code("Cobol"))
        with pytest.raises(asyncio.CancelledError):
            await job.run()
        statuses = await fx.job(gw).cancel()
    assert [s.state for s in statuses] == ["canceling"]
    assert fx.calls(r"POST /v1/messages/batches/\w+/cancel") == 1
    async with fx.gateway() as gw:
        job = fx.job(gw)
        item = job.add("skill_extraction", code("Cobol"))
        await job.run()
    assert item.error is not None and item.error.code is ErrorCode.CANCELED  # type: ignore[attr-defined]
    assert fx.calls("POST /v1/messages/batches") == 1


async def test_a_batch_the_api_no_longer_knows_fails_its_requests(fx: Fixture) -> None:
    async def interrupt(seconds: float) -> None:
        raise asyncio.CancelledError

    async with fx.gateway() as gw:
        job = fx.job(gw, sleep=interrupt)
        job.add("skill_extraction", code("Forth"))
        with pytest.raises(asyncio.CancelledError):
            await job.run()
    fx.stub.batches.clear()  # archived, or another workspace's
    async with fx.gateway() as gw:
        job = fx.job(gw)
        item = job.add("skill_extraction", code("Forth"))
        await job.run()
    assert item.error is not None and item.error.code is ErrorCode.NOT_FOUND  # type: ignore[attr-defined]
    assert await fx.store.job_batches("test-job", _endpoint()) == []  # the next run resubmits


async def test_a_batch_answer_is_grounded_like_a_live_one(tmp_path: Path) -> None:
    # The model claims a library whose import is not in the code: grounding drops it, as it
    # does for a live answer, and the library it backed is no framework either.
    def invented(params: dict[str, Any]) -> str:
        return json.dumps({
            "language": "Python", "patterns": [], "complexity": 2, "domains": [],
            "quality_indicators": [],
            "libraries": [{"name": "requests", "evidence": "import requests"},
                          {"name": "fastapi", "evidence": "from fastapi import FastAPI"}],
            "frameworks": ["Requests", "FastAPI"]})

    fx = Fixture(tmp_path, answer=invented)
    async with fx.gateway() as gw:
        job = fx.job(gw)
        item = job.add("skill_extraction", "import requests\n\nrequests.get('https://x')\n",
                       {"file_path": "get.py"})
        await job.run()
    result = item.unwrap()
    assert [lib.name for lib in result.libraries] == ["requests"]
    assert result.frameworks == ["Requests"]
    assert result.provenance.ungrounded_dropped == 2  # the library and the framework it backed
    assert result.provenance.batch_id is not None
