"""The installed distribution: entry point, factories, settings from the environment, light
import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pydantic import ValidationError

from aexy.assembly import build_cache_backend
from aexy.plugins import PluginHost
from aexy.providers.base import RateLimits
from aexy.settings import AexySettings
from aexy_redis.backend import RedisCache
from aexy_redis.ratelimit import RedisRateLimiter
from aexy_redis.settings import RedisSettings


def test_entry_point_registers_the_backend_the_limiter_and_the_ledger() -> None:
    host = PluginHost()  # entry points on: the installed aexy-redis distribution is found
    (info,) = [p for p in host.plugins() if p.distribution == "aexy-redis"]
    assert (info.name, info.status, info.version) == ("redis", "active", "0.1.0")
    assert set(info.hooks) == {"register_cache_backends", "register_rate_limiters",
                               "register_budget_ledgers"}
    assert host.cache_backends().owners["redis"] == "aexy-redis"
    assert host.rate_limiters().owners["redis"] == "aexy-redis"
    assert host.budget_ledgers().owners["redis"] == "aexy-redis"
    assert host.hook_errors == [] or all(e.distribution != "aexy-redis"
                                         for e in host.hook_errors)
    assert "redis" not in host.providers().names()  # not a provider


async def test_the_host_builds_the_backend_from_redis_url(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:pw-hunter2@cache.internal:6390/3")
    host = PluginHost()
    spec = host.cache_backends().get("redis")
    assert spec is not None and spec.settings_class is RedisSettings
    backend = build_cache_backend(spec, AexySettings(), host)
    try:
        assert isinstance(backend, RedisCache)
        assert backend.connection.url == "redis://***@cache.internal:6390/3"
        assert backend.connection.target.kwargs["db"] == 3
        settings = RedisSettings()
        assert "pw-hunter2" not in repr(settings) and "pw-hunter2" not in str(settings)
    finally:
        await backend.aclose()  # nothing was ever connected


async def test_the_cache_factory_defaults_to_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEXY_REDIS_NAMESPACE", "ci:")
    backend = RedisCache()
    try:
        assert backend.connection.url == "redis://localhost:6379/0"
        assert backend.namespace == "ci:"
        assert backend.key("aexy:t:1") == "ci:aexy:t:1"
    finally:
        await backend.aclose()


async def test_the_limiter_factory_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:pw@10.1.2.3:6379/1")
    monkeypatch.setenv("AEXY_REDIS_LIMITER_FALLBACK_SHARE", "0.25")
    spec = PluginHost().rate_limiters().get("redis")
    assert spec is not None
    lim = spec.factory("openai/gpt-4o", RateLimits(100, 40_000), clock=lambda: 0.0, sleep=None)
    try:
        assert isinstance(lim, RedisRateLimiter)
        assert lim.key == "aexy-ratelimit:{openai/gpt-4o}"
        assert lim.fallback.limits == RateLimits(25, 10_000)
        assert "pw" not in repr(lim) and lim.snapshot()["url"] == "redis://***@10.1.2.3:6379/1"
    finally:
        await lim.aclose()


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "REDIS_URL": " rediss://cache:6380/2 ", "AEXY_REDIS_TIMEOUT": "0.25",
        "AEXY_REDIS_RETRIES": "0", "AEXY_REDIS_BACKOFF_BASE": "0.5",
        "AEXY_REDIS_BACKOFF_CAP": "30", "AEXY_REDIS_NAMESPACE": "staging:",
        "AEXY_REDIS_MAX_CONNECTIONS": "8", "AEXY_REDIS_SCAN_BATCH": "1000",
        "AEXY_REDIS_SENTINEL_PASSWORD": "sentinel-pw-9",
    }.items():
        monkeypatch.setenv(name, value)
    s = RedisSettings()
    assert s.url.get_secret_value() == "rediss://cache:6380/2"
    assert (s.timeout, s.retries, s.backoff_base, s.backoff_cap) == (0.25, 0, 0.5, 30.0)
    assert (s.namespace, s.max_connections, s.scan_batch) == ("staging:", 8, 1000)
    assert s.sentinel_password is not None and "sentinel-pw-9" not in repr(s)
    monkeypatch.setenv("URL", "redis://not-this:1")  # a bare name is someone else's
    monkeypatch.delenv("REDIS_URL")
    assert RedisSettings().url.get_secret_value() == "redis://localhost:6379/0"


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="must not contain"):
        RedisSettings(namespace="a*")
    with pytest.raises(ValidationError):
        RedisSettings(timeout=0)
    with pytest.raises(ValidationError):
        RedisSettings(limiter_fallback_share=1.5)


def test_loading_the_plugin_does_not_import_redis() -> None:
    code = (
        "import sys\n"
        "from aexy.plugins import PluginHost\n"
        "h = PluginHost()\n"
        "assert h.cache_backends().get('redis') is not None\n"
        "assert h.rate_limiters().get('redis') is not None\n"
        "assert 'redis' not in sys.modules, 'redis imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


def test_aexy_plugins_lists_the_redis_backend() -> None:
    out = subprocess.run([sys.executable, "-m", "aexy", "plugins", "--json"], check=True,
                         capture_output=True, text=True, timeout=60)
    (entry,) = [p for p in json.loads(out.stdout)["plugins"] if p["distribution"] == "aexy-redis"]
    assert entry["status"] == "active"
    assert "register_cache_backends" in entry["hooks"]
