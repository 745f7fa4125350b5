"""The circuit breaker: opening, skipping without waiting, half-open trial, recovery."""

from __future__ import annotations

import asyncio

import pytest

from aexy.errors import ErrorCode, LLMError, LLMUnavailableError
from aexy.resilience import BreakerState, CircuitBreaker, Permit, VirtualClock
from aexy.testing import FakeProvider

from .conftest import CODE, BackupProvider, GatewayFactory, SlowProvider, err, settle


def take(b: CircuitBreaker) -> Permit:
    permit = b.acquire()
    assert permit is not None, "the breaker refused a call it should allow"
    return permit


def test_opens_after_threshold_consecutive_retryable_failures(vclock: VirtualClock) -> None:
    b = CircuitBreaker("p/m", threshold=3, cooldown=30, clock=vclock)
    for _ in range(2):
        permit = b.acquire()
        assert permit is not None
        b.record(permit, failed=True)
    assert b.state is BreakerState.CLOSED
    permit = b.acquire()
    assert permit is not None
    b.record(permit, failed=True)
    assert b.state is BreakerState.OPEN and b.acquire() is None
    assert b.snapshot()["rejected"] == 1 and b.snapshot()["times_opened"] == 1


def test_a_healthy_answer_resets_the_count(vclock: VirtualClock) -> None:
    b = CircuitBreaker("p/m", threshold=2, cooldown=30, clock=vclock)
    for failed in (True, False, True, False, True):
        permit = b.acquire()
        assert permit is not None
        b.record(permit, failed=failed)
    assert b.state is BreakerState.CLOSED


def test_half_open_lets_exactly_one_trial_through(vclock: VirtualClock) -> None:
    b = CircuitBreaker("p/m", threshold=1, cooldown=30, clock=vclock)
    b.record(take(b), failed=True)
    vclock.advance(29.9)
    assert b.acquire() is None and b.retry_in() == pytest.approx(0.1)
    vclock.advance(0.1)
    assert b.state is BreakerState.HALF_OPEN
    trial = b.acquire()
    assert trial is not None and trial.trial
    assert b.acquire() is None and not b.allows()  # the second caller is turned away
    b.record(trial, failed=True)  # trial failed: open for another cool-down
    assert b.state is BreakerState.OPEN and b.times_opened == 2
    vclock.advance(30)
    trial = b.acquire()
    assert trial is not None
    b.record(trial, failed=False)
    assert b.state is BreakerState.CLOSED and b.acquire() is not None


def test_an_abandoned_trial_frees_the_slot(vclock: VirtualClock) -> None:
    b = CircuitBreaker("p/m", threshold=1, cooldown=5, clock=vclock)
    b.record(take(b), failed=True)
    vclock.advance(5)
    trial = b.acquire()
    assert trial is not None and b.acquire() is None
    b.release(trial)
    assert b.acquire() is not None


def test_stale_results_do_not_move_a_half_open_circuit(vclock: VirtualClock) -> None:
    b = CircuitBreaker("p/m", threshold=1, cooldown=5, clock=vclock)
    early = b.acquire()
    assert early is not None
    b.record(take(b), failed=True)
    vclock.advance(5)
    trial = b.acquire()
    assert trial is not None
    b.record(early, failed=False)  # admitted while closed, finishing late
    assert b.state is BreakerState.HALF_OPEN


def test_threshold_zero_disables(vclock: VirtualClock) -> None:
    b = CircuitBreaker("p/m", threshold=0, cooldown=5, clock=vclock)
    for _ in range(100):
        b.record(take(b), failed=True)
    assert b.state is BreakerState.CLOSED


# -- through the gateway ---------------------------------------------------------------------------


