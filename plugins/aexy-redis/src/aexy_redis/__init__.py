"""aexy-redis: one cache, one rate limit and one budget shared by every process, on Redis.

Installing the distribution registers, through the ``aexy`` entry point group, the ``redis``
cache backend (``AEXY_CACHE_BACKEND=redis``), the ``redis`` rate limiter
(``AEXY_RATE_LIMITER=redis``) and the ``redis`` budget ledger (``AEXY_BUDGET_LEDGER=redis``);
all read ``REDIS_URL``. Importing this module does not import
``redis``: that happens when a backend or limiter is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aexy.plugin_api import BudgetLedgerSpec, CacheBackendSpec, RateLimiterSpec, hookimpl
from aexy_redis.settings import RedisSettings

if TYPE_CHECKING:
    from aexy.plugin_api import Clock, RateLimits, Sleep
    from aexy_redis.backend import RedisCache
    from aexy_redis.budget import RedisBudgetLedger
    from aexy_redis.ratelimit import RedisRateLimiter

__all__ = ["register_budget_ledgers", "register_cache_backends", "register_rate_limiters"]
__version__ = "0.1.0"


def _cache_factory(settings: RedisSettings) -> RedisCache:
    from aexy_redis.backend import RedisCache

    return RedisCache(settings)


def _limiter_factory(name: str, limits: RateLimits, *, clock: Clock | None = None,
                     sleep: Sleep | None = None) -> RedisRateLimiter:
    from aexy_redis.ratelimit import RedisRateLimiter

    return RedisRateLimiter(name, limits, clock=clock, sleep=sleep)


@hookimpl
def register_cache_backends() -> list[Any]:
    return [
        CacheBackendSpec(
            name="redis",
            factory=_cache_factory,
            description="shared Redis tier behind the memory tier (REDIS_URL); TTL per type "
            "on each key, clear by prefix with SCAN + UNLINK",
            # REDIS_URL and AEXY_REDIS_*: read by the host, shown by `aexy config`.
            settings_class=RedisSettings,
        )
    ]


@hookimpl
def register_rate_limiters() -> list[Any]:
    return [
        RateLimiterSpec(
            name="redis",
            factory=_limiter_factory,
            description="requests/min and tokens/min shared by every process through one "
            "atomic Lua script on Redis (REDIS_URL); local fallback during an outage",
        )
    ]


def _ledger_factory(name: str, settings: RedisSettings) -> RedisBudgetLedger:
    from aexy_redis.budget import RedisBudgetLedger

    return RedisBudgetLedger(name, settings=settings)


@hookimpl
def register_budget_ledgers() -> list[Any]:
    return [
        BudgetLedgerSpec(
            name="redis",
            factory=_ledger_factory,
            description="one AEXY_BUDGET_USD shared by every process with the same "
            "AEXY_BUDGET_NAME (REDIS_URL): atomic reservations in one Lua script",
            settings_class=RedisSettings,
        )
    ]
