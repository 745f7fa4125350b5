"""Retries: only retryable codes, exponential backoff with full jitter, retry_after, deadline."""

from __future__ import annotations

import asyncio
import random

import pytest

from aexy.errors import ErrorCode, InvalidOutputError, LLMError
from aexy.gateway import LLMGateway
from aexy.plugins import PluginHost
from aexy.resilience import Deadline, RetryPolicy, VirtualClock
from aexy.settings import AexySettings
from aexy.testing import FakeProvider

from .conftest import CODE, BackupProvider, GatewayFactory, SlowProvider, err

# -- the policy on its own ---------------------------------------------------------------------


def test_backoff_ceiling_doubles_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=10, base=0.5, factor=2, cap=3.0)
    assert [policy.backoff(n, lambda: 1.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_full_jitter_spans_zero_to_ceiling() -> None:
    policy = RetryPolicy(base=1.0)
    rng = random.Random(7)
    draws = [policy.backoff(3, rng.random) for _ in range(2000)]
    assert min(draws) >= 0.0 and max(draws) <= 4.0
    assert min(draws) < 0.1 and max(draws) > 3.9  # the whole range, not a fixed delay


def test_non_retryable_and_exhausted_stop() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert policy.delay(err(ErrorCode.AUTHENTICATION_ERROR), 1, 100, lambda: 0.5) is None
    assert policy.delay(err(ErrorCode.OVERLOADED), 2, 100, lambda: 0.5) is not None
    assert policy.delay(err(ErrorCode.OVERLOADED), 3, 100, lambda: 0.5) is None


def test_retry_after_is_honoured_with_upward_jitter_only() -> None:
    policy = RetryPolicy(base=0.5, retry_after_jitter=0.1)
    e = err(ErrorCode.RATE_LIMIT_EXCEEDED, retry_after=7.0)
    assert policy.delay(e, 1, 100, lambda: 0.0) == 7.0
    assert policy.delay(e, 1, 100, lambda: 1.0) == pytest.approx(7.7)


def test_retry_after_beyond_deadline_stops_at_once() -> None:
    policy = RetryPolicy()
    assert policy.delay(err(ErrorCode.RATE_LIMIT_EXCEEDED, retry_after=30), 1, 29.9,
                        lambda: 0.0) is None
    # Inside the deadline but its jitter would overrun: the bare retry_after.
    assert policy.delay(err(ErrorCode.RATE_LIMIT_EXCEEDED, retry_after=9), 1, 9.5,
                        lambda: 1.0) == 9.0


def test_deadline_counts_down_on_the_injected_clock(vclock: VirtualClock) -> None:
    d = Deadline(vclock, 10)
    vclock.advance(4)
    assert d.remaining() == pytest.approx(6)
    vclock.advance(7)
    assert d.remaining() == 0.0 and d.expired


# -- through the gateway: every error family, alone and with a fallback --------------------------

RETRYABLE = [
    pytest.param(err(ErrorCode.RATE_LIMIT_EXCEEDED, status=429, retry_after=3.0), [3.3, 3.3],
                 id="429-retry-after"),
    pytest.param(err(ErrorCode.OVERLOADED, status=529), [0.5, 1.0], id="529-overloaded"),
    pytest.param(err(ErrorCode.OVERLOADED, status=503), [0.5, 1.0], id="503-overloaded"),
    pytest.param(err(ErrorCode.SERVER_ERROR, status=500), [0.5, 1.0], id="500"),
    pytest.param(err(ErrorCode.TIMEOUT), [0.5, 1.0], id="timeout"),
    pytest.param(err(ErrorCode.CONNECTION_ERROR, message="connection refused"), [0.5, 1.0],
                 id="connection-refused"),
]


@pytest.mark.parametrize(("error", "sleeps"), RETRYABLE)
async def test_retryable_error_is_retried_three_times_then_raised(
        make_gateway: GatewayFactory, vclock: VirtualClock, error: LLMError,
        sleeps: list[float]) -> None:
    primary = FakeProvider(replies=[error] * 3)
    gw = make_gateway(primary)
    with pytest.raises(LLMError) as info:
        await gw.analyze("code_quality", CODE)
    assert info.value.code is error.code
    assert len(primary.calls) == 3
    assert vclock.sleeps == pytest.approx(sleeps)
    assert gw.stats()["retries"] == {"fake": 2}


@pytest.mark.parametrize(("error", "sleeps"), RETRYABLE)
async def test_retryable_error_recovers_on_a_later_attempt(
        make_gateway: GatewayFactory, vclock: VirtualClock, error: LLMError,
        sleeps: list[float]) -> None:
    primary = FakeProvider(replies=[error, error])  # then a valid answer
    result = await make_gateway(primary).analyze("code_quality", CODE)
    assert len(primary.calls) == 3
    assert result.provenance.attempts == 3
    assert result.provenance.retries == 2
    assert result.provenance.provider == "fake" and not result.provenance.fallback
    assert vclock.sleeps == pytest.approx(sleeps)


@pytest.mark.parametrize(("error", "sleeps"), RETRYABLE)
async def test_retryable_error_exhausted_then_fallback_answers(
        make_gateway: GatewayFactory, error: LLMError, sleeps: list[float]) -> None:
    primary = FakeProvider(replies=[error] * 3)
    backup = BackupProvider(replies=[])
    result = await make_gateway(primary, fallbacks=(backup,)).analyze("code_quality", CODE)
    assert (len(primary.calls), len(backup.calls)) == (3, 1)
    p = result.provenance
    assert (p.provider, p.fallback, p.attempts, p.retries) == ("backup", True, 4, 2)
    assert p.failures == (f"fake/fake-model: {error.code.value}",) * 3


@pytest.mark.parametrize("code", [ErrorCode.AUTHENTICATION_ERROR, ErrorCode.BAD_REQUEST,
                                  ErrorCode.NOT_FOUND, ErrorCode.CONTEXT_LENGTH_EXCEEDED])
async def test_non_retryable_fails_at_once(make_gateway: GatewayFactory, vclock: VirtualClock,
                                           code: ErrorCode) -> None:
    primary = FakeProvider(replies=[err(code, status=401)])
    with pytest.raises(LLMError) as info:
        await make_gateway(primary).analyze("code_quality", CODE)
    assert info.value.code is code
    assert len(primary.calls) == 1 and vclock.sleeps == []


async def test_401_moves_to_the_fallback_without_retrying(make_gateway: GatewayFactory,
                                                         vclock: VirtualClock) -> None:
    primary = FakeProvider(replies=[err(ErrorCode.AUTHENTICATION_ERROR, status=401)])
    backup = BackupProvider(replies=[])
    result = await make_gateway(primary, fallbacks=(backup,)).analyze("code_quality", CODE)
    assert (len(primary.calls), len(backup.calls)) == (1, 1)
    assert result.provenance.attempts == 2 and result.provenance.retries == 0
    assert vclock.sleeps == []


async def test_invalid_output_is_repaired_once_then_falls_back(
        make_gateway: GatewayFactory, vclock: VirtualClock) -> None:
    primary = FakeProvider(replies=["not json", '{"still": "wrong"}'])
    backup = BackupProvider(replies=[])
    result = await make_gateway(primary, fallbacks=(backup,)).analyze("code_quality", CODE)
    assert (len(primary.calls), len(backup.calls)) == (2, 1)
    assert result.provenance.failures == ("fake/fake-model: invalid_output",)
    assert vclock.sleeps == []


async def test_invalid_output_alone_raises_invalid_output_error(
        make_gateway: GatewayFactory) -> None:
    primary = FakeProvider(replies=["not json", "nope"])
    with pytest.raises(InvalidOutputError):
        await make_gateway(primary).analyze("code_quality", CODE)
    assert len(primary.calls) == 2


async def test_repair_call_is_retried_on_its_own(make_gateway: GatewayFactory) -> None:
    primary = FakeProvider(replies=["not json", err(ErrorCode.OVERLOADED)])
    result = await make_gateway(primary).analyze("code_quality", CODE)
    assert len(primary.calls) == 3
    assert result.provenance.repaired and result.provenance.retries == 1


async def test_max_attempts_setting(make_gateway: GatewayFactory) -> None:
    primary = FakeProvider(replies=[err(ErrorCode.SERVER_ERROR)] * 10)
    with pytest.raises(LLMError):
        await make_gateway(primary, max_attempts=5).analyze("code_quality", CODE)
    assert len(primary.calls) == 5


# -- the deadline --------------------------------------------------------------------------------


async def test_retry_after_beyond_the_deadline_falls_back_without_sleeping(
        make_gateway: GatewayFactory, vclock: VirtualClock) -> None:
    primary = FakeProvider(replies=[err(ErrorCode.RATE_LIMIT_EXCEEDED, retry_after=60)])
    backup = BackupProvider(replies=[])
    gw = make_gateway(primary, fallbacks=(backup,), deadline_seconds=30)
    result = await gw.analyze("code_quality", CODE)
    assert (len(primary.calls), len(backup.calls)) == (1, 1)
    assert vclock.sleeps == []
    assert result.provenance.provider == "backup"


async def test_remaining_time_is_passed_as_the_request_timeout(
        make_gateway: GatewayFactory, vclock: VirtualClock) -> None:
    primary = SlowProvider(replies=[err(ErrorCode.OVERLOADED)], sleep=vclock.sleep, latency=2.0)
    await make_gateway(primary, deadline_seconds=30).analyze("code_quality", CODE)
    # 30 at first; then minus 2 s of call and the 0.5 s backoff.
    assert [c.timeout for c in primary.calls] == pytest.approx([30.0, 27.5])


async def test_per_call_timeout_overrides_the_setting(make_gateway: GatewayFactory) -> None:
    primary = FakeProvider(replies=[])
    await make_gateway(primary, deadline_seconds=30).analyze("code_quality", CODE, timeout=5)
    assert primary.calls[0].timeout == pytest.approx(5.0)


@pytest.mark.parametrize("seed", range(25))
async def test_no_sleep_ever_overruns_the_deadline(rhost: PluginHost, seed: int) -> None:
    clock = VirtualClock()
    rng = random.Random(seed)
    ends: list[float] = []
    deadline_at = clock() + 4.0

    async def sleep(delay: float) -> None:
        ends.append(clock() + delay)
        await clock.sleep(delay)

    replies = [err(rng.choice([ErrorCode.OVERLOADED, ErrorCode.TIMEOUT]),
                   retry_after=rng.choice([None, rng.uniform(0, 6)])) for _ in range(20)]
    primary = SlowProvider(replies=replies, sleep=clock.sleep, latency=rng.uniform(0, 1))
    gw = LLMGateway(provider=primary, fallbacks=(), plugins=rhost, cache=False, clock=clock,
                    sleep=sleep, random=rng.random,
                    settings=AexySettings(max_attempts=20, deadline_seconds=4.0,
                                          backoff_base=1.0))
    with pytest.raises(LLMError):
        await gw.analyze("code_quality", CODE)
    assert all(end < deadline_at for end in ends)
    # Each call was told how much time was left, and none was told more than there was.
    assert all(0 < c.timeout <= 4.0 for c in primary.calls)


async def test_hanging_provider_is_cut_at_the_deadline(rhost: PluginHost) -> None:
    # The real clock: the event loop enforces the deadline for a provider that ignores it.
    primary = SlowProvider(replies=[], gate=asyncio.Event())
    gw = LLMGateway(provider=primary, fallbacks=(), plugins=rhost, cache=False,
                    settings=AexySettings(max_attempts=1))
    with pytest.raises(LLMError) as info:
        await gw.analyze("code_quality", CODE, timeout=0.01)
    assert info.value.code is ErrorCode.TIMEOUT
    assert primary.cancelled == 1


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500", "retry-after": "2"}, 1.5),
        ({"retry-after-ms": "soon", "retry-after": "2"}, 2.0),
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # past date: now
        ({"retry-after": "whenever"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    from aexy.resilience.retry import parse_retry_after

    assert parse_retry_after(headers) == expected


def test_parse_retry_after_reads_a_future_http_date() -> None:
    import email.utils
    import time

    from aexy.resilience.retry import parse_retry_after

    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    seconds = parse_retry_after({"retry-after": when})
    assert seconds is not None and 100 < seconds <= 120


# -- the cutoff of one attempt (real time, tiny limits) -------------------------------------------
async def test_cutoff_turns_its_own_cancellation_into_a_timeout() -> None:
    from aexy.resilience.clock import Cutoff

    with pytest.raises(TimeoutError), Cutoff(0.01):
        await asyncio.Event().wait()
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0  # nothing left pending


async def test_cutoff_leaves_an_outside_cancellation_a_cancellation() -> None:
    from aexy.resilience.clock import Cutoff

    entered = asyncio.Event()

    async def attempt() -> None:
        with Cutoff(60):
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(attempt())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_cutoff_that_never_fires_changes_nothing() -> None:
    from aexy.resilience.clock import Cutoff

    with Cutoff(60):
        await asyncio.sleep(0)
    with pytest.raises(ValueError, match="raised inside"), Cutoff(60):
        raise ValueError("raised inside")
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0


async def test_a_short_cutoff_after_a_long_one_fires_on_time() -> None:
    """One watchdog timer serves every cutoff on a loop: a shorter cutoff moves it earlier."""
    from aexy.resilience.clock import Cutoff

    async def attempt(seconds: float) -> str:
        try:
            with Cutoff(seconds):
                await asyncio.Event().wait()
        except TimeoutError:
            return f"timed out after {seconds}"
        return "never"

    long = asyncio.create_task(attempt(60))
    await asyncio.sleep(0)  # the 60 s cutoff is in force first
    assert await attempt(0.01) == "timed out after 0.01"
    assert not long.done()  # the short one fired alone
    long.cancel()
    with pytest.raises(asyncio.CancelledError):
        await long


async def test_a_cutoff_still_fires_after_the_earlier_ones_ended() -> None:
    """The timer is not cancelled when a cutoff ends early; its wake-up finds nothing due and
    sets itself for the earliest cutoff left."""
    from aexy.resilience.clock import Cutoff, _watchdog_for

    loop = asyncio.get_running_loop()
    for _ in range(3):  # cutoffs that end well before their limit leave the timer set
        with Cutoff(0.005):
            pass
    with pytest.raises(TimeoutError), Cutoff(0.03):
        await asyncio.Event().wait()
    assert len(_watchdog_for(loop)) == 0  # nothing left watched


def test_the_watchdog_lets_a_closed_loop_go() -> None:
    import gc
    import weakref

    from aexy.resilience import clock

    async def one() -> None:
        with clock.Cutoff(60):  # its timer stays on the loop's heap when the block ends
            await asyncio.sleep(0)

    loop = asyncio.new_event_loop()
    loop.run_until_complete(one())
    loop.close()
    gone = weakref.ref(loop)
    del loop
    gc.collect()
    assert gone() is None
