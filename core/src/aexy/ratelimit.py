"""Rate limiting: the built-in ``local`` limiter and the token estimate it is charged with (the
protocol and its record, :class:`~aexy.contract.ratelimit.RateLimiter`, are the contract's).

A limiter is chosen by name with ``AEXY_RATE_LIMITER`` among those registered through the
``register_rate_limiters`` hook. The gateway builds one per provider and model (see
``docs/resilience.md``) and, for every provider call:

1. ``waited = await limiter.acquire(estimate, max_wait=remaining)`` where ``estimate`` is
   ``prompt characters / 4 + max output tokens``. The call waits its turn; if its turn would
   come after ``max_wait`` it raises :class:`RateLimitWaitError` at once, without waiting.
2. ``limiter.reconcile(estimate, actual)`` once the provider reports the real usage, so the
   budget tracks what was actually spent, not the (usually pessimistic) estimate.

The ``local`` limiter is a pair of token buckets (requests and tokens) written here rather than
``aiolimiter``: aiolimiter reads the event loop's clock (no injected clock, so no virtual-time
tests), cannot give tokens back or charge extra after the fact (no reconciliation), and cannot
say how long a caller would wait (needed to fail fast against a deadline).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aexy.contract.provider import RateLimits
from aexy.contract.ratelimit import RateLimiter as RateLimiter
from aexy.contract.ratelimit import RateLimiterSpec as RateLimiterSpec
from aexy.contract.ratelimit import RateLimitWaitError as RateLimitWaitError
from aexy.resilience.clock import Clock, Sleep

__all__ = [
    "LocalRateLimiter",
    "RateLimitWaitError",
    "RateLimiter",
    "RateLimiterSpec",
    "TokenBucket",
    "estimate_tokens",
]


def estimate_tokens(prompt_chars: int, max_output_tokens: int) -> int:
    """What a call may cost before it is made: ~4 characters per token, plus the output cap."""
    return prompt_chars // 4 + max_output_tokens


class TokenBucket:
    """A token bucket that hands out reservations in order.

    The bucket holds up to ``capacity`` and refills at ``rate`` per ``period`` seconds. A
    reservation takes its amount at once, even into debt; the caller then sleeps until the
    debt is repaid. Each reservation is behind every earlier one, so callers start in arrival
    order (FIFO) without a queue or wake-up races.

    A correction for calls already made (:meth:`adjust`, from reconciliation) moves
    :attr:`shift`, the net seconds of budget charged (positive) or given back (negative). It
    concerns tokens spent before anyone still waiting, so every waiter's turn moves by the same
    amount: later for a charge (or the limit would be overrun by every request queued before
    the charge was known), earlier for a refund (or the limit would be under-used while the
    queue drains on pessimistic estimates).
    """

    def __init__(self, rate: float, period: float, clock: Clock,
                 capacity: float | None = None) -> None:
        if rate <= 0 or period <= 0:
            raise ValueError("rate and period must be positive")
        self.capacity = float(capacity if capacity is not None else rate)
        self.per_second = rate / period
        self._clock = clock
        self.level = self.capacity
        self._updated = clock()
        self.shift = 0.0

    def _refill(self) -> None:
        now = self._clock()
        if now > self._updated:
            self.level = min(self.capacity, self.level + (now - self._updated) * self.per_second)
        self._updated = max(self._updated, now)

    def clamp(self, amount: float) -> float:
        """A single reservation never exceeds the capacity (or it could never be granted)."""
        return min(float(amount), self.capacity)

    def reserve(self, amount: float) -> float:
        """Take ``amount``; return the seconds until the bucket is out of debt."""
        self._refill()
        self.level -= amount
        return 0.0 if self.level >= 0 else -self.level / self.per_second

    def unreserve(self, amount: float) -> None:
        """Give a reservation back (refused or cancelled); nobody's turn moves."""
        self._refill()
        self.level = min(self.capacity, self.level + amount)

    def adjust(self, delta: float) -> None:
        """Correct past usage: give back (positive) or charge extra (negative)."""
        self._refill()
        before = self.level
        self.level = min(self.capacity, self.level + delta)
        self.shift -= (self.level - before) / self.per_second

    def available(self) -> float:
        self._refill()
        return self.level

    def set(self, level: float, at: float | None = None) -> None:
        """Start over from ``level`` (at most the capacity; below zero is debt) as it was at
        clock time ``at`` (now when omitted): the bucket refills from then. A distributed
        limiter seeds its local fallback with what the shared bucket last held."""
        self.level = min(self.capacity, level)
        self._updated = self._clock() if at is None else at


