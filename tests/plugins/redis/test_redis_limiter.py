"""The ``redis`` rate limiter: the ``local`` limiter's behaviour (wait in turn, reconciliation,
deadline) on a budget shared through Redis, its fallback during an outage, and two processes
that stay within the limit together.

Single-process tests run in virtual time: the buckets' clock (``now=``) and the waits are a
:class:`VirtualClock`. A VirtualClock moves on whenever the event loop is idle, which includes
waiting for Redis, so the tests hold time still (:func:`still`) around Redis work that must land
before anyone wakes.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import pytest
from redis_server import RedisServer
from worker_processes import Workers

from aexy.errors import ErrorCode
from aexy.providers.base import RateLimits
from aexy.ratelimit import RateLimiter, RateLimitWaitError
from aexy.resilience import VirtualClock
from aexy_redis.connection import RedisConnection
from aexy_redis.ratelimit import RedisRateLimiter, limiter_key
from conftest import settings_for

T0 = 1000.0


@pytest.fixture
def vclock() -> VirtualClock:
    return VirtualClock(T0)


@pytest.fixture
async def make(redis_server: RedisServer, vclock: VirtualClock
               ) -> AsyncIterator[Any]:
    """``make(rpm, tpm, **kw)``: limiters named ``p/m`` on the test's Redis, in virtual time."""
    made: list[RedisRateLimiter] = []

    def build(rpm: float | None = None, tpm: int | None = None, *, server: RedisServer | None
              = None, **kw: Any) -> RedisRateLimiter:
        kw.setdefault("recheck", 3600.0)  # no polling unless a test is about it
        settings = settings_for(server or redis_server, **kw.pop("settings", {}))
        lim = RedisRateLimiter("p/m", RateLimits(rpm, tpm), clock=vclock, sleep=vclock.sleep,
                               now=vclock, settings=settings, **kw)
        made.append(lim)
        return lim

    yield build
    for lim in made:
        await lim.aclose()


@contextlib.asynccontextmanager
async def still() -> AsyncIterator[None]:
    """Virtual time stands still inside: a task that is always ready keeps the loop busy."""
    stop = False

    async def spin() -> None:
        while not stop:  # noqa: ASYNC110 - being always ready is the point
            await asyncio.sleep(0)

    spinner = asyncio.create_task(spin())
    try:
        yield
    finally:
        stop = True
        await spinner


async def start(lim: RedisRateLimiter, coro: Coroutine[Any, Any, float]) -> asyncio.Task[float]:
    """Start an acquire and return once Redis has granted its reservation (time held still)."""
    before = lim.granted
    async with still():
        task = asyncio.create_task(coro)
        while lim.granted == before and not task.done():  # noqa: ASYNC110
            await asyncio.sleep(0)
    return task


def test_the_redis_limiter_satisfies_the_protocol(make: Any) -> None:
    assert isinstance(make(rpm=1), RateLimiter)


async def test_waiters_start_in_arrival_order(make: Any, vclock: VirtualClock) -> None:
    lim = make(rpm=2)
    started: list[tuple[int, float]] = []

    async def one(i: int) -> float:
        waited = await lim.acquire(1)
        started.append((i, vclock()))
        return waited

    tasks = [await start(lim, one(i)) for i in range(6)]
    await asyncio.gather(*tasks)
    assert started == [(0, T0), (1, T0), (2, T0 + 30), (3, T0 + 60), (4, T0 + 90),
                       (5, T0 + 120)]
    assert lim.snapshot()["waits"] == 4


async def test_fifo_with_mixed_token_sizes(make: Any, vclock: VirtualClock) -> None:
    lim = make(tpm=600)  # 10 tokens per second
    order: list[int] = []

    async def one(i: int, tokens: int) -> float:
        waited = await lim.acquire(tokens)
        order.append(i)
        return waited

    # A small request behind a big one waits its turn: no overtaking.
    tasks = [await start(lim, one(i, n)) for i, n in enumerate((600, 300, 10, 10))]
    waits = await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3]
    assert waits == pytest.approx([0, 30, 31, 32])
    assert vclock() == pytest.approx(T0 + 32)


async def test_processes_share_one_budget(make: Any) -> None:
    # Two limiters with their own connections, as two processes would have.
    a, b = make(rpm=2), make(rpm=2)
    assert a.connection is not b.connection
    assert await a.acquire(1) == 0.0
    assert await b.acquire(1) == 0.0
    with pytest.raises(RateLimitWaitError):
        await b.acquire(1, max_wait=29)  # the next slot (30 s) is the shared budget's
    assert await a.acquire(1) == pytest.approx(30.0)