async def test_open_circuit_is_skipped_without_calling_or_waiting(
        make_gateway: GatewayFactory, vclock: VirtualClock) -> None:
    primary = FakeProvider(replies=[err(ErrorCode.OVERLOADED)] * 100)
    backup = BackupProvider(replies=[])
    gw = make_gateway(primary, fallbacks=(backup,), breaker_threshold=5, breaker_cooldown=30)
    first = await gw.analyze("code_quality", CODE)  # 3 failures
    assert first.provenance.provider == "backup"
    second = await gw.analyze("code_quality", CODE)  # 2 more: open, the third retry skipped
    assert len(primary.calls) == 5
    assert second.provenance.failures[-1] == "fake/fake-model: circuit_open"
    assert gw.stats()["breakers"]["fake/fake-model"]["state"] == "open"
    sleeps_before = len(vclock.sleeps)
    for _ in range(10):
        result = await gw.analyze("code_quality", CODE)
        assert result.provenance.failures == ("fake/fake-model: circuit_open",)
        assert result.provenance.attempts == 1
    assert len(primary.calls) == 5 and len(vclock.sleeps) == sleeps_before
    assert gw.stats()["skipped"]["fake/fake-model:circuit_open"] == 11


async def test_recovers_through_a_half_open_trial(make_gateway: GatewayFactory,
                                                  vclock: VirtualClock) -> None:
    primary = FakeProvider(replies=[err(ErrorCode.SERVER_ERROR)] * 5)  # then healthy
    gw = make_gateway(primary, fallbacks=("backup",), breaker_threshold=5, breaker_cooldown=30)
    await gw.analyze("code_quality", CODE)
    await gw.analyze("code_quality", CODE)
    assert gw.stats()["breakers"]["fake/fake-model"]["state"] == "open"
    vclock.advance(31)
    assert gw.stats()["breakers"]["fake/fake-model"]["state"] == "half_open"
    result = await gw.analyze("code_quality", CODE)
    assert result.provenance.provider == "fake" and len(primary.calls) == 6
    assert gw.stats()["breakers"]["fake/fake-model"]["state"] == "closed"


async def test_only_one_concurrent_caller_gets_the_trial(make_gateway: GatewayFactory,
                                                         vclock: VirtualClock) -> None:
    gate = asyncio.Event()
    primary = SlowProvider(replies=[err(ErrorCode.TIMEOUT)] * 5, gate=None)
    gw = make_gateway(primary, fallbacks=("backup",), breaker_threshold=5, breaker_cooldown=30)
    await gw.analyze("code_quality", CODE)
    await gw.analyze("code_quality", "other content")
    vclock.advance(30)
    primary.gate = gate  # the trial call will hang until released
    tasks = [asyncio.create_task(gw.analyze("code_quality", f"x = {i}")) for i in range(5)]
    await settle(lambda: primary.started == 6)
    done = await asyncio.gather(*tasks[1:])  # the others went to the backup at once
    assert {r.provenance.provider for r in done} == {"backup"}
    gate.set()
    trial = await tasks[0]
    assert trial.provenance.provider == "fake" and primary.started == 6


async def test_non_retryable_errors_never_open_the_circuit(make_gateway: GatewayFactory) -> None:
    primary = FakeProvider(replies=[err(ErrorCode.AUTHENTICATION_ERROR)] * 20)
    gw = make_gateway(primary, fallbacks=("backup",), breaker_threshold=2)
    for _ in range(10):
        await gw.analyze("code_quality", CODE)
    assert len(primary.calls) == 10
    assert gw.stats()["breakers"]["fake/fake-model"]["state"] == "closed"


async def test_single_provider_with_open_circuit_fails_fast(make_gateway: GatewayFactory,
                                                             vclock: VirtualClock) -> None:
    primary = FakeProvider(replies=[err(ErrorCode.OVERLOADED)] * 3)
    gw = make_gateway(primary, breaker_threshold=3)
    with pytest.raises(LLMError):
        await gw.analyze("code_quality", CODE)
    with pytest.raises(LLMUnavailableError) as info:
        await gw.analyze("code_quality", CODE)
    assert info.value.last_code == "circuit_open" and len(primary.calls) == 3


async def test_breakers_are_per_provider_and_model(make_gateway: GatewayFactory) -> None:
    a = FakeProvider(model="m-a", replies=[err(ErrorCode.OVERLOADED)] * 3)
    b = FakeProvider(model="m-b", replies=[])
    gw = make_gateway(a, fallbacks=(b,), breaker_threshold=3)
    await gw.analyze("code_quality", CODE)
    states = {k: v["state"] for k, v in gw.stats()["breakers"].items()}
    assert states == {"fake/m-a": "open", "fake/m-b": "closed"}
