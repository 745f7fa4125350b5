"""A failure-rate circuit breaker per provider and model, on the model of resilience4j.

``closed``: calls pass, and each verdict (a retryable failure, or a healthy answer) is counted in
a sliding window of the last ``window`` seconds. Once the window holds at least
``minimum_calls`` verdicts and ``failure_rate`` of them or more are failures, the circuit opens.
``open``: calls are refused at once (the fallback chain skips the provider without waiting)
until ``cooldown`` has passed. ``half_open``: at most ``half_open_calls`` trial calls pass; the
circuit opens again as soon as enough of them failed to reach ``failure_rate``, and closes (with
an empty window) as soon as enough succeeded that it cannot. A trial that ends without a
verdict (cancelled) frees its slot for another.

The window is measured in time, not in calls: a gateway's call rate ranges from one call every
few seconds (a CLI run) to thousands per second (a batch at concurrency 256), and failures of
concurrent calls arrive together (one stall times out every call in flight). A window of the
last N calls would span minutes in the first case and a few milliseconds in the second, where
one such burst fills it; a window of the last N seconds weighs a burst against everything else
the provider did in that time. Verdicts are kept in ``_BUCKETS`` buckets, so the window slides
in steps of ``window / _BUCKETS`` and costs the same at any call rate.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from aexy.resilience.clock import Clock

if TYPE_CHECKING:
    from aexy.settings import AexySettings

__all__ = ["BreakerState", "CircuitBreaker", "Permit"]

logger = logging.getLogger("aexy")

#: Buckets per window: the window slides in steps of ``window / _BUCKETS``.
_BUCKETS = 10


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class Permit:
    """Leave to make one call; ``trial`` marks a half-open probe. ``generation`` is the
    breaker's state period the permit was given in: a verdict from an earlier one is stale."""

    trial: bool = False
    generation: int = 0


