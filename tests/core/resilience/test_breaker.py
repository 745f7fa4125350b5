"""The failure-rate circuit breaker: a sliding time window, a minimum number of calls, bounded
half-open trials; skipping without waiting; recovery. And under load: 10 % faults, even faults
that arrive together, never open it; a dead server opens it within one window."""

from __future__ import annotations

import asyncio
import random
from typing import Any, ClassVar

import pytest

from aexy.completion import Completion, CompletionRequest
from aexy.errors import ErrorCode, LLMError, LLMUnavailableError
from aexy.gateway import LLMGateway
from aexy.plugins import PluginHost
from aexy.resilience import BreakerState, CircuitBreaker, Permit, VirtualClock
from aexy.settings import AexySettings
from aexy.testing import FakeProvider, install_fake_provider

from .conftest import CODE, BackupProvider, GatewayFactory, SlowProvider, err, settle


def take(b: CircuitBreaker) -> Permit:
    permit = b.acquire()
    assert permit is not None, "the breaker refused a call it should allow"
    return permit


def calls(b: CircuitBreaker, *verdicts: bool) -> None:
    """One call per verdict (``True``: a retryable failure)."""
    for failed in verdicts:
        b.record(take(b), failed=failed)


def breaker(clock: VirtualClock, **kw: Any) -> CircuitBreaker:
    kw = {"failure_rate": 0.5, "window": 10.0, "minimum_calls": 10, "cooldown": 30.0,
          "half_open_calls": 3, **kw}
    return CircuitBreaker("p/m", clock=clock, **kw)


def test_never_opens_before_the_minimum_number_of_calls(vclock: VirtualClock) -> None:
    b = breaker(vclock)
    calls(b, *[True] * 9)
    assert b.state is BreakerState.CLOSED and b.snapshot()["window_failures"] == 9
    calls(b, True)
    assert b.state is BreakerState.OPEN and b.acquire() is None
    assert b.snapshot()["rejected"] == 1 and b.snapshot()["times_opened"] == 1


def test_opens_at_the_failure_rate_not_at_a_run_of_failures(vclock: VirtualClock) -> None:
    b = breaker(vclock)
    calls(b, *[False] * 10, *[True] * 9)  # 9 failures in a row, 47 %: stays closed
    assert b.state is BreakerState.CLOSED
    assert b.snapshot()["window_failure_rate"] == pytest.approx(9 / 19, abs=1e-4)
    calls(b, False)  # a success never opens it
    assert b.state is BreakerState.CLOSED
    calls(b, True, True)  # 11 of 22: 50 %
    assert b.state is BreakerState.OPEN


def test_old_verdicts_slide_out_of_the_window(vclock: VirtualClock) -> None:
    b = breaker(vclock)
    calls(b, *[True] * 9)
    vclock.advance(10.0)  # a whole window later the failures are gone
    calls(b, True)
    assert b.state is BreakerState.CLOSED
    assert (b.snapshot()["window_calls"], b.snapshot()["window_failures"]) == (1, 1)
    vclock.advance(5.0)  # half a window: that failure is still in it
    calls(b, *[True] * 8)
    assert b.state is BreakerState.CLOSED and b.snapshot()["window_calls"] == 9
    calls(b, True)
    assert b.state is BreakerState.OPEN


def test_half_open_lets_a_bounded_number_of_trials_through(vclock: VirtualClock) -> None:
    b = breaker(vclock, minimum_calls=1)
    calls(b, True)
    vclock.advance(29.9)
    assert b.acquire() is None and b.retry_in() == pytest.approx(0.1)
    vclock.advance(0.1)
    assert b.state is BreakerState.HALF_OPEN
    trials = [take(b) for _ in range(3)]
    assert all(t.trial for t in trials)
    assert b.acquire() is None and not b.allows()  # the fourth caller is turned away
    b.record(trials[0], failed=True)
    assert b.state is BreakerState.HALF_OPEN  # 1 of 3 failed: not yet 50 %
    b.record(trials[1], failed=True)  # 2 of 3: open for another cool-down
    assert b.state is BreakerState.OPEN and b.times_opened == 2
    b.record(trials[2], failed=False)  # a trial of the last round, finishing late: stale
    assert b.state is BreakerState.OPEN
    vclock.advance(30)
    calls(b, False, True)  # one failed trial of three is below 50 %
    assert b.state is BreakerState.HALF_OPEN
    calls(b, False)
    assert b.state is BreakerState.CLOSED and b.snapshot()["window_calls"] == 0


