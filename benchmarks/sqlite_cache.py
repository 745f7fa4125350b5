"""Latency of an sqlite-tier cache hit beside a memory-tier hit and a Redis-tier hit.

One cached ``code_quality`` value (the envelope the gateway stores, about 1.6 kB) is read,
sequentially, by:

* ``bare sqlite3 SELECT``: the stdlib on the event loop's own thread, one ``SELECT`` on a WAL
  file: what a hand-written cache would do, blocking the loop (the baseline);
* ``asyncio.to_thread(SELECT)``: the same, off the loop the obvious way;
* ``SqliteCache.get()``: the built-in ``sqlite`` backend (its worker thread, expiry check,
  decoding to text, hit counting);
* ``RedisCache.get()``: the aexy-redis backend on a redis-server started on a loopback port
  (skipped, and said so, when redis-server is not installed);
* ``MemoryCache.get()``: the in-process tier in front of either.

Contenders are interleaved round by round (rotating which goes first); each round gives a p50
and p99 per contender, and the ratios are the medians over rounds of the per-round ratios to
the baseline. The sqlite file lives in a temporary directory (``--dir`` to choose one).

    python benchmarks/sqlite_cache.py [--calls 2000] [--rounds 15] [--dir /path]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import platform
import shutil
import sqlite3
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from _redis_server import redis_server
from aexy.cache import MemoryCache
from aexy.sqlite_cache import SqliteCache
from redis_cache import KEY, cached_value, measure


@contextlib.contextmanager
def maybe_redis() -> Iterator[str | None]:
    if shutil.which("redis-server") is None:
        print("redis-server is not installed: the Redis tier is left out")
        yield None
        return
    with redis_server() as url:
        yield url


async def run(folder: Path, calls: int, rounds: int, redis_url: str | None) -> None:
    value = await cached_value(Path(__file__).read_text())  # noqa: ASYNC240 - set-up, untimed
    path = folder / "cache.sqlite3"
    cache = SqliteCache(path)
    memory = MemoryCache()
    await cache.set(KEY, value, 3600)
    await memory.set(KEY, value, 3600)
    bare = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    query = "SELECT value FROM entries WHERE key = ?"
    assert bare.execute(query, (KEY,)).fetchone()[0].decode() == value
    assert await cache.get(KEY) == value

    async def bare_select() -> Any:
        return bare.execute(query, (KEY,)).fetchone()

    async def threaded_select() -> Any:
        return await asyncio.to_thread(lambda: bare.execute(query, (KEY,)).fetchone())

    cases: dict[str, Callable[[], Awaitable[Any]]] = {
        "bare sqlite3 SELECT (on the loop)": bare_select,
        "asyncio.to_thread(SELECT)": threaded_select,
        "SqliteCache.get() (sqlite tier hit)": lambda: cache.get(KEY),
        "MemoryCache.get() (memory tier hit)": lambda: memory.get(KEY),
    }
    redis_cache = None
    if redis_url is not None:
        from aexy_redis.backend import RedisCache
        from aexy_redis.settings import RedisSettings

        redis_cache = RedisCache(RedisSettings(url=redis_url))
        await redis_cache.set(KEY, value, 3600)
        assert await redis_cache.get(KEY) == value
        cases["RedisCache.get() (Redis tier hit)"] = lambda: redis_cache.get(KEY)  # type: ignore[union-attr]
    try:
        results = await measure(cases, calls, rounds)
    finally:
        bare.close()
        await cache.aclose()
        if redis_cache is not None:
            await redis_cache.aclose()
    print(f"value: {len(value)} bytes; {rounds} rounds x {calls} sequential calls; "
          f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")
    print(f"{'case':40} {'p50 µs':>8} {'p99 µs':>8} {'p50 x':>7} {'p99 x':>7}")
    for name, r in results.items():
        print(f"{name:40} {r['p50_us']:8.1f} {r['p99_us']:8.1f} {r['p50_ratio']:6.2f}x "
              f"{r['p99_ratio']:6.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--dir", type=Path, help="where to put the sqlite file (default: a "
                    "temporary directory)")
    a = ap.parse_args()
    with maybe_redis() as url, tempfile.TemporaryDirectory(dir=a.dir) as d:
        asyncio.run(run(Path(d), a.calls, a.rounds, url))


if __name__ == "__main__":
    main()
