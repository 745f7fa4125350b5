"""The built-in plugin: core features registered through the same hooks as outside plugins."""

from __future__ import annotations

from typing import Any

from aexy.contract.hooks import hookimpl


@hookimpl
def register_analysis_types() -> list[Any]:
    from aexy.catalogue import builtin_specs

    return builtin_specs()


@hookimpl
def register_providers() -> list[Any]:
    from aexy.providers import builtin_providers

    return builtin_providers()


@hookimpl
def register_prompt_sources() -> list[Any]:
    from aexy.prompts import builtin_prompt_sources

    return builtin_prompt_sources()


@hookimpl
def register_postprocessors() -> list[Any]:
    from aexy.postprocess import builtin_postprocessors

    return builtin_postprocessors()


@hookimpl
def register_cache_backends() -> list[Any]:
    from aexy.cache import MemoryCache
    from aexy.contract.cache import CacheBackendSpec
    from aexy.sqlite_cache import SqliteCache

    return [
        CacheBackendSpec(
            name="memory",
            factory=lambda settings: MemoryCache(settings.cache_max_entries),
            description="bounded in-process LRU cache, TTL per analysis type",
        ),
        CacheBackendSpec(
            name="sqlite",
            factory=SqliteCache.from_settings,
            description="one file in the user cache directory shared by every process "
            "(AEXY_CACHE_PATH); TTL per entry, LRU within AEXY_CACHE_MAX_BYTES",
        ),
    ]


@hookimpl
def register_rate_limiters() -> list[Any]:
    from aexy.contract.ratelimit import RateLimiterSpec
    from aexy.ratelimit import LocalRateLimiter

    return [
        RateLimiterSpec(
            name="local",
            factory=LocalRateLimiter,
            description="in-process requests/min and tokens/min token buckets, reconciled "
            "with real usage",
        )
    ]


@hookimpl
def register_budget_ledgers() -> list[Any]:
    from aexy.budget import LocalLedger
    from aexy.contract.budget import BudgetLedgerSpec

    return [
        BudgetLedgerSpec(
            name="local",
            factory=lambda name, settings: LocalLedger(),
            description="in this process: one budget for one gateway (one CLI job)",
        )
    ]
