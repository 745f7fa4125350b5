"""Rate limiter records and the built-in ``local`` limiter (aiolimiter, one process)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from aexy.provider import RateLimits

__all__ = ["LocalRateLimiter", "RateLimiter", "RateLimiterSpec"]


@runtime_checkable
class RateLimiter(Protocol):
    """Limits one provider's requests and tokens per minute."""

    async def acquire(self, tokens: int) -> None:
        """Wait until one request of ``tokens`` estimated tokens may start."""
        ...

    def reconcile(self, estimated: int, actual: int) -> None:
        """Correct the token budget once the real usage is known."""
        ...


@dataclass(frozen=True, slots=True)
class RateLimiterSpec:
    """What ``register_rate_limiters`` returns.

    :param factory: ``factory(provider_name, limits) -> RateLimiter``.
    """

    name: str
    factory: Callable[[str, RateLimits], RateLimiter]
    description: str = ""


class LocalRateLimiter:
    """In-process leaky buckets for requests and tokens per minute."""

    def __init__(self, provider: str, limits: RateLimits) -> None:
        from aiolimiter import AsyncLimiter

        self.provider = provider
        self.limits = limits
        rpm, tpm = limits.requests_per_minute, limits.tokens_per_minute
        self._requests = AsyncLimiter(rpm, 60) if rpm else None
        self._tokens = AsyncLimiter(tpm, 60) if tpm else None

    async def acquire(self, tokens: int) -> None:
        if self._requests is not None:
            await self._requests.acquire()
        if self._tokens is not None:
            await self._tokens.acquire(min(tokens, int(self._tokens.max_rate)))

    def reconcile(self, estimated: int, actual: int) -> None:
        return None
