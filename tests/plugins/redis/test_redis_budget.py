"""The shared budget ledger on a real Redis: atomic reservations, settlements kept through an
outage, and two processes that stop together at one budget with nothing over-spent."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from decimal import Decimal

import pytest
from redis_server import RedisServer
from worker_processes import Workers

from aexy.budget import Budget, BudgetLedger, LedgerTotals
from aexy.errors import BudgetExceededError
from aexy_redis.budget import RedisBudgetLedger, budget_key
from aexy_redis.connection import RedisUnavailableError
from conftest import settings_for


async def test_it_is_a_budget_ledger_with_an_atomic_reservation(
        redis_server: RedisServer) -> None:
    ledger = RedisBudgetLedger("job-1", settings=settings_for(redis_server, timeout=2.0))
    try:
        assert isinstance(ledger, BudgetLedger)
        # 50 reservations of 7 at once against a limit of 70: exactly ten fit.
        outcomes = await asyncio.gather(*(ledger.reserve(7, 70) for _ in range(50)))
        assert sum(granted for granted, _ in outcomes) == 10
        assert await ledger.totals() == LedgerTotals(0, 70)
        refused = [seen for granted, seen in outcomes if not granted]
        assert all(seen.reserved + 7 > 70 for seen in refused)
        for _ in range(10):
            await ledger.settle(7, 5)
        assert await ledger.totals() == LedgerTotals(50, 0)
        assert await ledger.reserve(20, 70) == (True, LedgerTotals(50, 20))
        assert (await ledger.reserve(1, 70))[0] is False
        await ledger.reset()
        assert await ledger.totals() == LedgerTotals(0, 0)
    finally:
        await ledger.aclose()


async def test_amounts_stay_exact_far_past_lua_number_printing(
        redis_server: RedisServer) -> None:
    ledger = RedisBudgetLedger(settings=settings_for(redis_server))
    big = 3_000_000_000_000_123  # $3 million in nano-dollars: Lua prints it as 3e+15
    try:
        assert await ledger.reserve(big, 2 * big) == (True, LedgerTotals(0, big))
        await ledger.settle(big, big - 1)
        assert await ledger.reserve(big, 2 * big) == (True, LedgerTotals(big - 1, big))
    finally:
        await ledger.aclose()


def test_budgets_are_named_and_cluster_safe() -> None:
    assert budget_key("", "default") == "aexy:budget:{default}"
    assert budget_key("staging:", "we{ir}d") == "staging:aexy:budget:{we(ir)d}"


async def test_settlements_made_during_an_outage_arrive_afterwards(
        redis_server: RedisServer) -> None:
    settings = settings_for(redis_server, timeout=0.2, backoff_base=0.0, backoff_cap=0.0)
    ledger = RedisBudgetLedger("o", settings=settings)
    budget = Budget(Decimal("1"), ledger=ledger)
    try:
        assert await ledger.reserve(400_000_000, budget.limit) == (True, LedgerTotals(0, 4 * 10**8))
        redis_server.pause()  # Redis stops answering, connections stay open
        try:
            await ledger.settle(400_000_000, 250_000_000)  # kept, not lost
            assert ledger.pending == [(400_000_000, 250_000_000)]
            with pytest.raises(RedisUnavailableError):
                await ledger.reserve(1, budget.limit)
            # Through a Budget: refused before anything is sent, and worth retrying.
            from aexy.cost import Cost

            worst = Cost(status="priced", total_usd=Decimal("0.01"), input_usd=Decimal("0.01"),
                         output_usd=Decimal(0), cache_read_usd=Decimal(0),
                         cache_write_usd=Decimal(0))
            with pytest.raises(BudgetExceededError) as refused:
                await budget.reserve("claude/m", worst)
            assert refused.value.retryable
        finally:
            redis_server.resume()
        assert await ledger.totals() == LedgerTotals(250_000_000, 0)  # flushed first
        assert ledger.pending == []
    finally:
        await ledger.aclose()


async def test_a_ledger_lost_by_redis_never_goes_below_zero(redis_server: RedisServer) -> None:
    ledger = RedisBudgetLedger("lost", settings=settings_for(redis_server))
    try:
        await ledger.reserve(100, 1000)
        await ledger.reset()  # as a restart without persistence would
        await ledger.settle(100, 60)
        assert await ledger.totals() == LedgerTotals(60, 0)
    finally:
        await ledger.aclose()


# -- two processes, one budget -----------------------------------------------------------------
_JOB = textwrap.dedent("""
    import asyncio, json, random, sys
    from decimal import Decimal
    from aexy.budget import Budget
    from aexy.completion import Usage
    from aexy.cost import price, worst_case
    from aexy.errors import BudgetExceededError
    from aexy_redis.budget import RedisBudgetLedger
    from aexy_redis.settings import RedisSettings

    url, limit, seed = sys.argv[1], Decimal(sys.argv[2]), int(sys.argv[3])
    provider, model = "claude", "claude-sonnet-4-5"

    async def main():
        ledger = RedisBudgetLedger("job", settings=RedisSettings(url=url, timeout=2.0))
        budget = Budget(limit, ledger=ledger)
        await ledger.totals()  # connected
        print("ready", flush=True)
        sys.stdin.readline()
        rng = random.Random(seed)
        answered = refused = 0
        paid = Decimal(0)

        async def worker():
            nonlocal answered, refused, paid
            for _ in range(40):
                input_bound, cap = rng.randint(2_000, 20_000), 1024
                try:
                    held = await budget.reserve(f"{provider}/{model}",
                                                worst_case(provider, model, input_bound, cap))
                except BudgetExceededError:
                    refused += 1
                    continue
                await asyncio.sleep(rng.random() / 100)  # the call
                actual = price(provider, model, Usage(rng.randint(input_bound // 6,
                                                                  input_bound // 3),
                                                      rng.randint(100, cap)))
                paid += actual.total_usd
                await budget.settle(held, actual)
                answered += 1

        await asyncio.gather(*(worker() for _ in range(4)))
        await budget.aclose()
        print(json.dumps({"answered": answered, "refused": refused, "paid": str(paid)}))

    asyncio.run(main())
""")


def test_two_processes_stop_together_at_one_budget_with_nothing_over_spent(
        redis_server: RedisServer) -> None:
    limit = Decimal("1.00")
    with Workers([[sys.executable, "-c", _JOB, redis_server.url, str(limit), str(seed)]
                  for seed in (1, 2)]) as workers:
        workers.go("go")
        reports = workers.reports(timeout=120)
    paid = sum(Decimal(r["paid"]) for r in reports)
    assert all(r["answered"] > 0 and r["refused"] > 0 for r in reports), reports  # mid-way
    assert paid <= limit, reports  # together, never over

    async def ledger_totals() -> LedgerTotals:
        ledger = RedisBudgetLedger("job", settings=settings_for(redis_server))
        try:
            return await ledger.totals()
        finally:
            await ledger.aclose()

    totals = asyncio.run(ledger_totals())
    answered = sum(r["answered"] for r in reports)
    assert totals.reserved == 0
    assert 0 <= totals.spent - int(paid * 10**9) <= answered  # rounded up, one nano each


# -- the registered ledger: one budget for every gateway ------------------------------------------
async def test_installing_aexy_redis_shares_the_budget_of_every_gateway(
        redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from aexy import LLMGateway
    from aexy.assembly import select_ledger
    from aexy.contract.cost import PriceRef
    from aexy.plugins import PluginHost
    from aexy.settings import AexySettings
    from aexy.testing import FakeProvider

    class Priced(FakeProvider):
        def price_ref(self) -> PriceRef:
            return PriceRef(provider_id="anthropic")

    monkeypatch.setenv("REDIS_URL", redis_server.url)
    host = PluginHost()  # every installed plugin, aexy-redis among them
    settings = AexySettings(cache_backend="memory", AEXY_BUDGET_USD="0.15",
                            AEXY_BUDGET_NAME="shared-job")
    choice = select_ledger(settings, host)
    assert choice.spec.name == "redis" and "aexy-redis" in choice.reason
    code = "def add(a, b):\n    return a + b\n" * 40
    first, second = Priced(model="claude-sonnet-4-5"), Priced(model="claude-sonnet-4-5")
    async with LLMGateway(provider=first, plugins=host, settings=settings, cache=False) as a, \
            LLMGateway(provider=second, plugins=host, settings=settings, cache=False) as b:
        assert a.budget is not None and a.budget.ledger.name == "redis"
        answered = refused = 0
        for i in range(40):  # the two gateways take turns on one budget
            try:
                await (a if i % 2 else b).analyze("skill_extraction", f"{code}# {i}\n")
                answered += 1
            except BudgetExceededError:
                refused += 1
        assert a.budget is not None and b.budget is not None
        spent, held = await a.budget.totals()
    assert answered and refused and held == 0  # stopped mid-way
    assert len(first.calls) + len(second.calls) == answered
    assert 0 < spent <= Decimal("0.15")
    async with LLMGateway(provider="offline", plugins=host, settings=settings) as c:
        assert c.budget is not None and (await c.budget.totals())[0] == spent  # persisted
        await c.budget.ledger.reset()  # type: ignore[attr-defined]
