"""The retry policy: which failures are retried, and how long to wait before the next try (what
a server asks for is read by :func:`~aexy.contract.http.parse_retry_after`, in the contract)."""

from __future__ import annotations

from dataclasses import dataclass

from aexy.contract.http import parse_retry_after as parse_retry_after
from aexy.errors import LLMError
from aexy.resilience.clock import Random

__all__ = ["RetryPolicy", "parse_retry_after"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped, honouring ``retry_after``.

    :param max_attempts: calls per provider for one request, the first included.
    :param base: ceiling of the first backoff, in seconds.
    :param factor: growth of the ceiling per attempt.
    :param cap: highest ceiling (a server's ``retry_after`` may exceed it, the deadline may not).
    :param retry_after_jitter: extra fraction of ``retry_after`` drawn at random, so clients told
        to come back at the same moment do not all arrive at once.
    """

    max_attempts: int = 3
    base: float = 0.5
    factor: float = 2.0
    cap: float = 20.0
    retry_after_jitter: float = 0.1

    def backoff(self, attempt: int, random: Random) -> float:
        """Full jitter: uniform in ``[0, min(cap, base * factor ** (attempt - 1))]``."""
        ceiling = min(self.cap, self.base * self.factor ** max(0, attempt - 1))
        return random() * ceiling

    def delay(self, error: LLMError, attempt: int, remaining: float,
              random: Random) -> float | None:
        """Seconds to sleep before attempt ``attempt + 1``, or ``None`` to stop now.

        Stops when the error is not retryable, the attempts are used up, or the wait (the
        server's ``retry_after`` included) would leave no time before the deadline: then the
        caller moves on at once instead of sleeping into a certain timeout.
        """
        if not error.retryable or attempt >= self.max_attempts:
            return None
        if error.retry_after is not None and error.retry_after > 0:
            if error.retry_after >= remaining:
                return None
            delay = error.retry_after * (1.0 + self.retry_after_jitter * random())
            # Never sleep into the deadline: fall back to the bare retry_after.
            return delay if delay < remaining else error.retry_after
        delay = self.backoff(attempt, random)
        return delay if delay < remaining else None
