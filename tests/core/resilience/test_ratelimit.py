"""The local limiter (FIFO, reconciliation, deadline-bounded waits) and its use by the gateway."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aexy.errors import ConfigurationError, ErrorCode, LLMError
from aexy.gateway import LLMGateway
from aexy.hookspecs import hookimpl
from aexy.plugins import PluginHost
from aexy.providers.base import RateLimits
from aexy.ratelimit import (
    LocalRateLimiter,
    RateLimiter,
    RateLimiterSpec,
    RateLimitWaitError,
    TokenBucket,
    estimate_tokens,
)
from aexy.resilience import VirtualClock
from aexy.settings import AexySettings
from aexy.testing import FakeProvider, FakeSettings

from .conftest import CODE, BackupProvider, GatewayFactory, SlowProvider


def limiter(vclock: VirtualClock, rpm: float | None = None, tpm: int | None = None,
            period: float = 60.0) -> LocalRateLimiter:
    return LocalRateLimiter("p/m", RateLimits(rpm, tpm), clock=vclock, sleep=vclock.sleep,
                            period=period)


def test_estimate_is_prompt_chars_over_four_plus_max_output() -> None:
    assert estimate_tokens(4000, 512) == 1512


def test_bucket_refills_continuously_and_caps(vclock: VirtualClock) -> None:
    b = TokenBucket(60, 60, vclock)
    assert b.reserve(60) == 0.0
    assert b.reserve(3) == pytest.approx(3.0)  # three seconds of debt at 1/s
    vclock.advance(1000)
    assert b.available() == 60  # never above capacity


async def test_waiters_start_in_arrival_order(vclock: VirtualClock) -> None:
    lim = limiter(vclock, rpm=2)
    started: list[tuple[int, float]] = []

    async def one(i: int) -> None:
        await lim.acquire(1)
        started.append((i, vclock()))

    await asyncio.gather(*(one(i) for i in range(6)))
    t0 = 1000.0
    assert started == [(0, t0), (1, t0), (2, t0 + 30), (3, t0 + 60), (4, t0 + 90),
                       (5, t0 + 120)]


async def test_fifo_with_mixed_token_sizes(vclock: VirtualClock) -> None:
    lim = limiter(vclock, tpm=600)  # 10 tokens per second
    order: list[int] = []

    async def one(i: int, tokens: int) -> None:
        await lim.acquire(tokens)
        order.append(i)

    # A small request behind a big one waits its turn: no overtaking.
    await asyncio.gather(one(0, 600), one(1, 300), one(2, 10), one(3, 10))
    assert order == [0, 1, 2, 3]
    assert vclock() == pytest.approx(1000 + 32)


async def test_reconciliation_returns_the_unused_estimate(vclock: VirtualClock) -> None:
    lim = limiter(vclock, tpm=10_000)
    assert await lim.acquire(8_000) == 0.0
    lim.reconcile(8_000, 500)  # the call really used 500
    assert await lim.acquire(8_000) == 0.0  # would have waited 36 s without reconciliation
    assert lim.snapshot()["tokens_returned"] == 7_500


async def test_reconciliation_charges_an_underestimate(vclock: VirtualClock) -> None:
    lim = limiter(vclock, tpm=6_000)  # 100 per second
    await lim.acquire(1_000)
    lim.reconcile(1_000, 7_000)  # 6,000 more than reserved: 1,000 into debt
    assert await lim.acquire(100) == pytest.approx(11.0)


async def test_request_larger_than_capacity_still_goes_through(vclock: VirtualClock) -> None:
    lim = limiter(vclock, tpm=1_000)
    assert await lim.acquire(50_000) == 0.0
    assert await lim.acquire(1) > 0  # but the next one pays for it


async def test_wait_past_the_deadline_fails_at_once_and_gives_back(vclock: VirtualClock) -> None:
    lim = limiter(vclock, rpm=1)
    await lim.acquire(1)
    with pytest.raises(RateLimitWaitError) as info:
        await lim.acquire(1, max_wait=10)
    assert info.value.code is ErrorCode.RATE_LIMIT_EXCEEDED
    assert info.value.retry_after == pytest.approx(60)
    assert vclock.sleeps == []
    # The refused reservation was given back: the next caller is not pushed further out.
    assert await lim.acquire(1) == pytest.approx(60)


async def test_cancelled_waiter_gives_back_its_reservation(vclock: VirtualClock) -> None:
    lim = limiter(vclock, rpm=1)
    await lim.acquire(1)
    task = asyncio.create_task(lim.acquire(1))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert lim.requests is not None
    assert lim.requests.available() == pytest.approx(0.0)


def test_local_limiter_satisfies_the_protocol(vclock: VirtualClock) -> None:
    assert isinstance(limiter(vclock, rpm=1), RateLimiter)


# -- through the gateway ------------------------------------------------------------------------


def limited(rpm: float | None = None, tpm: int | None = None, **kw: Any) -> FakeProvider:
    return SlowProvider(FakeSettings(requests_per_minute=rpm, tokens_per_minute=tpm), **kw)


async def test_gateway_waits_its_turn_and_reports_it(make_gateway: GatewayFactory,
                                                     vclock: VirtualClock) -> None:
    gw = make_gateway(limited(rpm=2, replies=[]))
    results = await asyncio.gather(*(gw.analyze("code_quality", f"x = {i}") for i in range(4)))
    waits = sorted(r.provenance.rate_limit_wait_ms for r in results)
    assert waits == pytest.approx([0, 0, 30_000, 60_000])
    stats = gw.stats()
    assert stats["rate_limit"] == {"waits": 2, "waited_s": 90.0}
    assert stats["rate_limiters"]["fake/fake-model"]["requests_per_minute"] == 2


async def test_gateway_reconciles_with_the_reported_usage(make_gateway: GatewayFactory) -> None:
    provider = limited(tpm=100_000, replies=[])
    gw = make_gateway(provider)
    result = await gw.analyze("code_quality", CODE)
    snap = gw.stats()["rate_limiters"]["fake/fake-model"]
    used = result.provenance.input_tokens + result.provenance.output_tokens
    request = provider.calls[0]
    assert snap["reconciled"] == 1
    assert snap["tokens_returned"] == estimate_tokens(request.prompt_chars,
                                                      request.max_tokens) - used
    assert snap["available_tokens"] == pytest.approx(100_000 - used, abs=1)


async def test_wait_beyond_the_deadline_raises_rate_limit_exceeded(
        make_gateway: GatewayFactory, vclock: VirtualClock) -> None:
    provider = limited(rpm=1, replies=[])
    gw = make_gateway(provider, deadline_seconds=30)
    await gw.analyze("code_quality", CODE)
    with pytest.raises(LLMError) as info:
        await gw.analyze("code_quality", "other")
    assert isinstance(info.value, RateLimitWaitError)
    assert info.value.code is ErrorCode.RATE_LIMIT_EXCEEDED
    assert info.value.provider == "fake"
    assert len(provider.calls) == 1 and vclock.sleeps == []  # refused without waiting


async def test_limited_primary_hands_over_to_the_fallback(make_gateway: GatewayFactory) -> None:
    gw = make_gateway(limited(rpm=1, replies=[]), fallbacks=(BackupProvider(replies=[]),),
                      deadline_seconds=30)
    await gw.analyze("code_quality", CODE)
    result = await gw.analyze("code_quality", "other")
    assert result.provenance.provider == "backup"
    assert result.provenance.failures == ("fake/fake-model: rate_limit_exceeded",)
    assert gw.stats()["skipped"] == {"fake/fake-model:rate_limited": 1}


async def test_unlimited_provider_has_no_limiter(make_gateway: GatewayFactory) -> None:
    assert make_gateway(FakeProvider(replies=[])).stats()["rate_limiters"] == {}


async def test_unknown_limiter_names_its_variable(rhost: PluginHost) -> None:
    with pytest.raises(ConfigurationError) as info:
        LLMGateway(provider=limited(rpm=5), fallbacks=(), plugins=rhost,
                   settings=AexySettings(rate_limiter="nope"))
    assert info.value.env_var == "AEXY_RATE_LIMITER"


async def test_a_registered_limiter_replaces_the_local_one(rhost: PluginHost) -> None:
    calls: list[tuple[str, Any]] = []

    class Recording:
        def __init__(self, name: str, limits: RateLimits, **kw: Any) -> None:
            calls.append(("new", (name, limits)))

        async def acquire(self, tokens: int, *, max_wait: float | None = None) -> float:
            calls.append(("acquire", tokens))
            return 0.0

        def reconcile(self, estimated: int, actual: int) -> None:
            calls.append(("reconcile", (estimated, actual)))

    class Plugin:
        @hookimpl
        def register_rate_limiters(self) -> list[RateLimiterSpec]:
            return [RateLimiterSpec("shared", Recording, "test")]

    rhost.register(Plugin(), name="shared-limiter", distribution="test", version="0")
    gw = LLMGateway(provider=limited(rpm=10, tpm=1000, replies=[]), fallbacks=(),
                    plugins=rhost, cache=False, settings=AexySettings(rate_limiter="shared"))
    result = await gw.analyze("code_quality", CODE)
    kinds = [k for k, _ in calls]
    assert kinds == ["new", "acquire", "reconcile"]
    assert calls[0][1] == ("fake/fake-model", RateLimits(10, 1000))
    used = result.provenance.input_tokens + result.provenance.output_tokens
    assert calls[2][1] == (calls[1][1], used)
    assert gw.stats()["rate_limiters"]["fake/fake-model"] == {"limiter": "Recording"}


async def test_a_charge_pushes_back_requests_already_waiting(vclock: VirtualClock) -> None:
    lim = limiter(vclock, tpm=600)  # 10 tokens per second
    await lim.acquire(600)
    waiter = asyncio.create_task(lim.acquire(100))  # its turn: in 10 s
    await asyncio.sleep(0)
    lim.reconcile(600, 800)  # the first call used 200 more: 20 s more for everyone queued
    assert await waiter == pytest.approx(30.0)


async def test_a_refund_brings_waiting_requests_forward(vclock: VirtualClock) -> None:
    lim = limiter(vclock, tpm=600)
    await lim.acquire(600)
    first = asyncio.create_task(lim.acquire(100))  # due at 10 s
    second = asyncio.create_task(lim.acquire(100))  # due at 20 s
    await asyncio.sleep(0)
    lim.reconcile(600, 450)  # 150 back: the queue moves 15 s forward, in order
    assert await first == pytest.approx(0.0, abs=1e-6)
    assert await second == pytest.approx(5.0)


async def test_two_virtual_clocks_on_one_loop_both_advance() -> None:
    a, b = VirtualClock(), VirtualClock()
    await asyncio.gather(a.sleep(5), b.sleep(7), a.sleep(1))
    assert (a(), b()) == (5.0, 7.0)
