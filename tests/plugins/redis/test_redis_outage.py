"""Redis killed, paused or misconfigured: operations fail promptly with a typed error that holds
no secret, Redis is left alone for a growing pause, and everything works again once it is back.
(The core turns these errors into cache misses.)"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis_server import RedisServer

from aexy.errors import AexyError, ConfigurationError
from aexy.resilience import VirtualClock
from aexy_redis.backend import RedisCache
from aexy_redis.connection import Outage, RedisUnavailableError
from aexy_redis.settings import RedisSettings
from conftest import ServerFactory, reachable, settings_for

PASSWORD = "s3cret-Pa55word"


def backend(server: RedisServer, clock: VirtualClock, **options: Any) -> RedisCache:
    # No jitter: the pause is exactly base * 2^(failures - 1).
    return RedisCache(settings_for(server, **options), clock=clock, random=lambda: 1.0)


async def failure(awaitable: Any) -> RedisUnavailableError:
    """The error an operation raises, bounded by a generous outer guard: the backend's own
    timeout must fire first (an outer TimeoutError here means it did not)."""
    async with asyncio.timeout(5):
        with pytest.raises(RedisUnavailableError) as info:
            await awaitable
    return info.value


async def test_killed_redis_fails_fast_then_works_again_after_restart(
        redis_server: RedisServer) -> None:
    clock = VirtualClock()
    cache = backend(redis_server, clock)
    try:
        await cache.set("aexy:t:1", "before", 60)
        redis_server.kill()

        error = await failure(cache.get("aexy:t:1"))
        assert error.outage is True
        assert isinstance(error, AexyError)
        assert "ConnectionError" in str(error)
        assert error.retry_in == pytest.approx(0.1)  # AEXY_REDIS_BACKOFF_BASE

        redis_server.start()  # same port, empty (nothing is persisted)
        # Within the pause Redis is not even tried: the error comes at once, saying when.
        paused = await failure(cache.set("aexy:t:1", "x", 60))
        assert "next try in 0.10s" in str(paused)
        clock.advance(0.1)
        assert await cache.get("aexy:t:1") is None  # back, and the data died with the crash
        await cache.set("aexy:t:1", "after", 60)
        assert await cache.get("aexy:t:1") == "after"
        assert cache.connection.outage.down is False
    finally:
        await cache.aclose()


async def test_a_longer_outage_doubles_the_pause_and_counts_one_outage(
        redis_server: RedisServer) -> None:
    clock = VirtualClock()
    cache = backend(redis_server, clock, backoff_base=0.5, backoff_cap=3.0)
    try:
        await cache.get("aexy:t:warm")
        redis_server.kill()
        pauses = []
        for _ in range(5):
            error = await failure(cache.get("aexy:t:1"))
            pauses.append(error.retry_in)
            clock.advance(error.retry_in)
        assert pauses == pytest.approx([0.5, 1.0, 2.0, 3.0, 3.0])
        # Concurrent calls in flight when Redis died count as one failure, not one each.
        redis_server.start()
        await cache.get("aexy:t:1")
        redis_server.kill()
        results = await asyncio.gather(*(cache.get(f"aexy:t:{i}") for i in range(20)),
                                       return_exceptions=True)
        assert all(isinstance(r, RedisUnavailableError) for r in results)
        assert cache.connection.outage.failures == 1
        stats = await cache.stats()
        assert stats["outages"] == 2
        assert stats["errors"] >= 26  # 5 + 20 failed calls and the count just now
        assert stats["available"] is False
        assert "unavailable" in stats["error"] or "failed" in stats["error"]
    finally:
        await cache.aclose()


async def test_a_redis_that_stops_answering_times_out_at_the_configured_bound(
        redis_server: RedisServer) -> None:
    clock = VirtualClock()
    cache = backend(redis_server, clock, timeout=0.2)
    try:
        await cache.set("aexy:t:1", "v", 60)
        redis_server.pause()  # connections stay open; nothing answers
        error = await failure(cache.get("aexy:t:1"))
        assert "no answer within 0.2s (AEXY_REDIS_TIMEOUT)" in str(error)
        redis_server.resume()
        clock.advance(error.retry_in)
        assert await cache.get("aexy:t:1") == "v"
    finally:
        await cache.aclose()


async def test_an_error_redis_answers_with_is_not_an_outage(redis_server: RedisServer) -> None:
    clock = VirtualClock()
    cache = backend(redis_server, clock)
    try:
        import redis.asyncio as redis_asyncio

        raw = redis_asyncio.Redis.from_url(redis_server.url)
        await raw.hset("aexy:t:hash", "f", "v")  # someone else's hash under our prefix
        await raw.aclose()
        error = await failure(cache.get("aexy:t:hash"))
        assert error.outage is False
        assert "WRONGTYPE" in str(error)
        assert await cache.get("aexy:t:other") is None  # no pause: Redis is fine
    finally:
        await cache.aclose()


async def test_the_password_never_shows(server_factory: ServerFactory) -> None:
    server = server_factory(password=PASSWORD)
    assert PASSWORD in server.url
    clock = VirtualClock()
    cache = backend(server, clock)
    try:
        await cache.set("aexy:t:1", "v", 60)
        stats = await cache.stats()
        assert stats["url"] == f"redis://***@127.0.0.1:{server.port}/0"
        assert PASSWORD not in repr(cache) and PASSWORD not in repr(cache.connection)
        assert PASSWORD not in str(stats)
        server.kill()
        error = await failure(cache.get("aexy:t:1"))
        assert error.__context__ is None and error.__cause__ is None
        assert not [t for t in reachable(error) if PASSWORD in t]
        assert PASSWORD not in str(await cache.stats())
    finally:
        await cache.aclose()


async def test_a_wrong_password_is_reported_without_it(server_factory: ServerFactory) -> None:
    server = server_factory(password=PASSWORD)
    wrong = "Wr0ng-pa55word"
    cache = RedisCache(RedisSettings(url=server.url.replace(PASSWORD, wrong)))
    try:
        error = await failure(cache.get("aexy:t:1"))
        assert "AuthenticationError" in str(error)
        assert not [t for t in reachable(error) if wrong in t or PASSWORD in t]
    finally:
        await cache.aclose()


def test_a_bad_url_is_a_configuration_error_naming_redis_url() -> None:
    for url, reason in [("http://:pw-123@host:6379", "is not a Redis URL"),
                        ("redis+sentinel://:pw-123@h1:26379", "service name is missing"),
                        ("redis+cluster://:pw-123@h1:7000/3", "no database number"),
                        ("redis://:pw-123@host:6379/0?socket_timeout=abc", "Invalid value")]:
        with pytest.raises(ConfigurationError) as info:
            RedisCache(RedisSettings(url=url))
        assert info.value.env_var == "REDIS_URL"
        assert reason in str(info.value)
        assert "pw-123" not in str(info.value) and "***@" in str(info.value)
        assert info.value.__context__ is None


def test_outage_pause_grows_with_jitter_and_resets() -> None:
    clock = VirtualClock()
    draws = iter([0.0, 1.0, 0.5])
    outage = Outage(1.0, 10.0, clock=clock, random=lambda: next(draws))
    outage.failed(outage.epoch, "boom")
    assert outage.retry_in() == pytest.approx(0.5)  # half the pause at the lowest draw
    outage.failed(outage.epoch - 1, "an older call")  # already counted: no change
    assert outage.failures == 1
    outage.failed(outage.epoch, "boom")
    assert outage.retry_in() == pytest.approx(2.0)
    outage.failed(outage.epoch, "boom")
    assert outage.retry_in() == pytest.approx(3.0)  # 4 s * (0.5 + 0.25)
    outage.succeeded()
    assert (outage.down, outage.retry_in(), outage.outages) == (False, 0.0, 1)
