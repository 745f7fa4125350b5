"""The rate limiter a plugin implements, the record it registers it with, and the error a
limiter raises when a call would wait past its deadline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from aexy.errors import ErrorCode, LLMError

__all__ = ["RateLimitWaitError", "RateLimiter", "RateLimiterSpec"]


class RateLimitWaitError(LLMError):
    """The local limiter would make this call wait past its deadline; nothing was sent."""

    def __init__(self, message: str, *, provider: str = "", model: str = "",
                 wait: float = 0.0) -> None:
        super().__init__(message, code=ErrorCode.RATE_LIMIT_EXCEEDED, provider=provider,
                         model=model, retryable=True, retry_after=wait)
        self.wait = wait


@runtime_checkable
class RateLimiter(Protocol):
    """Limits one provider's (and model's) requests and tokens per period."""

    async def acquire(self, tokens: int, *, max_wait: float | None = None) -> float:
        """Wait until one request of ``tokens`` estimated tokens may start; return the seconds
        waited. Raise :class:`RateLimitWaitError` (without waiting) when the turn would come
        later than ``max_wait`` seconds from now."""
        ...

    def reconcile(self, estimated: int, actual: int) -> None:
        """Correct the token budget once the real usage of a call is known."""
        ...

    # A limiter holding connections (a distributed one) may also define ``async def aclose()``;
    # ``LLMGateway.aclose()`` calls it.


@dataclass(frozen=True, slots=True)
class RateLimiterSpec:
    """What ``register_rate_limiters`` returns.

    :param factory: ``factory(name, limits, *, clock, sleep) -> RateLimiter``; ``name`` is
        ``"provider/model"``, ``clock`` and ``sleep`` are the gateway's (a distributed limiter
        may ignore them).
    """

    name: str
    factory: Callable[..., RateLimiter]
    description: str = ""