class LocalRateLimiter:
    """In-process requests/period and tokens/period buckets (the ``local`` limiter).

    :param name: ``"provider/model"``, used in messages.
    :param limits: ``None`` in either field means that dimension is unlimited.
    :param period: the window the limits refer to: 60 s for "per minute"; shorter in tests.
    :param burst: bucket capacity as a multiple of the per-period limit (1.0: a full period's
        budget may be spent at once, as the providers' own token buckets allow).
    """

    def __init__(self, name: str, limits: RateLimits, *, clock: Clock | None = None,
                 sleep: Sleep | None = None, period: float = 60.0, burst: float = 1.0) -> None:
        import time

        self.name = name
        self.limits = limits
        self._clock: Clock = clock if clock is not None else time.monotonic
        self._sleep: Sleep = sleep if sleep is not None else asyncio.sleep
        rpm, tpm = limits.requests_per_minute, limits.tokens_per_minute
        self.requests = (TokenBucket(rpm, period, self._clock, rpm * burst) if rpm else None)
        self.tokens = (TokenBucket(tpm, period, self._clock, tpm * burst) if tpm else None)
        self._changed: asyncio.Event | None = None
        self.waits = 0
        self.waited_s = 0.0
        self.rejected = 0
        self.reconciled = 0
        self.reconcile_delta = 0

    async def acquire(self, tokens: int, *, max_wait: float | None = None) -> float:
        amount = self.tokens.clamp(tokens) if self.tokens is not None else 0.0
        request_wait = self.requests.reserve(1) if self.requests is not None else 0.0
        token_wait = self.tokens.reserve(amount) if self.tokens is not None else 0.0
        if request_wait <= 0 and token_wait <= 0:
            return 0.0
        start = self._clock()
        shift = self.tokens.shift if self.tokens is not None else 0.0
        self.waits += 1
        while True:
            moved = (self.tokens.shift - shift) if self.tokens is not None else 0.0
            turn = max(request_wait, token_wait + moved)
            waited = self._clock() - start
            remaining = turn - waited
            if remaining <= 1e-9:
                self.waited_s += waited
                return waited
            if max_wait is not None and turn > max_wait:
                self._unreserve(amount)
                self.rejected += 1
                self.waited_s += waited
                raise RateLimitWaitError(
                    f"local rate limit of {self.name}: the next slot is {turn:.2f}s away, "
                    f"after the deadline ({max_wait:.2f}s left); raise the limit or the "
                    "deadline (AEXY_DEADLINE_SECONDS)", wait=turn - waited)
            try:
                await self._sleep_or_correction(remaining)
            except asyncio.CancelledError:
                self._unreserve(amount)
                raise

    async def _sleep_or_correction(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if a reconciliation moves the queue meanwhile."""
        if self.tokens is None:  # nothing can move a request-only queue
            await self._sleep(seconds)
            return
        if self._changed is None:
            self._changed = asyncio.Event()
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        changed = asyncio.ensure_future(self._changed.wait())
        try:
            await asyncio.wait((sleeper, changed), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            changed.cancel()

    def _unreserve(self, amount: float) -> None:
        if self.requests is not None:
            self.requests.unreserve(1)
        if self.tokens is not None:
            self.tokens.unreserve(amount)

    def reconcile(self, estimated: int, actual: int) -> None:
        if self.tokens is None:
            return
        delta = self.tokens.clamp(estimated) - actual
        self.tokens.adjust(delta)
        self.reconciled += 1
        self.reconcile_delta += int(delta)
        if self._changed is not None and delta:
            self._changed.set()  # wake every waiter to recompute its turn
            self._changed = None

    def snapshot(self) -> dict[str, Any]:
        return {
            "limiter": "local",
            "requests_per_minute": self.limits.requests_per_minute,
            "tokens_per_minute": self.limits.tokens_per_minute,
            "available_requests": (None if self.requests is None
                                   else round(self.requests.available(), 3)),
            "available_tokens": (None if self.tokens is None
                                 else round(self.tokens.available(), 1)),
            "waits": self.waits,
            "waited_s": round(self.waited_s, 3),
            "rejected": self.rejected,
            "reconciled": self.reconciled,
            "tokens_returned": self.reconcile_delta,
        }