async def test_reconciliation_returns_the_unused_estimate(make: Any) -> None:
    lim = make(tpm=10_000)
    assert await lim.acquire(8_000) == 0.0
    lim.reconcile(8_000, 500)  # the call really used 500
    async with still():
        await lim.flush()
    assert await lim.acquire(8_000) == 0.0  # would have waited 36 s without reconciliation
    assert lim.snapshot()["tokens_returned"] == 7_500


async def test_reconciliation_charges_an_underestimate(make: Any) -> None:
    lim = make(tpm=6_000)  # 100 per second
    await lim.acquire(1_000)
    lim.reconcile(1_000, 7_000)  # 6,000 more than reserved: 1,000 into debt
    async with still():
        await lim.flush()
    assert await lim.acquire(100) == pytest.approx(11.0)


async def test_request_larger_than_capacity_still_goes_through(make: Any) -> None:
    lim = make(tpm=1_000)
    assert await lim.acquire(50_000) == 0.0
    assert await lim.acquire(1) > 0  # but the next one pays for it


async def test_a_charge_pushes_back_requests_already_waiting(make: Any) -> None:
    lim = make(tpm=600)  # 10 tokens per second
    await lim.acquire(600)
    waiter = await start(lim, lim.acquire(100))  # its turn: in 10 s
    lim.reconcile(600, 800)  # the first call used 200 more: 20 s more for everyone queued
    assert await waiter == pytest.approx(30.0)


async def test_a_refund_brings_waiting_requests_forward(make: Any) -> None:
    lim = make(tpm=600)
    await lim.acquire(600)
    first = await start(lim, lim.acquire(100))  # due at 10 s
    second = await start(lim, lim.acquire(100))  # due at 20 s
    lim.reconcile(600, 450)  # 150 back: the queue moves 15 s forward, in order
    assert await first == pytest.approx(0.0, abs=1e-6)
    assert await second == pytest.approx(5.0)


async def test_a_refund_in_another_process_reaches_waiters_at_the_next_recheck(
        make: Any, vclock: VirtualClock) -> None:
    here, elsewhere = make(tpm=600, recheck=1.0), make(tpm=600)
    await elsewhere.acquire(600)
    waiter = await start(here, here.acquire(100))  # due at 10 s
    async with still():
        elsewhere.reconcile(600, 450)  # 15 s back, made in the other "process"
        await elsewhere.flush()
    assert await waiter == pytest.approx(1.0)  # seen at the first recheck, 1 s in
    assert vclock.sleeps[:1] == [1.0]


async def test_wait_past_the_deadline_fails_at_once_and_takes_nothing(
        make: Any, vclock: VirtualClock) -> None:
    lim = make(rpm=1)
    await lim.acquire(1)
    with pytest.raises(RateLimitWaitError) as info:
        await lim.acquire(1, max_wait=10)
    assert info.value.code is ErrorCode.RATE_LIMIT_EXCEEDED
    assert info.value.retry_after == pytest.approx(60)
    assert "redis rate limit of p/m" in info.value.message
    assert vclock.sleeps == []
    # The refused reservation was never taken: the next caller is not pushed further out.
    assert await lim.acquire(1) == pytest.approx(60)
    assert lim.snapshot()["rejected"] == 1


async def test_a_charge_that_moves_a_waiter_past_its_deadline_refuses_it(make: Any) -> None:
    lim = make(tpm=600)
    await lim.acquire(600)
    waiter = await start(lim, lim.acquire(100, max_wait=15))  # due at 10 s, within 15
    lim.reconcile(600, 800)  # now due at 30 s: past the deadline
    with pytest.raises(RateLimitWaitError) as info:
        await waiter
    assert info.value.retry_after == pytest.approx(30.0)
    async with still():
        await lim.flush()
        levels = await lim.levels()
    assert levels["tokens"] == pytest.approx(-200.0)  # its 100 given back, the charge kept


async def test_cancelled_waiter_gives_back_its_reservation(make: Any) -> None:
    lim = make(rpm=1)
    await lim.acquire(1)
    task = await start(lim, lim.acquire(1))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with still():
        await lim.flush()
        assert (await lim.levels())["requests"] == pytest.approx(0.0)


