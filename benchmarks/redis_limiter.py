"""How well several processes sharing the ``redis`` rate limiter keep one limit together.

A redis-server is started on a free loopback port. ``--processes`` worker processes (4 tasks
each) call ``acquire()`` as fast as the limiter lets them for ``--windows`` windows of
``--period`` seconds; each call estimates 100 tokens and reconciles a real usage of 50, so the
token budget is only reached if every process's refunds count. Figures are the real tokens
used per window, as a share of the limit, for:

* ``redis``: one budget shared through Redis;
* ``local`` (baseline): the core's per-process limiter, each process with the whole limit, as
  a deployment without a shared limiter has.

Window 1 holds the bucket's initial full budget plus its refill (up to 200 %), as for the
``local`` limiter in one process.

    python benchmarks/redis_limiter.py [--processes 4] [--windows 6] [--period 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time

from _redis_server import redis_server

TOKENS_PER_WINDOW = 5_000
ESTIMATE, ACTUAL = 100, 50


async def child(kind: str, url: str, period: float, windows: int) -> None:
    from aexy.providers.base import RateLimits
    from aexy.ratelimit import LocalRateLimiter, RateLimiter, RateLimitWaitError
    from aexy_redis.ratelimit import RedisRateLimiter
    from aexy_redis.settings import RedisSettings

    limits = RateLimits(None, TOKENS_PER_WINDOW)
    lim: RateLimiter
    if kind == "redis":
        redis_lim = RedisRateLimiter("acct/model", limits, period=period,
                                     settings=RedisSettings(url=url, timeout=2.0))
        await redis_lim.levels()  # connected, scripts loaded
        lim = redis_lim
    else:
        lim = LocalRateLimiter("acct/model", limits, period=period)
    print("ready", flush=True)
    start_at = float(sys.stdin.readline())
    end_at = start_at + windows * period
    grants: list[float] = []

    async def worker() -> None:
        while (left := end_at - time.time()) > 0:
            try:
                await lim.acquire(ESTIMATE, max_wait=left)
            except RateLimitWaitError:
                return
            grants.append(time.time())
            lim.reconcile(ESTIMATE, ACTUAL)

    await asyncio.sleep(max(0.0, start_at - time.time()))
    await asyncio.gather(*(worker() for _ in range(4)))
    if isinstance(lim, RedisRateLimiter):
        await lim.aclose()
    print(json.dumps(grants))


def run(kind: str, url: str, processes: int, period: float, windows: int) -> list[float]:
    args = [sys.executable, __file__, "--child", kind, "--url", url, "--period", str(period),
            "--windows", str(windows)]
    procs = [subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for _ in range(processes)]
    for p in procs:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "ready"
    start_at = time.time() + 0.3
    for p in procs:
        assert p.stdin is not None
        p.stdin.write(f"{start_at!r}\n")
        p.stdin.flush()
    counts = [0] * windows
    for p in procs:
        out, _ = p.communicate(timeout=120)
        for t in json.loads(out):
            counts[min(windows - 1, max(0, int((t - start_at) // period)))] += 1
    return [100 * n * ACTUAL / TOKENS_PER_WINDOW for n in counts]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--processes", type=int, default=4)
    ap.add_argument("--windows", type=int, default=6)
    ap.add_argument("--period", type=float, default=1.0)
    ap.add_argument("--child")
    ap.add_argument("--url", default="")
    a = ap.parse_args()
    if a.child:
        asyncio.run(child(a.child, a.url, a.period, a.windows))
        return
    print(f"{a.processes} processes x 4 tasks; {TOKENS_PER_WINDOW} tokens per {a.period:g}-s "
          f"window; each call estimated at {ESTIMATE} tokens, reconciled to {ACTUAL}")
    with redis_server() as url:
        for kind in ("redis", "local"):
            shares = run(kind, url, a.processes, a.period, a.windows)
            cells = " ".join(f"{s:6.1f}%" for s in shares)
            print(f"{kind:6} {cells}   mean w2-w{a.windows}: "
                  f"{statistics.mean(shares[1:]):.1f}%")


if __name__ == "__main__":
    main()
