"""``REDIS_URL`` forms: parsing, and the same backend on a Unix socket, through Sentinel and on a
(single-node) Redis Cluster, each a real redis-server."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from redis_server import RedisServer, command, free_port

from aexy.providers.base import RateLimits
from aexy.resilience import VirtualClock
from aexy_redis.backend import RedisCache
from aexy_redis.connection import parse_redis_url
from aexy_redis.ratelimit import RedisRateLimiter
from aexy_redis.settings import DEFAULT_URL, RedisSettings
from conftest import ServerFactory


def test_the_default_url_is_localhost_database_zero() -> None:
    assert RedisSettings().url.get_secret_value() == DEFAULT_URL == "redis://localhost:6379/0"
    t = parse_redis_url(DEFAULT_URL)
    assert (t.mode, t.tls, t.kwargs["host"], t.kwargs["port"], t.kwargs["db"]) == (
        "standalone", False, "localhost", 6379, 0)


def test_standalone_forms() -> None:
    from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection

    t = parse_redis_url("rediss://user:p%40ss@cache.internal:6380/2?ssl_cert_reqs=none")
    assert (t.mode, t.tls, t.public) == (
        "standalone", True, "rediss://***@cache.internal:6380/2?ssl_cert_reqs=none")
    assert t.kwargs["connection_class"] is SSLConnection
    assert (t.kwargs["username"], t.kwargs["password"], t.kwargs["db"]) == ("user", "p@ss", 2)
    assert t.kwargs["ssl_cert_reqs"] == "none"
    u = parse_redis_url("unix:///run/redis/redis.sock?db=3")
    assert u.kwargs["connection_class"] is UnixDomainSocketConnection
    assert (u.kwargs["path"], u.kwargs["db"]) == ("/run/redis/redis.sock", 3)
    assert "p@ss" not in repr(t)


def test_sentinel_form() -> None:
    t = parse_redis_url("rediss+sentinel://:pw@10.0.0.1:26379,10.0.0.2,[::1]:26380/mymaster/4")
    assert (t.mode, t.tls, t.service) == ("sentinel", True, "mymaster")
    assert t.nodes == (("10.0.0.1", 26379), ("10.0.0.2", 26379), ("::1", 26380))
    assert (t.kwargs["password"], t.kwargs["db"], t.kwargs["ssl"]) == ("pw", 4, True)
    assert "host" not in t.kwargs
    assert t.public == "rediss+sentinel://***@10.0.0.1:26379,10.0.0.2,[::1]:26380/mymaster/4"


def test_cluster_form() -> None:
    t = parse_redis_url("redis+cluster://a:7000,b:7001?socket_keepalive=true")
    assert (t.mode, t.tls, t.nodes) == ("cluster", False, (("a", 7000), ("b", 7001)))
    assert t.kwargs["socket_keepalive"] is True
    assert "password" not in t.kwargs


# -- live -----------------------------------------------------------------------------------------


async def exercise(cache: RedisCache) -> None:
    """The whole backend surface once."""
    await cache.set("aexy:code_quality:1", "one", 60)
    await cache.set("aexy:team_health:2", "two", 60)
    assert await cache.get("aexy:code_quality:1") == "one"
    assert await cache.get("aexy:code_quality:none") is None
    stats = await cache.stats()
    assert (stats["available"], stats["entries"]) == (True, 2)
    assert await cache.clear("aexy:code_quality:") == 1
    assert await cache.get("aexy:team_health:2") == "two"
    assert await cache.delete("aexy:team_health:2") is True


def wait_for(check: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


async def test_through_sentinel_to_a_master_with_a_password(server_factory: ServerFactory,
                                                            tmp_path: Path) -> None:
    master = server_factory(password="m4ster-pw")
    sentinel_port = free_port()
    sentinel = server_factory(port=sentinel_port, sentinel=True, config=(
        f"port {sentinel_port}\nbind 127.0.0.1\n"
        f"dir {tmp_path}\n"
        f"sentinel monitor mymaster 127.0.0.1 {master.port} 1\n"
        "sentinel auth-pass mymaster m4ster-pw\n"))
    wait_for(lambda: str(master.port).encode() in command(
        sentinel.address, "SENTINEL", "get-master-addr-by-name", "mymaster"), "sentinel")
    url = f"redis+sentinel://:m4ster-pw@127.0.0.1:{sentinel.port}/mymaster/0"
    cache = RedisCache(RedisSettings(url=url))
    try:
        assert (await cache.stats())["mode"] == "sentinel"
        await exercise(cache)
        assert "m4ster-pw" not in repr(cache)
    finally:
        await cache.aclose()


@pytest.fixture
def cluster(server_factory: ServerFactory) -> RedisServer:
    node = server_factory(port=free_port(cluster=True), extra=(
        "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"))
    assert b"+OK" in command(node.address, "CLUSTER", "ADDSLOTSRANGE", "0", "16383")
    wait_for(lambda: b"cluster_state:ok" in command(node.address, "CLUSTER", "INFO"),
             "cluster_state:ok")
    return node


async def test_on_a_redis_cluster(cluster: RedisServer) -> None:
    cache = RedisCache(RedisSettings(url=f"redis+cluster://127.0.0.1:{cluster.port}",
                                     scan_batch=2))  # UNLINK batches that span slots
    try:
        for i in range(5):
            await cache.set(f"aexy:spread:{i}", "v", 60)
        assert await cache.clear("aexy:spread:") == 5
        await exercise(cache)
        assert (await cache.stats())["mode"] == "cluster"
    finally:
        await cache.aclose()


async def test_the_limiter_on_a_redis_cluster(cluster: RedisServer) -> None:
    clock = VirtualClock()
    settings = RedisSettings(url=f"redis+cluster://127.0.0.1:{cluster.port}")
    lim = RedisRateLimiter("p/m", RateLimits(2, 600), clock=clock, sleep=clock.sleep, now=clock,
                           settings=settings)
    try:
        assert await lim.acquire(100) == 0.0
        assert await lim.acquire(100) == 0.0
        assert await lim.acquire(100) == pytest.approx(30.0)  # the third request of 2/min
        lim.reconcile(100, 160)  # 60 tokens more than estimated, at 10 tokens/s
        await lim.flush()
        assert (await lim.levels())["shift"] == pytest.approx(6.0)
    finally:
        await lim.aclose()
