"""The ``redis`` rate limiter against a Redis that is slow, killed, full, or flapping: real
redis-server processes and, where it matters, several real processes sharing one budget.

The guarantee measured here is the one ``docs/deployment.md`` states: a token bucket that starts
full admits at most ``capacity + rate * t`` calls in the first ``t`` seconds, and the processes
sharing the limiter stay within that together (to 5 %), while Redis is slow, while it is down
(each process at ``AEXY_REDIS_LIMITER_FALLBACK_SHARE`` = 1/N), and after it comes back.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import textwrap
import threading
import time
from typing import Any

import pytest
import redis.asyncio as redis_asyncio
from redis_server import RedisServer, command
from worker_processes import Workers

from aexy.gateway import LLMGateway
from aexy.plugins import PluginHost
from aexy.providers.base import RateLimits
from aexy.ratelimit import RateLimitWaitError
from aexy.settings import AexySettings
from aexy.testing import FakeProvider
from aexy_redis.backend import RedisCache
from aexy_redis.ratelimit import RedisRateLimiter
from conftest import ServerFactory, settings_for

CODE = "def add(a, b):\n    return a + b\n"


def check_envelope(grants: list[float], start_at: float, *, capacity: float, rate: float,
                   end_at: float) -> None:
    """At every grant, the grants so far are within what a full bucket allows by then, to 5 %
    (a process that falls back does not know what the others reserved since it last heard
    from Redis); and together they got most of it (the budget was shared, not just refused)."""
    for n, t in enumerate(sorted(grants), start=1):
        allowed = capacity + rate * max(0.0, t - start_at)
        assert n <= max(allowed * 1.05, allowed + 2), (
            f"{n} grants by {t - start_at:.2f}s, a full bucket allows {allowed:.1f}")
    assert len(grants) >= 0.8 * (capacity + rate * (end_at - start_at)), len(grants)


# -- a slow Redis -----------------------------------------------------------------------------


def slow_down(server: RedisServer, stop: threading.Event, seconds: float = 0.15) -> None:
    """Keep Redis busy ``seconds`` at a time, a few ms apart: every answer is slow."""
    while not stop.is_set():
        command(server.address, "DEBUG", "SLEEP", str(seconds), timeout=5)
        time.sleep(0.005)


async def test_a_slow_redis_is_waited_for_not_replaced(server_factory: ServerFactory) -> None:
    server = server_factory(extra=("--enable-debug-command", "local"))
    period, limit, run_for = 1.0, 20, 2.5
    lim = RedisRateLimiter("p/m", RateLimits(limit, None), period=period,
                           settings=settings_for(server))
    await lim.levels()  # connected
    stop = threading.Event()
    slower = threading.Thread(target=slow_down, args=(server, stop), daemon=True)
    start_at = time.monotonic()
    end_at = start_at + run_for
    grants: list[float] = []

    async def worker() -> None:
        while (left := end_at - time.monotonic()) > 0:
            try:
                await lim.acquire(1, max_wait=left)
            except RateLimitWaitError:
                return
            grants.append(time.monotonic())

    slower.start()
    try:
        await asyncio.gather(*(worker() for _ in range(8)))
    finally:
        stop.set()
        slower.join()
        await lim.aclose()
    snap = lim.snapshot()
    assert (snap["mode"], snap["fallback_calls"]) == ("redis", 0)  # slow, not unavailable
    check_envelope(grants, start_at, capacity=limit, rate=limit / period, end_at=end_at)


# -- three processes, Redis killed and restarted -------------------------------------------------

_WORKER = textwrap.dedent("""
    import asyncio, json, sys, time
    from aexy.providers.base import RateLimits
    from aexy.ratelimit import RateLimitWaitError
    from aexy_redis.ratelimit import RedisRateLimiter
    from aexy_redis.settings import RedisSettings

    url, limit, period, run_for, share = sys.argv[1:]
    limit, period, run_for, share = float(limit), float(period), float(run_for), float(share)

    async def main():
        lim = RedisRateLimiter("acct/model", RateLimits(limit, None), period=period,
                               settings=RedisSettings(url=url, limiter_fallback_share=share,
                                                      backoff_base=0.05, backoff_cap=0.1))
        await lim.levels()
        print("ready", flush=True)
        start_at = float(sys.stdin.readline())
        end_at = start_at + run_for
        grants, local = [], 0

        async def worker():
            nonlocal local
            while (left := end_at - time.time()) > 0:
                before = lim.fallback_calls
                try:
                    await lim.acquire(1, max_wait=left)
                except RateLimitWaitError:
                    return
                grants.append(time.time())
                local += lim.fallback_calls > before

        await asyncio.sleep(max(0.0, start_at - time.time()))
        await asyncio.gather(*(worker() for _ in range(4)))
        await lim.aclose()
        print(json.dumps({"grants": grants, "local": local,
                          "mode": lim.snapshot()["mode"]}))

    asyncio.run(main())