async def test_cancelled_while_redis_decides_gives_back_what_it_granted(make: Any) -> None:
    lim = make(rpm=1)
    task = asyncio.create_task(lim.acquire(1))
    await asyncio.sleep(0)  # the reservation is on its way to Redis
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with still():
        await lim.flush()
        assert (await lim.levels())["requests"] == pytest.approx(1.0)  # nothing kept
    assert await lim.acquire(1) == 0.0


async def test_the_bucket_hash_expires_once_full_again(make: Any,
                                                       redis_server: RedisServer) -> None:
    import redis.asyncio as redis_asyncio

    lim = make(rpm=60, period=60.0)
    await lim.acquire(1)  # one request taken: full again one second later
    raw = redis_asyncio.Redis.from_url(redis_server.url)
    try:
        assert await raw.exists(limiter_key("", "p/m")) == 1
        assert 1_000 <= await raw.pttl(limiter_key("", "p/m")) <= 2_000
    finally:
        await raw.aclose()


# -- outage -----------------------------------------------------------------------------------


async def test_falls_back_to_its_share_of_what_was_left_and_bounds_redis_on_return(
        make: Any, redis_server: RedisServer, vclock: VirtualClock,
        caplog: pytest.LogCaptureFixture) -> None:
    lim = make(rpm=4, tpm=10_000,
               settings={"limiter_fallback_share": 0.5, "backoff_base": 5.0})
    assert await lim.acquire(100) == 0.0  # through Redis: 3 requests and 9,900 tokens left
    redis_server.kill()
    # Local budget: half of what Redis had left (1.5 requests), refilling at half the rate
    # (2 a minute): one call at once, the next 15 s later. Not a full bucket of 2.
    assert await lim.acquire(100) == 0.0
    assert await lim.acquire(100) == pytest.approx(15.0)
    snap = lim.snapshot()
    assert snap["mode"] == "local fallback" and "ConnectionError" in snap["fallback_reason"]
    lim.reconcile(100, 40)  # a call the fallback granted: reconciled locally
    assert lim.fallback.reconciled == 1
    with pytest.raises(RateLimitWaitError):
        await lim.acquire(100, max_wait=1)  # the deadline holds in the fallback too
    assert lim.fallback_calls == 3
    redis_server.start()  # restarted empty: a full bucket
    vclock.advance(10.0)  # past the pause before Redis is tried again
    # Redis again. Its buckets, full after the restart, are first brought down to what the
    # local ones hold over the share: 1/3 request left locally (refilled since), 2/3 for the
    # account. This call takes one, so it waits 1/3 request at 4 a minute: 5 s. Without the
    # bound it would get one of 4 restarted requests at once, after the two granted locally.
    assert await lim.acquire(100) == pytest.approx(5.0)
    async with still():
        levels = await lim.levels()
    assert levels["requests"] == pytest.approx(0.0, abs=1e-6)
    assert lim.snapshot()["mode"] == "redis" and lim.snapshot()["fallback_reason"] is None
    assert lim.granted == 2
    warnings = [r for r in caplog.records if "rate limiter of p/m" in r.getMessage()
                and r.levelname == "WARNING"]
    assert len(warnings) == 1  # one per outage, not one per call


async def test_a_process_that_never_reached_redis_starts_from_nothing(
        make: Any, redis_server: RedisServer) -> None:
    redis_server.kill()
    lim = make(rpm=60, settings={"limiter_fallback_share": 0.5})
    # Other processes may have spent the whole budget: only the share's refill is its own.
    assert await lim.acquire(1) == pytest.approx(2.0)  # 30 a minute at half of 60


# -- two processes, real time -------------------------------------------------------------------

_WORKER = textwrap.dedent("""
    import asyncio, json, sys, time
    from aexy.providers.base import RateLimits
    from aexy.ratelimit import RateLimitWaitError
    from aexy_redis.ratelimit import RedisRateLimiter
    from aexy_redis.settings import RedisSettings

    url, rpm, tpm, period, windows, estimate, actual, workers = sys.argv[1:]
    rpm, tpm, period = float(rpm) or None, int(tpm) or None, float(period)
    estimate, actual = int(estimate), int(actual)

    async def main():
        # A generous timeout: this test is about the shared budget, not the fallback.
        lim = RedisRateLimiter("acct/model", RateLimits(rpm, tpm), period=period,
                               settings=RedisSettings(url=url, timeout=2.0))
        await lim.levels()  # connected, scripts loaded
        print("ready", flush=True)
        start_at = float(sys.stdin.readline())  # the same instant for both processes
        end_at = start_at + int(windows) * period
        grants = []

        async def worker():
            while True:
                left = end_at - time.time()
                if left <= 0:
                    return
                try:
                    await lim.acquire(estimate, max_wait=left)
                except RateLimitWaitError:
                    return
                grants.append(time.time())
                if actual != estimate:
                    lim.reconcile(estimate, actual)

        await asyncio.sleep(max(0.0, start_at - time.time()))
        await asyncio.gather(*(worker() for _ in range(int(workers))))
        await lim.aclose()
        print(json.dumps({"grants": grants, "fallback": lim.fallback_calls}))

    asyncio.run(main())
""")


