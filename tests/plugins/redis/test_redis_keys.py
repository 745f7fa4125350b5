"""The cache and the rate limiter share a Redis but not their keys: clearing or counting the
cache (``clear_cache()``, ``aexy cache clear``, ``aexy cache stats``) never touches a limiter's
buckets, so clearing the cache never hands out a fresh rate-limit budget."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
import redis.asyncio as redis_asyncio
from redis_server import RedisServer

from aexy.gateway import LLMGateway
from aexy.plugins import PluginHost
from aexy.providers.base import RateLimits
from aexy.resilience import VirtualClock
from aexy.settings import AexySettings
from aexy.testing import FakeProvider
from aexy_redis.backend import ROOT_PREFIX, RedisCache
from aexy_redis.ratelimit import RedisRateLimiter, limiter_key
from conftest import settings_for

CODE = "def add(a, b):\n    return a + b\n"


@pytest.mark.parametrize("namespace", ["", "staging:"])
def test_a_limiter_key_is_outside_the_cache_prefix(namespace: str) -> None:
    key = limiter_key(namespace, "openai/gpt-4o")
    assert key.startswith(namespace)
    assert not key.startswith(namespace + ROOT_PREFIX)


def aexy(*args: str, url: str) -> str:
    env = {**os.environ, "REDIS_URL": url, "AEXY_CACHE_BACKEND": "redis"}
    done = subprocess.run([sys.executable, "-m", "aexy", *args], env=env, check=True,
                          capture_output=True, text=True, timeout=60)
    return done.stdout


async def test_clearing_and_counting_the_cache_leave_the_limiter_alone(
        redis_server: RedisServer, raw: redis_asyncio.Redis) -> None:
    clock = VirtualClock(1000.0)  # the buckets' clock stands still: levels are exact
    limiter = RedisRateLimiter("fake/fake-model", RateLimits(60, None), now=clock,
                               settings=settings_for(redis_server))
    cache = RedisCache(settings_for(redis_server))
    try:
        for _ in range(5):
            await limiter.acquire(1)
        assert (await limiter.levels())["requests"] == pytest.approx(55)
        async with LLMGateway(FakeProvider(), plugins=PluginHost(entry_points=False),
                              cache=RedisCache(settings_for(redis_server)), fallbacks=(),
                              settings=AexySettings()) as gw:
            for i in range(3):
                await gw.analyze("code_quality", CODE + f"# {i}\n")
            assert (await gw.cache_stats())[1]["entries"] == 3  # results only
            assert await gw.clear_cache() >= 3
        assert (await limiter.levels())["requests"] == pytest.approx(55)
        assert await cache.count() == 0

        await cache.set("aexy:code_quality:abc", "v", 60)
        stats = json.loads(await asyncio.to_thread(
            aexy, "cache", "stats", "--json", url=redis_server.url))
        assert stats[1]["entries"] == 1
        out = await asyncio.to_thread(aexy, "cache", "clear", url=redis_server.url)
        assert out.strip() == "Deleted 1 cached results."
        assert await raw.exists(limiter.key) == 1
        assert (await limiter.levels())["requests"] == pytest.approx(55)
    finally:
        await cache.aclose()
        await limiter.aclose()