def test_an_abandoned_trial_frees_its_slot(vclock: VirtualClock) -> None:
    b = breaker(vclock, minimum_calls=1, half_open_calls=1)
    calls(b, True)
    vclock.advance(30)
    trial = take(b)
    assert b.acquire() is None
    b.release(trial)
    assert b.acquire() is not None


def test_stale_verdicts_do_not_move_the_circuit(vclock: VirtualClock) -> None:
    b = breaker(vclock, minimum_calls=2)
    early = [take(b) for _ in range(3)]  # admitted while closed, finishing late
    b.record(early[0], failed=True)
    b.record(early[1], failed=True)
    assert b.state is BreakerState.OPEN
    b.record(early[2], failed=True)
    vclock.advance(30)
    trial = take(b)
    b.record(early[2], failed=False)
    assert b.state is BreakerState.HALF_OPEN
    b.record(trial, failed=False)
    calls(b, False)
    assert b.state is BreakerState.CLOSED
    b.record(early[1], failed=True)  # from before the last close: not counted
    assert b.snapshot()["window_calls"] == 0


@pytest.mark.parametrize("kw", [{"failure_rate": 0.0}, {"threshold": 0}])
def test_a_rate_of_zero_or_the_old_threshold_of_zero_disables(vclock: VirtualClock,
                                                               kw: dict[str, Any]) -> None:
    b = breaker(vclock, **kw)
    calls(b, *[True] * 100)
    assert b.state is BreakerState.CLOSED and not b.enabled


def test_settings_build_the_breaker(monkeypatch: pytest.MonkeyPatch,
                                    vclock: VirtualClock) -> None:
    for name, value in {"AEXY_BREAKER_FAILURE_RATE": "0.25", "AEXY_BREAKER_WINDOW": "120",
                        "AEXY_BREAKER_MIN_CALLS": "40", "AEXY_BREAKER_COOLDOWN": "9",
                        "AEXY_BREAKER_HALF_OPEN_CALLS": "5"}.items():
        monkeypatch.setenv(name, value)
    b = CircuitBreaker.from_settings("p/m", AexySettings(), clock=vclock)
    assert (b.failure_rate, b.window, b.minimum_calls, b.cooldown, b.half_open_calls) == (
        0.25, 120.0, 40, 9.0, 5)


def test_the_old_threshold_setting_warns_and_is_ignored(monkeypatch: pytest.MonkeyPatch,
                                                        vclock: VirtualClock) -> None:
    monkeypatch.setenv("AEXY_BREAKER_THRESHOLD", "5")
    with pytest.warns(DeprecationWarning, match="AEXY_BREAKER_FAILURE_RATE"):
        settings = AexySettings()
    assert CircuitBreaker.from_settings("p/m", settings, clock=vclock).enabled


@pytest.mark.parametrize("kw", [{"failure_rate": 1.5}, {"window": 0}, {"minimum_calls": 0},
                                {"half_open_calls": 0}])