class CircuitBreaker:
    """:param failure_rate: share of failed calls in the window (``0 < rate <= 1``) that opens
        the circuit; ``0`` disables the breaker.
    :param window: seconds of recent verdicts the failure rate is computed over.
    :param minimum_calls: verdicts the window must hold before the circuit may open.
    :param cooldown: seconds the circuit stays open before trial calls.
    :param half_open_calls: trial calls allowed while half-open.
    :param threshold: deprecated (it counted consecutive failures); ``0`` still disables the
        breaker, any other value is ignored.
    """

    def __init__(self, name: str, *, failure_rate: float = 0.5, window: float = 60.0,
                 minimum_calls: int = 20, cooldown: float = 30.0, half_open_calls: int = 3,
                 clock: Clock, threshold: int | None = None) -> None:
        if not 0 <= failure_rate <= 1:
            raise ValueError("failure_rate must be within 0 and 1")
        if window <= 0 or minimum_calls < 1 or half_open_calls < 1 or cooldown < 0:
            raise ValueError("window must be positive, minimum_calls and half_open_calls at "
                             "least 1, cooldown not negative")
        self.name = name
        self.failure_rate = 0.0 if threshold == 0 else failure_rate
        self.window = window
        self.minimum_calls = minimum_calls
        self.cooldown = cooldown
        self.half_open_calls = half_open_calls
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0
        # The sliding window: per bucket, verdicts and failures; totals kept alongside.
        self._width = window / _BUCKETS
        self._calls = [0] * _BUCKETS
        self._failed = [0] * _BUCKETS
        self._total = 0
        self._total_failed = 0
        self._tick = math.floor(clock() / self._width)  # the bucket now being filled
        # Half-open: trials handed out, and their verdicts so far.
        self._trials = 0
        self._trial_ok = 0
        self._trial_failed = 0
        self._generation = 0
        self._pass = Permit(False, 0)
        self.times_opened = 0
        self.rejected = 0

    @classmethod
    def from_settings(cls, name: str, settings: AexySettings, *, clock: Clock
                      ) -> CircuitBreaker:
        """The breaker the ``AEXY_BREAKER_*`` settings describe (docs/resilience.md)."""
        return cls(name, failure_rate=settings.breaker_failure_rate,
                   window=settings.breaker_window, minimum_calls=settings.breaker_min_calls,
                   cooldown=settings.breaker_cooldown,
                   half_open_calls=settings.breaker_half_open_calls,
                   threshold=settings.breaker_threshold, clock=clock)

    @property
    def enabled(self) -> bool:
        return self.failure_rate > 0

    @property
    def state(self) -> BreakerState:
        """The state now (an open circuit whose cool-down has passed reads ``half_open``)."""
        if self._state is BreakerState.OPEN and self._cooled_down():
            return BreakerState.HALF_OPEN
        return self._state

    def _cooled_down(self) -> bool:
        return self._clock() - self._opened_at >= self.cooldown

    def retry_in(self) -> float:
        """Seconds until an open circuit lets a trial through (0 when not open)."""
        if self._state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.cooldown - self._clock())

    def allows(self) -> bool:
        """Whether :meth:`acquire` would grant a permit now, without taking one."""
        if self._state is BreakerState.CLOSED or not self.enabled:
            return True
        if self._state is BreakerState.OPEN:
            return self._cooled_down()
        return self._trials < self.half_open_calls

    def acquire(self) -> Permit | None:
        """A permit for one call, or ``None`` when the circuit refuses it."""
        if self._state is BreakerState.CLOSED or not self.enabled:
            return self._pass
        if self._state is BreakerState.OPEN:
            if not self._cooled_down():
                self.rejected += 1
                return None
            self._half_open()
        if self._trials >= self.half_open_calls:
            self.rejected += 1
            return None
        self._trials += 1
        return Permit(True, self._generation)

    def record(self, permit: Permit, *, failed: bool) -> None:
        """The verdict of a call: ``failed`` for a retryable failure; a success or any other
        answer (the provider responded) counts as healthy."""
        if permit.generation != self._generation or not self.enabled:
            return  # given before the last change of state: stale news
        if self._state is BreakerState.CLOSED:
            self._count(failed)
            if (failed and self._total >= self.minimum_calls
                    and self._total_failed >= self.failure_rate * self._total):
                self._open(f"{self._total_failed} of the last {self._total} calls failed "
                           f"within {self.window:g}s")
        elif self._state is BreakerState.HALF_OPEN and permit.trial:
            if failed:
                self._trial_failed += 1
            else:
                self._trial_ok += 1
            needed = max(1, math.ceil(self.failure_rate * self.half_open_calls))
            if self._trial_failed >= needed:
                self._open(f"{self._trial_failed} of {self.half_open_calls} trial calls failed")
            elif self._trial_ok > self.half_open_calls - needed:
                self._close()

    def release(self, permit: Permit) -> None:
        """The call ended without a verdict (cancelled, or never started)."""
        if (permit.trial and permit.generation == self._generation
                and self._state is BreakerState.HALF_OPEN):
            self._trials -= 1

    # -- the window ------------------------------------------------------------------------------
    def _count(self, failed: bool) -> None:
        tick = math.floor(self._clock() / self._width)
        if tick != self._tick:
            self._slide(tick)
        i = tick % _BUCKETS
        self._calls[i] += 1
        self._total += 1
        if failed:
            self._failed[i] += 1
            self._total_failed += 1

    def _slide(self, tick: int) -> None:
        """Empty the buckets that fell out of the window since the last verdict."""
        for t in range(self._tick + 1, min(tick, self._tick + _BUCKETS) + 1):
            i = t % _BUCKETS
            self._total -= self._calls[i]
            self._total_failed -= self._failed[i]
            self._calls[i] = self._failed[i] = 0
        self._tick = max(tick, self._tick)

    def _window_counts(self) -> tuple[int, int]:
        tick = math.floor(self._clock() / self._width)
        if tick != self._tick and self._state is BreakerState.CLOSED:
            self._slide(tick)
        return self._total, self._total_failed

    # -- transitions -----------------------------------------------------------------------------
    def _next_generation(self) -> None:
        self._generation += 1
        self._pass = Permit(False, self._generation)

    def _open(self, why: str) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._clock()
        self.times_opened += 1
        self._next_generation()
        logger.warning("circuit opened: %s; cooling down %.1fs", why, self.cooldown,
                       extra={"circuit": self.name})

    def _half_open(self) -> None:
        self._state = BreakerState.HALF_OPEN
        self._trials = self._trial_ok = self._trial_failed = 0
        self._next_generation()
        logger.info("circuit half-open: letting up to %d trial calls through",
                    self.half_open_calls, extra={"circuit": self.name})

    def _close(self) -> None:
        self._state = BreakerState.CLOSED
        self._calls = [0] * _BUCKETS
        self._failed = [0] * _BUCKETS
        self._total = self._total_failed = 0
        self._tick = math.floor(self._clock() / self._width)
        self._next_generation()
        logger.info("circuit closed: trial calls succeeded", extra={"circuit": self.name})

    def snapshot(self) -> dict[str, Any]:
        calls, failed = self._window_counts()
        return {
            "state": self.state.value,
            "window_calls": calls,
            "window_failures": failed,
            "window_failure_rate": round(failed / calls, 4) if calls else 0.0,
            "failure_rate_threshold": self.failure_rate,
            "window_s": self.window,
            "minimum_calls": self.minimum_calls,
            "cooldown_s": self.cooldown,
            "retry_in_s": round(self.retry_in(), 3),
            "half_open_calls": self.half_open_calls,
            "times_opened": self.times_opened,
            "rejected": self.rejected,
        }
