"""Latency of a Redis-tier cache hit against a bare ``redis.asyncio`` GET of the same value.

A redis-server is started on a free loopback port (or ``--url`` is used). One cached
``code_quality`` value (the envelope the gateway stores) is read, sequentially, by:

* ``bare GET``: ``redis.asyncio.Redis.get()`` with redis-py's defaults: the baseline;
* ``RedisCache.get()``: the aexy-redis backend (outage check, ``asyncio.timeout`` bound,
  namespace, decoding to text, hit counting);
* ``MemoryCache.get()``: the in-process tier in front of it, for reference.

The value is what the gateway stores for a real ``code_quality`` result (about 1 kB).

Contenders are interleaved round by round (rotating which goes first) so machine drift hits
them alike; each round gives a p50 and p99 per contender, and the ratios quoted are the medians
over rounds of the per-round ratios against the bare GET.

    python benchmarks/redis_cache.py [--calls 2000] [--rounds 15] [--url redis://...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis
import redis.asyncio as redis_asyncio

from _redis_server import redis_server
from aexy.cache import MemoryCache
from aexy.gateway import LLMGateway
from aexy.plugins import PluginHost
from aexy_redis.backend import RedisCache
from aexy_redis.settings import RedisSettings

KEY = "aexy:code_quality:" + "ab" * 32


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


async def measure(cases: dict[str, Callable[[], Awaitable[Any]]], calls: int, rounds: int
                  ) -> dict[str, dict[str, float]]:
    for fn in cases.values():  # warm-up: connections open, code paths hot
        for _ in range(500):
            await fn()
    names = list(cases)
    per_round: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            fn = cases[name]
            lat: list[float] = []
            for _ in range(calls):
                t0 = time.perf_counter_ns()
                await fn()
                lat.append((time.perf_counter_ns() - t0) / 1000)
            lat.sort()
            per_round[name].append((percentile(lat, 0.50), percentile(lat, 0.99)))
    base = per_round[names[0]]
    out: dict[str, dict[str, float]] = {}
    for name in names:
        rows = per_round[name]
        out[name] = {
            "p50_us": statistics.median(p50 for p50, _ in rows),
            "p99_us": statistics.median(p99 for _, p99 in rows),
            "p50_ratio": statistics.median(a[0] / b[0] for a, b in zip(rows, base, strict=True)),
            "p99_ratio": statistics.median(a[1] / b[1] for a, b in zip(rows, base, strict=True)),
        }
    return out


async def cached_value(source: str) -> str:
    """What the gateway stores for a real ``code_quality`` result (of ``source``, by the
    built-in offline provider)."""
    async with LLMGateway("offline", plugins=PluginHost(entry_points=False), cache=False,
                          fallbacks=()) as gateway:
        result = await gateway.analyze("code_quality", source,
                                       context={"file_path": "redis_cache.py"})
    return json.dumps({"provider": result.provenance.provider,
                       "model": result.provenance.model,
                       "result": result.model_dump(mode="json")})


async def run(url: str, calls: int, rounds: int) -> None:
    value = await cached_value(Path(__file__).read_text())  # noqa: ASYNC240 - set-up, untimed
    bare = redis_asyncio.Redis.from_url(url)
    cache = RedisCache(RedisSettings(url=url))
    memory = MemoryCache()
    await cache.set(KEY, value, 3600)
    await memory.set(KEY, value, 3600)
    assert await bare.get(KEY) == value.encode()
    assert await cache.get(KEY) == value

    async def bare_get() -> Any:
        return await bare.get(KEY)

    try:
        results = await measure({"bare redis.asyncio GET": bare_get,
                                 "RedisCache.get() (Redis tier hit)": lambda: cache.get(KEY),
                                 "MemoryCache.get() (memory tier hit)": lambda: memory.get(KEY)},
                                calls, rounds)
    finally:
        await bare.aclose()
        await cache.aclose()
    print(f"value: {len(value)} bytes; {rounds} rounds x {calls} sequential calls; "
          f"Python {platform.python_version()}, redis-py {redis.__version__}")
    print(f"{'case':40} {'p50 µs':>8} {'p99 µs':>8} {'p50 x':>7} {'p99 x':>7}")
    for name, r in results.items():
        print(f"{name:40} {r['p50_us']:8.1f} {r['p99_us']:8.1f} {r['p50_ratio']:6.2f}x "
              f"{r['p99_ratio']:6.2f}x")
    ratio = results["RedisCache.get() (Redis tier hit)"]["p99_ratio"]
    print(f"Redis tier p99 / bare GET p99 (median over rounds): {ratio:.2f}x "
          f"(target at most 1.30x: {'met' if ratio <= 1.3 else 'NOT met'})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--url", help="an existing Redis (default: start one on a free port)")
    a = ap.parse_args()
    if a.url:
        asyncio.run(run(a.url, a.calls, a.rounds))
        return
    with redis_server(hint=", or pass --url") as url:
        asyncio.run(run(url, a.calls, a.rounds))


if __name__ == "__main__":
    main()
