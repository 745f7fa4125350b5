"""The ``redis`` cache backend against a real redis-server: values, TTLs, clearing, stats, and
two processes sharing entries."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import redis.asyncio as redis_asyncio
from redis_server import RedisServer

from aexy.cache import CacheBackend
from aexy_redis.backend import RedisCache
from conftest import ServerFactory, settings_for


def test_the_backend_satisfies_the_protocol(cache: RedisCache) -> None:
    assert isinstance(cache, CacheBackend)
    assert cache.name == "redis"


async def test_set_then_get_and_a_miss(cache: RedisCache, raw: redis_asyncio.Redis) -> None:
    value = json.dumps({"result": {"score": 7, "summary": "naïve ✓"}})
    await cache.set("aexy:code_quality:abc", value, 60)
    assert await cache.get("aexy:code_quality:abc") == value
    assert await cache.get("aexy:code_quality:nope") is None
    # Stored under the core's key as it is, so redis-cli shows what the core wrote.
    assert await raw.get("aexy:code_quality:abc") == value.encode()
    assert (cache.hits, cache.misses, cache.sets) == (1, 1, 1)


async def test_the_ttl_on_the_redis_key_is_the_given_ttl(cache: RedisCache,
                                                         raw: redis_asyncio.Redis) -> None:
    await cache.set("aexy:code_quality:a", "x", 86_400)
    await cache.set("aexy:team_health:b", "y", 3_600)
    await cache.set("aexy:short:c", "z", 1.5)
    # PTTL counts down from the TTL set; allow one second for the calls in between.
    assert 86_399_000 <= await raw.pttl("aexy:code_quality:a") <= 86_400_000
    assert 3_599_000 <= await raw.pttl("aexy:team_health:b") <= 3_600_000
    assert 500 <= await raw.pttl("aexy:short:c") <= 1_500


async def test_a_ttl_of_zero_stores_nothing(cache: RedisCache, raw: redis_asyncio.Redis) -> None:
    await cache.set("aexy:t:zero", "x", 0)
    assert await raw.exists("aexy:t:zero") == 0
    assert cache.sets == 0


async def test_a_value_that_is_not_utf8_comes_back_as_text(cache: RedisCache,
                                                           raw: redis_asyncio.Redis) -> None:
    # Not ours (or corrupt): the backend hands back text that the core's validation rejects,
    # rather than an exception the core would count as an outage.
    await raw.set("aexy:t:bin", b"\xff\xfe{\"result\"")
    got = await cache.get("aexy:t:bin")
    assert got is not None and got.endswith('{"result"')
    assert "\ufffd" in got


async def test_delete_removes_one_entry(cache: RedisCache, raw: redis_asyncio.Redis) -> None:
    await cache.set("aexy:t:1", "a", 60)
    await cache.set("aexy:t:2", "b", 60)
    assert await cache.delete("aexy:t:1") is True
    assert await cache.delete("aexy:t:1") is False
    assert await raw.exists("aexy:t:1", "aexy:t:2") == 1


async def test_clear_by_prefix_leaves_unrelated_keys_alone(
        redis_server: RedisServer, raw: redis_asyncio.Redis) -> None:
    cache = RedisCache(settings_for(redis_server, scan_batch=50))  # many SCAN/UNLINK batches
    try:
        for i in range(230):
            await cache.set(f"aexy:code_quality:{i}", "v", 600)
        for i in range(20):
            await cache.set(f"aexy:team_health:{i}", "v", 600)
        unrelated = {"session:1": "s", "other:aexy:code_quality:1": "o", "aexyish": "a",
                     "aexy-code_quality:1": "d", "aexy:code_qualityX:1": "x"}
        for key, value in unrelated.items():
            await raw.set(key, value)

        assert await cache.clear("aexy:code_quality:") == 230
        assert await raw.exists(*(f"aexy:code_quality:{i}" for i in range(230))) == 0
        assert await raw.exists(*(f"aexy:team_health:{i}" for i in range(20))) == 20

        assert await cache.clear() == 20 + 1  # everything under aexy:, including code_qualityX
        remaining = {k.decode() for k in await raw.keys("*")}
        assert remaining == set(unrelated) - {"aexy:code_qualityX:1"}
        assert await cache.clear() == 0
    finally:
        await cache.aclose()


async def test_glob_characters_in_a_prefix_are_literal(cache: RedisCache,
                                                       raw: redis_asyncio.Redis) -> None:
    for key in ("aexy:a*b:1", "aexy:axxb:1", "aexy:a?b:1", "aexy:acb:1", "aexy:[a]:1",
                "aexy:a:1"):
        await cache.set(key, "v", 60)
    assert await cache.clear("aexy:a*b:") == 1
    assert await cache.clear("aexy:a?b:") == 1
    assert await cache.clear("aexy:[a]:") == 1
    assert sorted(k.decode() for k in await raw.keys("*")) == [
        "aexy:a:1", "aexy:acb:1", "aexy:axxb:1"]


async def test_a_namespace_keeps_deployments_apart(redis_server: RedisServer,
                                                   raw: redis_asyncio.Redis) -> None:
    prod = RedisCache(settings_for(redis_server))
    staging = RedisCache(settings_for(redis_server, namespace="staging:"))
    try:
        await prod.set("aexy:t:1", "prod", 60)
        await staging.set("aexy:t:1", "staging", 60)
        assert await raw.get("staging:aexy:t:1") == b"staging"
        assert (await prod.get("aexy:t:1"), await staging.get("aexy:t:1")) == (
            "prod", "staging")
        assert (await prod.stats())["entries"] == 1
        assert (await staging.stats())["entries"] == 1
        assert await staging.clear() == 1
        assert await prod.get("aexy:t:1") == "prod"
    finally:
        await prod.aclose()
        await staging.aclose()


async def test_stats_count_entries_and_show_the_server(cache: RedisCache,
                                                       raw: redis_asyncio.Redis) -> None:
    for i in range(7):
        await cache.set(f"aexy:t:{i}", "v", 60)
    await raw.set("unrelated", "u")
    await cache.get("aexy:t:0")
    await cache.get("aexy:t:missing")
    stats = await cache.stats()
    assert stats["backend"] == "redis"
    assert stats["available"] is True
    assert (stats["entries"], stats["hits"], stats["misses"], stats["sets"]) == (7, 1, 1, 7)
    assert stats["redis_version"].count(".") == 2
    assert stats["maxmemory_policy"] == "noeviction"
    assert stats["evicted_keys"] == 0
    assert stats["mode"] == "standalone"
    assert stats["errors"] == 0


_WRITER = textwrap.dedent("""
    import asyncio, sys
    from aexy_redis.backend import RedisCache
    from aexy_redis.settings import RedisSettings

    async def main():
        cache = RedisCache(RedisSettings(url=sys.argv[1]))
        await cache.set("aexy:code_quality:shared", sys.argv[2], 120)
        print(await cache.get("aexy:code_quality:mine"))
        await cache.aclose()

    asyncio.run(main())
""")


async def test_two_processes_share_entries(cache: RedisCache, redis_server: RedisServer) -> None:
    await cache.set("aexy:code_quality:mine", "written by the test", 120)
    out = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", _WRITER, redis_server.url, "from the child"],
        check=True, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "written by the test"  # the child read ours
    assert await cache.get("aexy:code_quality:shared") == "from the child"  # we read theirs


async def test_the_backend_works_on_a_unix_socket(server_factory: ServerFactory,
                                                  short_tmp: Path) -> None:
    server = server_factory(unixsocket=short_tmp / "r.sock")
    cache = RedisCache(settings_for(server))
    try:
        assert server.url.startswith("unix://")
        await cache.set("aexy:t:u", "over a socket", 60)
        assert await cache.get("aexy:t:u") == "over a socket"
        assert await cache.clear() == 1
    finally:
        await cache.aclose()
