"""Cost wired into every call: provenance, cache hits and coalesced calls, stats, the log line,
OpenTelemetry; budgets through the gateway; dry runs that send nothing."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from priced_fakes import MODEL, PricedFake, Untouchable

from aexy import LLMGateway
from aexy.budget import Budget, LocalLedger
from aexy.cache import MemoryCache
from aexy.completion import Completion, CompletionRequest, Usage
from aexy.cost import price
from aexy.errors import BudgetExceededError, ErrorCode, LLMError
from aexy.plugins import PluginHost
from aexy.schema import example_from_schema
from aexy.settings import AexySettings
from aexy.telemetry import Telemetry
from aexy.testing import FakeProvider, install_fake_provider
from aexy.tokens import ESTIMATE_METHOD, TokenCount

CODE = "def add(a: int, b: int) -> int:\n    return a + b\n"


def valid(request: CompletionRequest) -> str:
    return json.dumps(example_from_schema(dict(request.json_schema or {})))


def gateway(provider: Any, host: PluginHost, **kw: Any) -> LLMGateway:
    kw.setdefault("cache", MemoryCache())
    return LLMGateway(provider=provider, fallbacks=kw.pop("fallbacks", ()), plugins=host,
                      settings=kw.pop("settings", AexySettings(cache_backend="memory")), **kw)


# -- provenance and stats --------------------------------------------------------------------------
async def test_a_result_carries_what_its_calls_cost(host: PluginHost) -> None:
    usage = Usage(9_000, 700, cache_read_tokens=4_000, cache_write_tokens=1_000)
    provider = PricedFake(replies=[
        lambda r: Completion("{not json", MODEL, Usage(8_000, 50, 2_000, 0)),
        lambda r: Completion(valid(r), MODEL, usage)])
    async with gateway(provider, host) as gw:
        result = await gw.analyze("skill_extraction", CODE)
        stats = gw.stats()
    cost = result.provenance.cost
    assert cost is not None and result.provenance.repaired
    first = price("claude", MODEL, Usage(8_000, 50, 2_000, 0))
    second = price("claude", MODEL, usage)
    assert cost == first + second  # the repair re-ask is paid too
    assert cost.status == "priced" and not cost.saved and cost.cache_read_usd > 0
    assert stats["cost"]["paid_usd"] == float(cost.total_usd)  # type: ignore[arg-type]
    assert stats["cost"]["complete"] and stats["cost"]["calls"] == {"priced": 2}


async def test_a_cache_hit_reports_the_cost_it_saved(host: PluginHost) -> None:
    backend = MemoryCache()
    async with gateway(PricedFake(), host, cache=backend) as gw:
        paid = (await gw.analyze("skill_extraction", CODE)).provenance.cost
        hit = (await gw.analyze("skill_extraction", CODE)).provenance
        stats = gw.stats()["cost"]
    assert paid is not None and hit.cache_hit and hit.cost is not None
    assert hit.cost.saved and hit.cost.total_usd == paid.total_usd
    assert str(hit.cost).endswith(" saved")
    assert stats["paid_usd"] == stats["saved_usd"] == float(paid.total_usd)  # type: ignore[arg-type]
    # Another process reading the same entry knows what it saved too.
    async with gateway(PricedFake(), host, cache=backend) as other:
        again = (await other.analyze("skill_extraction", CODE)).provenance
    assert again.cost == hit.cost and again.attempts == 0


async def test_an_entry_from_before_costs_were_recorded_has_no_cost(host: PluginHost) -> None:
    backend = MemoryCache()
    async with gateway(PricedFake(), host, cache=backend) as gw:
        await gw.analyze("skill_extraction", CODE)
    for key, (raw, expires) in list(backend._data.items()):
        head, _, body = raw.partition("\n")
        fields = json.loads(head)
        del fields["usage"]
        backend._data[key] = (json.dumps(fields) + "\n" + body, expires)
    async with gateway(PricedFake(), host, cache=backend) as gw:
        hit = (await gw.analyze("skill_extraction", CODE)).provenance
    assert hit.cache_hit and hit.cost is None


async def test_coalesced_callers_report_what_they_saved(host: PluginHost) -> None:
    gate = asyncio.Event()

    class Slow(PricedFake):
        async def complete(self, request: CompletionRequest) -> Completion:
            await gate.wait()
            return await super().complete(request)

    async with gateway(Slow(), host) as gw:
        calls = [asyncio.create_task(gw.analyze("skill_extraction", CODE)) for _ in range(3)]
        await asyncio.sleep(0)
        gate.set()
        results = await asyncio.gather(*calls)
        stats = gw.stats()["cost"]
    costs = [r.provenance.cost for r in results]
    paid = [c for c in costs if c is not None and not c.saved]
    saved = [c for c in costs if c is not None and c.saved]
    assert len(paid) == 1 and len(saved) == 2
    assert all(c.total_usd == paid[0].total_usd for c in saved)
    assert stats["calls"] == {"priced": 1, "priced_saved": 2}


async def test_local_and_unpriced_calls_are_labelled(host: PluginHost) -> None:
    async with LLMGateway(provider="offline", fallbacks=(), plugins=host, cache=False) as gw:
        local = (await gw.analyze("skill_extraction", CODE)).provenance.cost
    assert local is not None and str(local) == "$0 (local)"
    async with gateway(FakeProvider(), host) as gw:  # a provider that does not say its price
        unpriced = (await gw.analyze("skill_extraction", CODE)).provenance.cost
        stats = gw.stats()["cost"]
    assert unpriced is not None and unpriced.status == "unpriced"
    assert unpriced.total_usd is None and "does not say how it is priced" in (unpriced.reason or "")
    assert not stats["complete"] and stats["unpriced_models"] == {"fake/fake-model": 1}


async def test_the_log_line_carries_the_cost(host: PluginHost,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="aexy")
    async with gateway(PricedFake(), host) as gw:
        result = await gw.analyze("skill_extraction", CODE)
        await gw.analyze("skill_extraction", CODE)
    paid, hit = [r for r in caplog.records if r.getMessage() == "LLM analysis completed"]
    assert result.provenance.cost is not None
    assert paid.cost_usd == float(result.provenance.cost.total_usd)  # type: ignore[attr-defined,arg-type]
    assert (paid.cost_status, paid.cost_saved) == ("priced", False)  # type: ignore[attr-defined]
    assert hit.cost_saved is True  # type: ignore[attr-defined]


async def test_opentelemetry_gets_the_cost_next_to_the_token_usage(host: PluginHost) -> None:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    telemetry = Telemetry(tracer_provider, MeterProvider(metric_readers=[reader]))
    async with gateway(PricedFake(), host, telemetry=telemetry) as gw:
        cost = (await gw.analyze("skill_extraction", CODE)).provenance.cost
        await gw.analyze("skill_extraction", CODE)  # a hit: what it saved
    async with gateway(FakeProvider(), host, telemetry=telemetry) as gw:
        await gw.analyze("skill_extraction", CODE)  # unpriced
    assert cost is not None and cost.total_usd is not None
    priced_span = next(s for s in spans.get_finished_spans() if "pricedfake" in str(
        s.attributes.get("gen_ai.provider.name")))  # type: ignore[union-attr]
    attrs = dict(priced_span.attributes or {})
    assert attrs["aexy.cost.usd"] == float(cost.total_usd)
    assert attrs["aexy.cost.status"] == "priced" and "genai-prices" in attrs["aexy.cost.source"]
    data = reader.get_metrics_data()
    assert data is not None
    metrics = {m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics
               for m in sm.metrics}
    amounts = {p.attributes["aexy.cost.saved"]: p.value
               for p in metrics["aexy.cost"].data.data_points}
    assert amounts == {False: float(cost.total_usd), True: float(cost.total_usd)}
    assert metrics["aexy.cost"].unit == "USD"
    (unpriced,) = metrics["aexy.cost.unpriced_calls"].data.data_points
    assert unpriced.value == 1 and unpriced.attributes["gen_ai.provider.name"] == "fake"


# -- budgets ---------------------------------------------------------------------------------------
async def test_a_budget_stops_a_job_mid_way_with_nothing_over_spent(host: PluginHost) -> None:
    limit = Decimal("0.40")
    provider = PricedFake()
    budget = Budget(limit)
    rng = random.Random(2)
    contents = [f"# file {i}\n" + "total = compute(a, b) * 3\n" * rng.randint(50, 400)
                for i in range(120)]
    async with gateway(provider, host, budget=budget, cache=False) as gw:
        limiter = asyncio.Semaphore(8)

        async def one(content: str) -> Any:
            async with limiter:
                try:
                    return await gw.analyze("skill_extraction", content)
                except BudgetExceededError as exc:
                    return exc

        outcomes = await asyncio.gather(*(one(c) for c in contents))
        stats = gw.stats()
    answered = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, BudgetExceededError)]
    assert answered and refused and len(answered) + len(refused) == len(contents)  # mid-way
    assert len(provider.calls) == len(answered)  # a refused call was never sent
    paid = sum((o.provenance.cost.total_usd for o in answered), Decimal(0))
    assert paid <= limit
    spent, held = await budget.totals()
    assert held == 0 and 0 <= spent - paid <= Decimal(len(answered)) / 10**9
    assert stats["budget"]["refused"] == len(refused) and stats["budget"]["held_here_usd"] == 0
    error = refused[-1]
    assert error.code is ErrorCode.BUDGET_EXCEEDED and not error.retryable
    assert "Nothing was sent" in error.message and error.setting == "AEXY_BUDGET_USD"


async def test_a_local_fallback_keeps_answering_when_the_budget_is_spent(
        host: PluginHost) -> None:
    async with gateway(PricedFake(), host, budget=Budget(Decimal(0)),
                       fallbacks=["offline"]) as gw:
        result = await gw.analyze("skill_extraction", CODE)
    p = result.provenance
    assert p.provider == "offline" and p.fallback and p.failures == (
        f"pricedfake/{MODEL}: budget_exceeded",)
    assert p.cost is not None and p.cost.status == "local"


async def test_an_unpriced_model_under_a_budget_is_refused_naming_the_setting(
        host: PluginHost) -> None:
    provider = FakeProvider()
    settings = AexySettings(cache_backend="memory", AEXY_BUDGET_USD="5")
    async with gateway(provider, host, settings=settings) as gw:
        with pytest.raises(BudgetExceededError) as refused:
            await gw.analyze("skill_extraction", CODE)
    assert provider.calls == []
    assert refused.value.setting == "AEXY_BUDGET_ALLOW_UNPRICED"
    assert "AEXY_BUDGET_ALLOW_UNPRICED=true" in refused.value.message
    allowing = AexySettings(cache_backend="memory", AEXY_BUDGET_USD="5",
                            AEXY_BUDGET_ALLOW_UNPRICED="true")
    async with gateway(FakeProvider(), host, settings=allowing) as gw:
        await gw.analyze("skill_extraction", CODE)
        assert gw.stats()["budget"]["unpriced_calls"] == 1


@pytest.mark.parametrize(("code", "counted"), [
    (ErrorCode.TIMEOUT, True),  # it may have been billed: the worst case stays spent
    (ErrorCode.SERVER_ERROR, False),  # an API error is not billed: released
])
async def test_a_failed_call_settles_by_what_may_have_been_billed(
        host: PluginHost, code: ErrorCode, counted: bool) -> None:
    budget = Budget(Decimal(10))
    provider = PricedFake(replies=[LLMError("boom", code=code, retryable=False)])
    async with gateway(provider, host, budget=budget) as gw:
        with pytest.raises(LLMError):
            await gw.analyze("skill_extraction", CODE)
    spent, held = await budget.totals()
    assert held == 0 and (spent > 0) is counted


async def test_the_budget_comes_from_the_settings_on_the_chosen_ledger(
        host: PluginHost) -> None:
    from aexy.contract.budget import BudgetLedgerSpec
    from aexy.contract.hooks import hookimpl

    made: list[str] = []

    class Shared(LocalLedger):
        name = "shared"

    class Plugin:
        @hookimpl
        def register_budget_ledgers(self) -> list[BudgetLedgerSpec]:
            return [BudgetLedgerSpec("shared", lambda name, settings: made.append(name)
                                     or Shared())]

    host.register(Plugin(), name="ledgers", distribution="aexy-shared-ledger", version="1")
    settings = AexySettings(cache_backend="memory", AEXY_BUDGET_USD="2",
                            AEXY_BUDGET_NAME="nightly")
    async with LLMGateway(provider="offline", plugins=host, settings=settings) as gw:
        assert gw.budget is not None and gw.budget.ledger.name == "shared"
        assert made == ["nightly"] and gw.stats()["budget"]["limit_usd"] == 2
    local = AexySettings(cache_backend="memory", AEXY_BUDGET_USD="2", AEXY_BUDGET_LEDGER="local")
    async with LLMGateway(provider="offline", plugins=host, settings=local) as gw:
        assert gw.budget is not None and gw.budget.ledger.name == "local"
    async with LLMGateway(provider="offline", plugins=host,
                          settings=AexySettings(cache_backend="memory")) as gw:
        assert gw.budget is None and gw.stats()["budget"] is None


# -- dry runs --------------------------------------------------------------------------------------
async def test_a_dry_run_sends_nothing_and_plans_every_call(host: PluginHost) -> None:
    backend = MemoryCache()
    async with gateway(PricedFake(), host, cache=backend) as gw:
        held = await gw.analyze("skill_extraction", CODE)
    contents = [CODE, CODE + "# two\n", CODE + "# three\n", CODE + "# two\n"]
    async with gateway(Untouchable(), host, cache=backend, dry_run=True) as gw:
        results = [await gw.analyze("skill_extraction", c) for c in contents]
        plan = gw.plan
        stats = gw.stats()
    assert plan is not None
    s = plan.summary()
    assert (s["analyses"], s["cached"], s["repeats"], s["to_send"]) == (4, 1, 1, 2)
    assert s["by_model"] == {f"pricedfake/{MODEL}": 2} and s["calls_counted"] == 0
    assert s["count_methods"] == [ESTIMATE_METHOD]
    assert 0 < s["cost_low_usd"] < s["cost_high_usd"]
    assert stats["provider_calls"] == {}
    assert results[0].provenance.cache_hit and not results[0].provenance.dry_run
    stand_in = results[1].provenance
    assert stand_in.dry_run and stand_in.method == "heuristic" and stand_in.attempts == 0
    assert results[0].model_dump() == held.model_dump()
    assert len(backend._data) == 1  # nothing written
    rows = dict(plan.rows())
    assert rows["to send"] == f"2 (pricedfake/{MODEL} 2)"
    assert rows["input tokens"].startswith("~") and "estimated" in rows["input tokens"]
    assert rows["cost"].startswith("$") and " to $" in rows["cost"]


async def test_a_provider_that_can_count_is_asked_and_a_failing_count_is_estimated(
        host: PluginHost) -> None:
    class Counting(Untouchable):
        counted: ClassVar[list[CompletionRequest]] = []

        async def count_tokens(self, request: CompletionRequest) -> TokenCount:
            self.counted.append(request)
            if len(self.counted) > 1:
                raise LLMError("count_tokens is down", code=ErrorCode.SERVER_ERROR)
            return TokenCount(1234, estimated=False, method="test tokenizer")

    async with gateway(Counting(), host, dry_run=True) as gw:
        await gw.analyze("skill_extraction", CODE)
        await gw.analyze("skill_extraction", CODE + "# b\n")
        s = gw.plan.summary()  # type: ignore[union-attr]
        rows = dict(gw.plan.rows())  # type: ignore[union-attr]
    assert s["calls_counted"] == 1 and s["input_tokens_counted"] == 1234
    assert rows["input tokens"].startswith("~") and "1 of 2 calls counted" in rows["input tokens"]
    assert rows["input tokens"].endswith("the provider could not count 1)")
    assert s["count_failures"] == 1 and len(s["count_methods"]) == 2
    assert Counting.counted[0].json_schema is not None  # the schema is part of what is billed


async def test_what_the_heuristics_cannot_stand_in_for_is_counted(host: PluginHost) -> None:
    async with gateway(Untouchable(), host, dry_run=True) as gw:
        with pytest.raises(LLMError) as refused:
            # The offline heuristics need the activity data a real model would be asked about.
            await gw.analyze("attrition_risk", "nothing here is activity data")
        plan = gw.plan
    assert refused.value.code is ErrorCode.UNSUPPORTED
    assert plan is not None and plan.stand_ins_refused == 1 and len(plan.calls) == 1
    assert dict(plan.rows())["not planned"].startswith("what depends on 1 analyses")


def test_the_fake_is_priced_like_the_model_it_names() -> None:
    assert price("x", MODEL, Usage(1, 1), ref=PricedFake().price_ref()).status == "priced"


@pytest.fixture
def host() -> PluginHost:
    h = PluginHost(entry_points=False)
    install_fake_provider(h)
    install_fake_provider(h, PricedFake)
    return h