def run_two_processes(server: RedisServer, *, rpm: float = 0, tpm: int = 0, period: float,
                      windows: int, estimate: int = 1, actual: int = 1, workers: int = 4
                      ) -> tuple[float, list[float]]:
    args = [sys.executable, "-c", _WORKER, server.url, str(rpm), str(tpm), str(period),
            str(windows), str(estimate), str(actual), str(workers)]
    with Workers([args] * 2) as workers:
        start_at = time.time() + 0.2
        workers.go(repr(start_at))
        reports = workers.reports(timeout=60)
    grants: list[float] = []
    for report in reports:
        assert report["fallback"] == 0, "Redis was too slow: a process fell back to local"
        assert len(report["grants"]) > 0  # each process got its share
        grants += report["grants"]
    return start_at, sorted(grants)


def per_window(start_at: float, grants: list[float], period: float, windows: int) -> list[int]:
    counts = [0] * windows
    for t in grants:
        counts[min(windows - 1, max(0, int((t - start_at) // period)))] += 1
    return counts


def check_within(used: list[int], limit: int) -> None:
    """A token bucket holding one period's budget allows, from a full start, at most
    ``limit * (k + 2)`` by the end of window ``k``: the full bucket plus the refill. Both
    processes together must stay within that, to 5 %, at the end of every window (a grant
    recorded late on a busy machine only lowers these sums). And they must get most of what
    the windows after the first allow: the budget is shared, not just refused."""
    total = 0
    for k, n in enumerate(used):
        total += n
        assert total <= limit * (k + 2) * 1.05, (k, used)
    assert total >= limit * len(used) * 0.8, used


def test_two_processes_stay_within_the_request_limit_together(redis_server: RedisServer
                                                              ) -> None:
    limit, period, windows = 50, 1.0, 4  # 50 requests per 1-second window
    start_at, grants = run_two_processes(redis_server, rpm=limit, period=period,
                                         windows=windows)
    check_within(per_window(start_at, grants, period, windows), limit)


def test_two_processes_stay_within_the_token_limit_with_reconciliation(
        redis_server: RedisServer) -> None:
    # 2,500 tokens per window; each call is estimated at 100 and really uses 50, so the
    # budget admits 50 calls per window only if both processes' refunds are counted.
    limit, period, windows, estimate, actual = 2_500, 1.0, 4, 100, 50
    start_at, grants = run_two_processes(redis_server, tpm=limit, period=period,
                                         windows=windows, estimate=estimate, actual=actual)
    used = [n * actual for n in per_window(start_at, grants, period, windows)]
    check_within(used, limit)
    # Without the refunds the estimates alone would have stopped at half the real budget:
    # (one bucket + four refills) / 100 per call * 50 used = 6,250 tokens.
    assert sum(used) > limit * (windows + 1) / 2 * 1.2, used


def test_limiters_for_different_names_do_not_share(make: Any) -> None:
    assert limiter_key("", "openai/gpt-4o") != limiter_key("", "openai/gpt-4o-mini")
    assert limiter_key("staging:", "a/b") == "staging:aexy-ratelimit:{a/b}"
    assert limiter_key("", "we{ir}d/m") == "aexy-ratelimit:{we(ir)d/m}"  # one hash tag


async def test_the_connection_can_be_shared_and_is_then_not_closed(
        redis_server: RedisServer, vclock: VirtualClock) -> None:
    conn = RedisConnection(settings_for(redis_server))
    try:
        lim = RedisRateLimiter("p/m", RateLimits(10, None), connection=conn, now=vclock)
        assert await lim.acquire(1) == 0.0
        await lim.aclose()
        assert await conn.run(lambda c: c.ping(), what="PING") is True
    finally:
        await conn.aclose()
