"""Request coalescing: identical concurrent requests make one provider call."""

from __future__ import annotations

import asyncio

import pytest

from aexy.errors import ErrorCode, LLMError
from aexy.resilience import SingleFlight
from aexy.testing import FakeProvider

from .conftest import CODE, GatewayFactory, SlowProvider, err, settle


async def test_thousand_identical_calls_make_one_provider_call(
        make_gateway: GatewayFactory) -> None:
    gate = asyncio.Event()
    provider = SlowProvider(replies=[], gate=gate)
    gw = make_gateway(provider, cache=None)
    tasks = [asyncio.create_task(gw.analyze("code_quality", CODE)) for _ in range(1000)]
    await settle(lambda: provider.started == 1)
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks)
    assert len(provider.calls) == 1
    assert len({r.model_dump_json() for r in results}) == 1
    assert len({id(r) for r in results}) == 1000  # each caller owns its object
    coalesced = [r for r in results if r.provenance.coalesced]
    assert len(coalesced) == 999
    assert sum(r.provenance.attempts for r in results) == 1  # provenance sums to real cost
    stats = gw.stats()
    assert stats["coalesced"] == 999 and stats["provider_calls"] == {"fake": 1}
    assert stats["in_flight"] == 0


async def test_an_uncached_call_asks_for_its_own_answer(make_gateway: GatewayFactory) -> None:
    # Uncached calls (use_cache=False, or caching off) never join another caller's flight: the
    # caller asked for a fresh answer, and only a cached call may share one.
    gate = asyncio.Event()
    for gw in (make_gateway(provider := SlowProvider(replies=[], gate=gate), cache=False),
               make_gateway(other := SlowProvider(replies=[], gate=gate))):
        tasks = [asyncio.create_task(gw.analyze("code_quality", CODE, use_cache=False))
                 for _ in range(5)]
        await asyncio.sleep(0)
        gate.set()
        await asyncio.gather(*tasks)
        gate.clear()
        assert gw.stats()["coalesced"] == 0
    assert len(provider.calls) == 5 and len(other.calls) == 5


async def test_coalescing_can_be_turned_off(make_gateway: GatewayFactory) -> None:
    gate = asyncio.Event()
    provider = SlowProvider(replies=[], gate=gate)
    gw = make_gateway(provider, coalesce=False)
    tasks = [asyncio.create_task(gw.analyze("code_quality", CODE)) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(*tasks)
    assert len(provider.calls) == 5


async def test_different_requests_are_not_coalesced(make_gateway: GatewayFactory) -> None:
    provider = FakeProvider(replies=[])
    gw = make_gateway(provider)
    await asyncio.gather(*(gw.analyze("code_quality", f"x = {i}") for i in range(5)),
                         gw.analyze("code_complexity", "x = 0"))
    assert len(provider.calls) == 6 and gw.stats()["coalesced"] == 0


async def test_an_error_reaches_every_waiter_and_is_not_cached(
        make_gateway: GatewayFactory) -> None:
    gate = asyncio.Event()
    provider = SlowProvider(replies=[err(ErrorCode.AUTHENTICATION_ERROR)], gate=gate)
    gw = make_gateway(provider, cache=None)
    tasks = [asyncio.create_task(gw.analyze("code_quality", CODE)) for _ in range(20)]
    await asyncio.sleep(0)
    gate.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(o, LLMError) and o.code is ErrorCode.AUTHENTICATION_ERROR
               for o in outcomes)
    assert len(provider.calls) == 1
    # The next identical request calls the provider again and succeeds.
    result = await gw.analyze("code_quality", CODE)
    assert len(provider.calls) == 2 and not result.provenance.cache_hit


async def test_a_cancelled_waiter_does_not_cancel_the_others(
        make_gateway: GatewayFactory) -> None:
    gate = asyncio.Event()
    provider = SlowProvider(replies=[], gate=gate)
    gw = make_gateway(provider, cache=None)
    tasks = [asyncio.create_task(gw.analyze("code_quality", CODE)) for _ in range(10)]
    await settle(lambda: provider.started == 1)
    tasks[0].cancel()  # the caller that started the call
    tasks[5].cancel()
    await asyncio.sleep(0)
    gate.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(outcomes[0], asyncio.CancelledError)
    assert isinstance(outcomes[5], asyncio.CancelledError)
    ok = [o for i, o in enumerate(outcomes) if i not in (0, 5)]
    assert all(o.provenance.provider == "fake" for o in ok)  # type: ignore[union-attr]
    assert len(provider.calls) == 1 and provider.cancelled == 0


async def test_when_every_waiter_leaves_the_call_is_cancelled(
        make_gateway: GatewayFactory) -> None:
    gate = asyncio.Event()
    provider = SlowProvider(replies=[], gate=gate)
    gw = make_gateway(provider, cache=None)
    tasks = [asyncio.create_task(gw.analyze("code_quality", CODE)) for _ in range(3)]
    await settle(lambda: provider.started == 1)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for _ in range(3):
        await asyncio.sleep(0)
    assert provider.cancelled == 1 and gw.stats()["in_flight"] == 0
    # A new identical request starts afresh.
    gate.set()
    assert (await gw.analyze("code_quality", CODE)).provenance.attempts == 1


async def test_singleflight_primitive_shared_flags() -> None:
    flights: SingleFlight[int] = SingleFlight()
    release = asyncio.Event()
    runs = 0

    async def work() -> int:
        nonlocal runs
        runs += 1
        await release.wait()
        return 42

    a = asyncio.create_task(flights.do("k", work))
    b = asyncio.create_task(flights.do("k", work))
    await asyncio.sleep(0)
    assert "k" in flights
    release.set()
    ra, rb = await a, await b
    assert runs == 1 and ra.value == rb.value == 42
    assert (ra.joined, rb.joined) == (False, True) and ra.shared and rb.shared
    alone = await flights.do("k", work)
    assert alone.joined is False and alone.shared is False and runs == 2


async def test_singleflight_error_is_forgotten() -> None:
    flights: SingleFlight[int] = SingleFlight()

    async def boom() -> int:
        raise RuntimeError("x")

    with pytest.raises(RuntimeError):
        await flights.do("k", boom)
    assert len(flights) == 0