def test_bad_parameters_are_refused(vclock: VirtualClock, kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        breaker(vclock, **kw)


# -- through the gateway ---------------------------------------------------------------------------

FAST = {"breaker_min_calls": 5, "breaker_failure_rate": 0.5, "breaker_cooldown": 30}


async def test_open_circuit_is_skipped_without_calling_or_waiting(
        make_gateway: GatewayFactory, vclock: VirtualClock) -> None:
    primary = FakeProvider(replies=[err(ErrorCode.OVERLOADED)] * 100)
    backup = BackupProvider(replies=[])
    gw = make_gateway(primary, fallbacks=(backup,), **FAST)
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


async def test_recovers_through_half_open_trials(make_gateway: GatewayFactory,
                                                 vclock: VirtualClock) -> None:
    primary = FakeProvider(replies=[err(ErrorCode.SERVER_ERROR)] * 5)  # then healthy
    gw = make_gateway(primary, fallbacks=("backup",), **FAST)
    await gw.analyze("code_quality", CODE)
    await gw.analyze("code_quality", CODE)
    assert gw.stats()["breakers"]["fake/fake-model"]["state"] == "open"
    vclock.advance(31)
    assert gw.stats()["breakers"]["fake/fake-model"]["state"] == "half_open"
    for i in range(2):  # two successful trials of three: the rate cannot reach 50 %
        result = await gw.analyze("code_quality", f"x = {i}")
        assert result.provenance.provider == "fake"
    assert len(primary.calls) == 7
    assert gw.stats()["breakers"]["fake/fake-model"]["state"] == "closed"


async def test_only_the_allowed_trials_reach_the_provider(make_gateway: GatewayFactory,
                                                          vclock: VirtualClock) -> None:
    gate = asyncio.Event()
    primary = SlowProvider(replies=[err(ErrorCode.TIMEOUT)] * 5, gate=None)
    gw = make_gateway(primary, fallbacks=("backup",), breaker_half_open_calls=2, **FAST)
    await gw.analyze("code_quality", CODE)
    await gw.analyze("code_quality", "other content")
    assert primary.started == 5
    vclock.advance(30)
    primary.gate = gate  # the trial calls hang until released
    tasks = [asyncio.create_task(gw.analyze("code_quality", f"x = {i}")) for i in range(6)]
    await settle(lambda: primary.started == 7)
    done = await asyncio.gather(*tasks[2:])  # the others went to the backup at once
    assert {r.provenance.provider for r in done} == {"backup"}
    gate.set()
    trials = await asyncio.gather(*tasks[:2])
    assert {r.provenance.provider for r in trials} == {"fake"} and primary.started == 7


async def test_non_retryable_errors_never_open_the_circuit(make_gateway: GatewayFactory) -> None:
    primary = FakeProvider(replies=[err(ErrorCode.AUTHENTICATION_ERROR)] * 20)
    gw = make_gateway(primary, fallbacks=("backup",), **FAST)
    for _ in range(10):
        await gw.analyze("code_quality", CODE)
    assert len(primary.calls) == 10
    assert gw.stats()["breakers"]["fake/fake-model"]["state"] == "closed"


async def test_single_provider_with_open_circuit_fails_fast(make_gateway: GatewayFactory) -> None:
    primary = FakeProvider(replies=[err(ErrorCode.OVERLOADED)] * 5)
    gw = make_gateway(primary, **FAST)
    for _ in range(2):  # 3 failures, then 2 that open the circuit
        with pytest.raises(LLMError):
            await gw.analyze("code_quality", CODE)
    with pytest.raises(LLMUnavailableError) as info:
        await gw.analyze("code_quality", CODE)
    assert info.value.last_code == "circuit_open" and len(primary.calls) == 5


async def test_breakers_are_per_provider_and_model(make_gateway: GatewayFactory) -> None:
    a = FakeProvider(model="m-a", replies=[err(ErrorCode.OVERLOADED)] * 5)
    b = FakeProvider(model="m-b", replies=[])
    gw = make_gateway(a, fallbacks=(b,), **FAST)
    await gw.analyze("code_quality", CODE)
    await gw.analyze("code_quality", CODE + "#")
    states = {k: v["state"] for k, v in gw.stats()["breakers"].items()}
    assert states == {"fake/m-a": "open", "fake/m-b": "closed"}


# -- under load (virtual time) -------------------------------------------------------------------


class StallingServer(FakeProvider):
    """A provider taking 50-150 ms per call that fails a share of its calls.

    ``stall``: the share of every second during which the server stalls; every call that
    starts then times out together with the others in flight (correlated faults, as a real
    stall gives). ``fault_rate``: independent faults on top. ``dead``: every call fails."""

    name: ClassVar[str] = "loaded"

    def __init__(self, clock: VirtualClock, *, stall: float = 0.0, fault_rate: float = 0.0,
                 dead: bool = False, seed: int = 7) -> None:
        super().__init__(replies=[])
        self.clock, self.stall, self.fault_rate, self.dead = clock, stall, fault_rate, dead
        self.rng = random.Random(seed)
        self.made = 0
        self.failed = 0

    async def complete(self, request: CompletionRequest) -> Completion:
        self.made += 1
        stalled = self.clock() % 1.0 < self.stall
        await self.clock.sleep(self.rng.uniform(0.05, 0.15))
        if self.dead or stalled or self.rng.random() < self.fault_rate:
            self.failed += 1
            raise LLMError("injected", code=ErrorCode.TIMEOUT if stalled else
                           ErrorCode.CONNECTION_ERROR, provider=self.name, model=self.model)
        self.calls.clear()  # memory stays flat
        return await super().complete(request)


async def load(provider: StallingServer, clock: VirtualClock, *, requests: int,
               concurrency: int) -> tuple[int, dict[str, Any], list[float]]:
    """``requests`` analyses at ``concurrency``; the results, the breaker's snapshot and the
    virtual times at which it refused a call."""
    host = PluginHost(entry_points=False)
    install_fake_provider(host, StallingServer)
    gw = LLMGateway(provider=provider, fallbacks=(), plugins=host, cache=False, clock=clock,
                    sleep=clock.sleep, random=random.Random(1).random, settings=AexySettings())
    gate = asyncio.Semaphore(concurrency)
    ok = 0
    refused: list[float] = []

    async def one(i: int) -> None:
        nonlocal ok
        async with gate:
            try:
                await gw.analyze("code_quality", f"def f{i}(x):\n    return x * {i}\n")
            except LLMUnavailableError:
                refused.append(clock())
            except LLMError:
                pass
            else:
                ok += 1

    async with asyncio.timeout(120):  # real time: a hang fails the test
        await asyncio.gather(*(one(i) for i in range(requests)))
    snapshot = gw.stats()["breakers"]["loaded/fake-model"]
    await gw.aclose()
    return ok, snapshot, refused


async def test_ten_percent_faults_that_arrive_together_never_open_it() -> None:
    # 10 % of every second the server stalls: every call started then fails at once, a run of
    # dozens of consecutive timeouts under concurrency (the old breaker opened on five).
    clock = VirtualClock(start=0.5)  # traffic starts between two stalls
    server = StallingServer(clock, stall=0.10)
    ok, snapshot, refused = await load(server, clock, requests=3_000, concurrency=256)
    assert (snapshot["times_opened"], snapshot["rejected"], refused) == (0, 0, [])
    assert 0.07 < server.failed / server.made < 0.13  # the fault rate is what it says
    assert ok >= 2_970  # retries carry (nearly) every call through


async def test_ten_percent_independent_faults_never_open_it() -> None:
    clock = VirtualClock()
    server = StallingServer(clock, fault_rate=0.10)
    ok, snapshot, refused = await load(server, clock, requests=3_000, concurrency=256)
    assert (snapshot["times_opened"], refused) == (0, [])
    assert ok >= 2_970


async def test_a_dead_server_opens_it_within_one_window() -> None:
    clock = VirtualClock()
    server = StallingServer(clock, dead=True)
    settings = AexySettings()
    ok, snapshot, refused = await load(server, clock, requests=400, concurrency=4)
    assert ok == 0 and snapshot["times_opened"] >= 1
    assert refused and refused[0] < settings.breaker_window  # opened within the first window
    # Once open, calls are refused without reaching the server: far fewer calls than the
    # 400 requests x 3 attempts a breaker-less client would make.
    assert server.made < 400
