"""Fixtures for the Redis plugin: a real ``redis-server`` per test, on a free loopback port.

With ``CI`` set, a missing ``redis-server`` fails these tests (``.ci/run`` installs it);
elsewhere they are skipped with the command that installs it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as redis_asyncio
from redis_server import RedisServer, redis_server_binary

from aexy_redis.backend import RedisCache
from aexy_redis.settings import RedisSettings

ServerFactory = Callable[..., RedisServer]

def require_redis_server() -> None:
    if redis_server_binary() is not None:
        return
    message = ("redis-server is not installed: apt-get install -y redis-server "
               "(.ci/run installs it)")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[ServerFactory]:
    """``start(**options) -> RedisServer``: any number of servers, all stopped at the end."""
    require_redis_server()
    started: list[RedisServer] = []

    def start(**options: Any) -> RedisServer:
        server = RedisServer(tmp_path / f"redis-{len(started)}", **options)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def redis_server(server_factory: ServerFactory) -> RedisServer:
    return server_factory()


def settings_for(server: RedisServer, **options: Any) -> RedisSettings:
    return RedisSettings(url=server.url, **options)


@pytest.fixture
async def cache(redis_server: RedisServer) -> AsyncIterator[RedisCache]:
    backend = RedisCache(settings_for(redis_server))
    yield backend
    await backend.aclose()


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temporary directory with a short path (a unix socket path holds at most 107 bytes)."""
    with tempfile.TemporaryDirectory(prefix="aexy-r") as d:
        yield Path(d)


@pytest.fixture
async def raw(redis_server: RedisServer) -> AsyncIterator[redis_asyncio.Redis]:
    """A plain redis-py client on the test's server, to look at what the backend stored."""
    client = redis_asyncio.Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


def reachable(error: BaseException) -> list[str]:
    """Text of everything an error leads to: message, args, attributes, context and cause."""
    seen: list[str] = []
    todo: list[BaseException | None] = [error]
    while todo:
        e = todo.pop()
        if e is None:
            continue
        seen += [str(e), repr(e), *map(repr, e.args), *map(repr, vars(e).values())]
        todo += [e.__context__, e.__cause__]
    return seen