""")


def test_three_processes_keep_to_the_limit_through_an_outage(redis_server: RedisServer
                                                             ) -> None:
    limit, period, share = 30, 1.0, 1 / 3
    up, down, after = 1.5, 2.0, 1.5  # seconds with Redis up, killed, then back
    run_for = up + down + after
    args = [sys.executable, "-c", _WORKER, redis_server.url, str(limit), str(period),
            str(run_for), repr(share)]
    with Workers([args] * 3) as workers:
        start_at = time.time() + 0.3
        workers.go(repr(start_at))
        time.sleep(max(0.0, start_at + up - time.time()))
        redis_server.kill()
        time.sleep(max(0.0, start_at + up + down - time.time()))
        redis_server.start()  # empty: a full bucket, unless the outage is charged to it
        reports = workers.reports(timeout=60)
    grants = [t for r in reports for t in r["grants"]]
    assert all(r["local"] > 0 for r in reports)  # every process did fall back
    assert [r["mode"] for r in reports] == ["redis"] * 3  # and went back to Redis
    check_envelope(grants, start_at, capacity=limit, rate=limit / period,
                   end_at=start_at + run_for)


# -- a full Redis -----------------------------------------------------------------------------


async def fill(client: redis_asyncio.Redis) -> None:
    """Write until Redis refuses: ``maxmemory`` reached under ``noeviction``."""
    from redis.exceptions import OutOfMemoryError

    blob = b"x" * 65536
    for i in range(10_000):
        try:
            await client.set(f"junk:{i}", blob)
        except OutOfMemoryError:
            await client.config_set("maxmemory", "1mb")  # well over it: every write refused
            return
    raise AssertionError("Redis never filled up")


async def test_a_full_redis_is_reported_as_the_fallback_it_causes(
        server_factory: ServerFactory, caplog: pytest.LogCaptureFixture) -> None:
    server = server_factory(extra=("--maxmemory", "4mb", "--maxmemory-policy", "noeviction"))
    raw = redis_asyncio.Redis.from_url(server.url)
    lim = RedisRateLimiter("p/m", RateLimits(6000, None), settings=settings_for(server))
    try:
        assert await lim.acquire(1) == 0.0
        await fill(raw)
        with caplog.at_level(logging.WARNING, logger="aexy"):
            for _ in range(20):
                await lim.acquire(1)
        snap = lim.snapshot()
        assert snap["mode"] == "local fallback"
        assert "OutOfMemoryError" in snap["fallback_reason"]
        assert snap["fallback_calls"] == 20 and snap["granted"] == 1
        warnings = [r for r in caplog.records if "rate limiter of p/m" in r.getMessage()]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        await raw.config_set("maxmemory", "0")  # room again
        await lim.acquire(1)
        assert lim.snapshot()["mode"] == "redis" and lim.granted == 2
    finally:
        await raw.aclose()
        await lim.aclose()


# -- a flapping Redis: one warning per outage ---------------------------------------------------


async def test_a_flapping_redis_is_one_outage_for_the_cache_and_the_limiter(
        redis_server: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_for(redis_server, backoff_base=0.01, backoff_cap=0.02)
    limiter = RedisRateLimiter("fake/fake-model", RateLimits(60_000, None), settings=settings)
    gw = LLMGateway(FakeProvider(), plugins=PluginHost(entry_points=False), fallbacks=(),
                    cache=RedisCache(settings), settings=AexySettings())
    n = 0

    async def traffic(calls: int) -> None:
        nonlocal n
        for _ in range(calls):
            n += 1
            await limiter.acquire(1)
            await gw.analyze("code_quality", CODE + f"# {n}\n")
            await asyncio.sleep(0.03)  # past the pause before Redis is tried again

    caplog.set_level(logging.WARNING, logger="aexy")
    try:
        await traffic(3)
        for _ in range(3):  # down, up, down, up...
            redis_server.kill()
            await traffic(3)
            redis_server.start()
            await traffic(3)
    finally:
        await gw.aclose()
        await limiter.aclose()
    messages: list[Any] = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if m.startswith("cache backend redis")]) == 1, messages
    assert len([m for m in messages if "rate limiter of" in m]) == 1, messages
    assert limiter.snapshot()["mode"] == "redis"
