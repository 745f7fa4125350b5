"""A Redis password never shows, whichever way ``REDIS_URL`` holds it: in the userinfo (plain or
percent-encoded, with characters that need escaping), as a ``?password=`` query parameter, or
written without the escaping a URL needs (a clear configuration error then, without it). Each form
is checked in errors (and everything they lead to), reprs, logs, ``stats()``, the limiter's
snapshot, and ``aexy cache stats`` / ``aexy config`` run as real commands."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from urllib.parse import quote

import pytest
from redis_server import RedisServer

from aexy.errors import ConfigurationError
from aexy.gateway import LLMGateway
from aexy.plugins import PluginHost
from aexy.providers.base import RateLimits
from aexy.resilience import VirtualClock
from aexy.settings import AexySettings
from aexy.testing import FakeProvider
from aexy_redis.backend import RedisCache
from aexy_redis.connection import RedisUnavailableError
from aexy_redis.ratelimit import RedisRateLimiter
from aexy_redis.settings import RedisSettings
from conftest import ServerFactory, reachable

#: Needs escaping in a URL ("/", "#", "@", ":"); its pieces are distinctive enough to search for.
PASSWORD = "Zq9k/Xk7w#Wm3v@Pp:Lr5"
PIECES = ("Zq9k", "Xk7w", "Wm3v", "Lr5")
ENCODED = quote(PASSWORD, safe="")

# name -> URL template ({port}); each is a URL redis-py accepts for the password.
FORMS = {
    "userinfo": "redis://:{pw}@127.0.0.1:{port}/0",
    "user and password": "redis://default:{pw}@127.0.0.1:{port}/0",
    "query parameter": "redis://127.0.0.1:{port}/0?password={pw}",
}


def leaks(text: str) -> list[str]:
    """Which forms of the password, or pieces of it, ``text`` holds."""
    return [p for p in (PASSWORD, ENCODED, *PIECES) if p in text]


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)


def aexy(*args: str, url: str) -> str:
    """``aexy ARGS`` as a user runs it; stdout and stderr together."""
    env = {**os.environ, "REDIS_URL": url, "AEXY_CACHE_BACKEND": "redis",
           "AEXY_RATE_LIMITER": "redis"}
    done = subprocess.run([sys.executable, "-m", "aexy", *args], env=env, capture_output=True,
                          text=True, timeout=60)
    return done.stdout + done.stderr


@pytest.fixture
def server(server_factory: ServerFactory) -> RedisServer:
    return server_factory(password=PASSWORD)


@pytest.mark.parametrize("form", FORMS)
async def test_the_password_never_shows(server: RedisServer, form: str,
                                        caplog: pytest.LogCaptureFixture) -> None:
    url = FORMS[form].format(pw=ENCODED, port=server.port)
    settings = RedisSettings(url=url, backoff_base=0.01)
    cache = RedisCache(settings)
    limiter = RedisRateLimiter("p/m", RateLimits(60, None), settings=settings,
                               now=VirtualClock(1000.0))
    shown: list[str] = []
    try:
        # It works: the password reached Redis intact.
        await cache.set("aexy:t:1", "v", 60)
        assert await cache.get("aexy:t:1") == "v"
        assert await limiter.acquire(1) == 0.0
        assert cache.connection.url.startswith(("redis://***@", "redis://127.0.0.1"))
        shown += [repr(cache), repr(cache.connection), repr(limiter), repr(settings),
                  str(settings), str(await cache.stats()), str(limiter.snapshot())]
        shown.append(aexy("cache", "stats", "--json", url=url))
        shown.append(aexy("cache", "stats", url=url))

        server.kill()
        with caplog.at_level(logging.DEBUG):
            for call in (cache.get("aexy:t:1"), cache.count()):
                with pytest.raises(RedisUnavailableError) as info:
                    await call
                shown.append("\n".join(reachable(info.value)))
            await limiter.acquire(1)  # the local fallback, with its warning
            async with LLMGateway(FakeProvider(), plugins=PluginHost(entry_points=False),
                                  cache=RedisCache(settings), fallbacks=(),
                                  settings=AexySettings()) as gw:
                await gw.analyze("code_quality", "x = 1\n")  # a cache outage, logged
        shown += [logged(caplog), str(await cache.stats()), str(limiter.snapshot())]
        shown.append(aexy("cache", "stats", "--json", url=url))
        shown.append(aexy("cache", "clear", url=url))
    finally:
        await cache.aclose()
        await limiter.aclose()
    assert "127.0.0.1" in shown[-2] and "failed to clear" in shown[-1]  # about this Redis
    assert [leaks(text) for text in shown] == [[]] * len(shown), shown


@pytest.mark.parametrize("raw", ["redis://:{pw}@127.0.0.1:{port}/0",
                                 "redis://default:{pw}@127.0.0.1:{port}/0"])
async def test_a_password_that_needed_escaping_is_a_clear_error_without_it(
        raw: str) -> None:
    url = raw.format(pw=PASSWORD, port=6379)  # "/", "#", "@" and ":" as they are
    with pytest.raises(ConfigurationError) as info:
        RedisCache(RedisSettings(url=url))
    assert info.value.env_var == "REDIS_URL"
    assert "percent-encode" in str(info.value) and "%2F" in str(info.value)
    assert leaks("\n".join(reachable(info.value))) == []
    for command in (("cache", "stats", "--json"), ("cache", "clear")):
        out = aexy(*command, url=url)
        assert "percent-encode" in out and leaks(out) == [], out


def test_aexy_config_masks_every_url_form(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"redis://127.0.0.1:6379/0?password={ENCODED}"
    env = {"OLLAMA_BASE_URL": f"http://ollama:{PASSWORD}@gpu-box:11434",  # not escaped
           "OPENAI_BASE_URL": f"https://llm.internal/v1?api_key={ENCODED}"}
    monkeypatch.setattr(os, "environ", {**os.environ, **env})
    for args in (("config", "--json"), ("config",)):
        out = aexy(*args, url=url)
        assert "gpu-box:11434" in out and "llm.internal" in out, out
        assert leaks(out) == [], out

