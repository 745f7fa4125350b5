"""Budgets: a call is refused before it is sent when its worst case does not fit; settling
with the actual cost; unpriced and local models; and a job stopped mid-way with nothing
over-spent."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import pytest

from aexy.budget import Budget, LedgerTotals, LocalLedger, from_nanos, to_nanos
from aexy.completion import CompletionRequest, Usage
from aexy.cost import Cost, price, worst_case
from aexy.errors import BudgetExceededError, ErrorCode, LLMError
from aexy.settings import AexySettings
from aexy.tokens import upper_bound

LABEL = "claude/claude-sonnet-4-5"
PROVIDER, MODEL = LABEL.split("/")


def dollars(amount: str) -> Cost:
    return Cost(status="priced", input_usd=Decimal(amount), output_usd=Decimal(0),
                cache_read_usd=Decimal(0), cache_write_usd=Decimal(0),
                total_usd=Decimal(amount), source="test")


async def test_a_call_that_does_not_fit_is_refused_with_the_figures() -> None:
    budget = Budget(Decimal("1.00"))
    first = await budget.reserve(LABEL, dollars("0.70"))
    with pytest.raises(BudgetExceededError) as refused:
        await budget.reserve(LABEL, dollars("0.40"))
    error = refused.value
    assert isinstance(error, LLMError) and error.code is ErrorCode.BUDGET_EXCEEDED
    assert not error.retryable
    assert (error.provider, error.model) == (PROVIDER, MODEL)
    assert (error.limit_usd, error.spent_usd, error.reserved_usd, error.needed_usd) == (
        Decimal("1.00"), 0, Decimal("0.70"), Decimal("0.40"))
    assert "AEXY_BUDGET_USD" in str(error) and "Nothing was sent" in str(error)
    # Settling with less than the worst case makes room again.
    await budget.settle(first, dollars("0.55"))
    second = await budget.reserve(LABEL, dollars("0.40"))
    assert await budget.totals() == (Decimal("0.55"), Decimal("0.40"))
    await budget.release(second)  # nothing billed
    assert await budget.totals() == (Decimal("0.55"), 0)
    assert budget.refused == 1


async def test_an_unknown_outcome_counts_the_whole_reservation() -> None:
    budget = Budget(Decimal("1"))
    held = await budget.reserve(LABEL, dollars("0.30"))
    await budget.settle(held, None)  # a timeout: the provider may have billed it
    await budget.settle(held, dollars("0.01"))  # settling twice changes nothing
    assert await budget.totals() == (Decimal("0.30"), 0)


async def test_a_call_that_cost_more_than_its_worst_case_is_counted_and_reported(
        caplog: pytest.LogCaptureFixture) -> None:
    budget = Budget(Decimal("1"))
    held = await budget.reserve(LABEL, dollars("0.10"))
    await budget.settle(held, dollars("0.15"))
    assert await budget.totals() == (Decimal("0.15"), 0)
    assert budget.overruns == 1 and "more than its reserved worst case" in caplog.text


async def test_an_unpriced_model_is_refused_naming_the_setting_that_allows_it() -> None:
    unpriced = price("openai", "my-finetune", Usage(10, 10))
    with pytest.raises(BudgetExceededError) as refused:
        await Budget(Decimal(5)).reserve("openai/my-finetune", unpriced)
    assert refused.value.setting == "AEXY_BUDGET_ALLOW_UNPRICED"
    assert "AEXY_BUDGET_ALLOW_UNPRICED=true" in str(refused.value)
    allowing = Budget(Decimal(5), allow_unpriced=True)
    held = await allowing.reserve("openai/my-finetune", unpriced)
    await allowing.settle(held, unpriced)
    assert await allowing.totals() == (0, 0) and allowing.unpriced_calls == 1


async def test_local_calls_are_never_refused() -> None:
    budget = Budget(Decimal(0))  # nothing may be spent
    held = await budget.reserve("ollama/llama3.2", worst_case("ollama", "llama3.2", 10_000, 4096))
    await budget.settle(held, price("ollama", "llama3.2", Usage(10_000, 4096)))
    with pytest.raises(BudgetExceededError):
        await budget.reserve(LABEL, worst_case(PROVIDER, MODEL, 10, 10))


async def test_a_ledger_that_does_not_answer_refuses_retryably() -> None:
    class Down(LocalLedger):
        async def reserve(self, amount: int, limit: int) -> tuple[bool, LedgerTotals]:
            raise ConnectionError("no route to ledger")

    with pytest.raises(BudgetExceededError) as refused:
        await Budget(Decimal(5), ledger=Down()).reserve(LABEL, dollars("0.01"))
    assert refused.value.retryable and "nothing was sent" in str(refused.value)


def test_the_settings_make_the_budget() -> None:
    assert Budget.from_settings(AexySettings()) is None
    budget = Budget.from_settings(AexySettings(AEXY_BUDGET_USD="2.5",
                                               AEXY_BUDGET_ALLOW_UNPRICED="true"))
    assert budget is not None
    assert (budget.limit_usd, budget.allow_unpriced, budget.ledger.name) == (
        Decimal("2.5"), True, "local")


def test_nano_dollars_round_up() -> None:
    assert to_nanos(Decimal("0.0000000001")) == 1
    assert to_nanos(Decimal("1.5")) == 1_500_000_000
    assert from_nanos(to_nanos(Decimal("0.0234"))) == Decimal("0.0234")


class FakeProvider:
    """Answers after a moment with a usage below the request's limits, and counts what it was
    sent (the refused calls must never reach it)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.sent = 0

    async def complete(self, request: CompletionRequest) -> Usage:
        self.sent += 1
        await asyncio.sleep(0)
        input_tokens = self.rng.randint(upper_bound(request) // 6, upper_bound(request) // 3)
        return Usage(input_tokens, self.rng.randint(200, request.max_tokens))


async def run_job(budget: Budget, provider: FakeProvider, analyses: int,
                  workers: int = 8) -> tuple[int, int, Decimal]:
    """A job of ``analyses`` calls, ``workers`` at a time: reserve, send, settle. Returns the
    calls answered, the calls refused, and what the answers really cost."""
    rng = random.Random(1)
    queue = [CompletionRequest.simple("Review the code.", "x = 1\n" * rng.randint(200, 2000),
                                      max_tokens=1024) for _ in range(analyses)]
    answered, refused, paid = 0, 0, Decimal(0)

    async def worker() -> None:
        nonlocal answered, refused, paid
        while queue:
            request = queue.pop()
            worst = worst_case(PROVIDER, MODEL, upper_bound(request), request.max_tokens)
            try:
                held = await budget.reserve(LABEL, worst)
            except BudgetExceededError:
                refused += 1
                continue
            usage = await provider.complete(request)
            actual = price(PROVIDER, MODEL, usage)
            assert actual.total_usd is not None
            paid += actual.total_usd
            await budget.settle(held, actual)
            answered += 1

    await asyncio.gather(*(worker() for _ in range(workers)))
    return answered, refused, paid


async def test_a_budget_stops_a_job_mid_way_with_nothing_over_spent() -> None:
    limit = Decimal("0.50")
    budget, provider = Budget(limit), FakeProvider(seed=3)
    answered, refused, paid = await run_job(budget, provider, analyses=200)
    assert 0 < answered < 200 and refused == 200 - answered  # stopped mid-way
    assert provider.sent == answered  # a refused call was never sent
    assert paid <= limit
    spent, reserved = await budget.totals()
    assert reserved == 0  # every reservation was settled
    assert 0 <= spent - paid <= from_nanos(answered)  # each rounded up to a nano-dollar
    # And it spent most of it: the last refusals were for calls that could not fit.
    worst = worst_case(PROVIDER, MODEL, 30_000, 1024).total_usd
    assert worst is not None and paid > limit - worst * 8
