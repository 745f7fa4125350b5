"""The gateway with the Redis tier behind its memory tier, and with the ``redis`` limiter:
two gateways in two processes share results, keys carry their type's TTL, and the limiter is
reconciled with real usage in Redis."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest
import redis.asyncio as redis_asyncio
from redis_server import RedisServer

import aexy_redis
from aexy.gateway import LLMGateway
from aexy.plugins import PluginHost
from aexy.settings import AexySettings
from aexy.testing import FakeProvider, FakeSettings
from aexy_redis.backend import RedisCache
from aexy_redis.ratelimit import RedisRateLimiter, limiter_key
from conftest import settings_for

CODE = "def add(a, b):\n    return a + b\n"


def gateway(server: RedisServer, provider: FakeProvider | None = None,
            settings: AexySettings | None = None) -> LLMGateway:
    return LLMGateway(provider or FakeProvider(), plugins=PluginHost(entry_points=False),
                      cache=RedisCache(settings_for(server)), fallbacks=(),
                      settings=settings or AexySettings())


_OTHER_PROCESS = textwrap.dedent("""
    import asyncio, json, sys
    from aexy.gateway import LLMGateway
    from aexy.plugins import PluginHost
    from aexy.testing import FakeProvider
    from aexy_redis.backend import RedisCache
    from aexy_redis.settings import RedisSettings

    async def main():
        provider = FakeProvider()
        async with LLMGateway(provider, plugins=PluginHost(entry_points=False), fallbacks=(),
                              cache=RedisCache(RedisSettings(url=sys.argv[1]))) as gw:
            theirs = await gw.analyze("code_quality", sys.argv[2])  # written by the test
            mine = await gw.analyze("code_quality", sys.argv[3])    # new: stored for the test
        print(json.dumps({"theirs": theirs.provenance.cache_tier, "calls": len(provider.calls),
                          "mine_hit": mine.provenance.cache_hit,
                          "score": mine.model_dump(mode="json")}))

    asyncio.run(main())
""")


async def test_two_gateways_in_two_processes_share_hits(redis_server: RedisServer) -> None:
    provider = FakeProvider()
    async with gateway(redis_server, provider) as gw:
        first = await gw.analyze("code_quality", CODE)
        assert first.provenance.cache_hit is False and len(provider.calls) == 1

        args = [sys.executable, "-c", _OTHER_PROCESS, redis_server.url, CODE, CODE + "# other\n"]
        out = await asyncio.to_thread(subprocess.run, args, check=True, capture_output=True,
                                      text=True, timeout=60)
        child = json.loads(out.stdout)
        # The other process was served ours from Redis, and called its provider only for the
        # content it had never seen.
        assert child["theirs"] == "redis"
        assert (child["calls"], child["mine_hit"]) == (1, False)

        second = await gw.analyze("code_quality", CODE + "# other\n")
        assert second.provenance.cache_hit is True
        assert second.provenance.cache_tier == "redis"
        assert second.model_dump(mode="json") == child["score"]
        assert len(provider.calls) == 1  # no call for what the other process stored


@pytest.mark.parametrize(("analysis_type", "ttl"), [
    ("code_quality", 86_400), ("skill_extraction", 604_800), ("team_health", 3_600),
    ("code_complexity", 1_234),  # no TTL of its own: LLM_CACHE_TTL
])
async def test_the_ttl_on_the_redis_key_is_the_types(redis_server: RedisServer,
                                                     raw: redis_asyncio.Redis,
                                                     analysis_type: str, ttl: int) -> None:
    async with gateway(redis_server, settings=AexySettings(llm_cache_ttl=1_234)) as gw:
        await gw.analyze(analysis_type, CODE)
    keys = [k.decode() for k in await raw.keys("*")]
    assert len(keys) == 1 and analysis_type in keys[0], keys
    assert (ttl - 2) * 1000 <= await raw.pttl(keys[0]) <= ttl * 1000


async def test_clear_through_the_gateway_by_type(redis_server: RedisServer,
                                                 raw: redis_asyncio.Redis) -> None:
    await raw.set("someone:else", "kept")
    async with gateway(redis_server) as gw:
        await gw.analyze("code_quality", CODE)
        await gw.analyze("code_quality", CODE + "#2")
        await gw.analyze("team_health", CODE)
        # Each result is in both tiers; the Redis tier reports its own two.
        assert await gw.clear_cache("code_quality") >= 2
    keys = sorted(k.decode() for k in await raw.keys("*"))
    assert len(keys) == 2 and keys[1] == "someone:else" and "team_health" in keys[0]


async def test_the_gateway_uses_the_redis_limiter_and_reconciles_in_redis(
        redis_server: RedisServer, raw: redis_asyncio.Redis,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    # The gateway does not close its limiters yet: keep them to close them here.
    made: list[Any] = []
    build = aexy_redis._limiter_factory

    def recording(*args: Any, **kwargs: Any) -> Any:
        made.append(build(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(aexy_redis, "_limiter_factory", recording)
    host = PluginHost(entry_points=False)
    host.register(aexy_redis, name="redis", distribution="aexy-redis", version="test")
    provider = FakeProvider(FakeSettings(requests_per_minute=60, tokens_per_minute=6_000))
    gw = LLMGateway(provider, plugins=host, cache=False, fallbacks=(),
                    settings=AexySettings(rate_limiter="redis"))
    closed: list[object] = []
    try:
        (limiter,) = made
        assert isinstance(limiter, RedisRateLimiter)
        real_aclose = limiter.aclose

        async def recording_aclose() -> None:
            closed.append(limiter)
            await real_aclose()

        limiter.aclose = recording_aclose  # type: ignore[method-assign]
        result = await gw.analyze("code_quality", CODE)
        await limiter.flush()
        used = result.provenance.input_tokens + result.provenance.output_tokens
        snap = gw.stats()["rate_limiters"]["fake/fake-model"]
        assert (snap["limiter"], snap["granted"], snap["reconciled"]) == ("redis", 1, 1)
        assert snap["tokens_returned"] > 0  # the estimate was above the real usage
        # The estimate was taken, then the unused part given back: what is left is the
        # capacity less the real usage (plus the refill of the milliseconds since, 100/s).
        levels = await limiter.levels()
        assert levels["tokens"] == pytest.approx(6_000 - used, abs=15)
        assert levels["requests"] == pytest.approx(59, abs=0.1)
        assert await raw.exists(limiter_key("", "fake/fake-model")) == 1
    finally:
        await gw.aclose()
    assert closed == made  # the gateway closed its limiter (and its connection pool)
