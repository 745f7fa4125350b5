"""A circuit breaker per provider and model.

``closed``: calls pass; consecutive retryable failures are counted, anything else resets the
count. At ``threshold`` the circuit opens. ``open``: calls are refused at once (the fallback
chain skips the provider without waiting) until ``cooldown`` has passed. ``half_open``: exactly
one trial call passes; its success closes the circuit, a retryable failure opens it for another
cool-down, and a trial that ends without a verdict (cancelled) frees the slot for the next one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aexy.resilience.clock import Clock

__all__ = ["BreakerState", "CircuitBreaker", "Permit"]

logger = logging.getLogger("aexy")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class Permit:
    """Leave to make one call; ``trial`` marks the single half-open probe."""

    trial: bool = False


_PASS = Permit()
_TRIAL = Permit(trial=True)


class CircuitBreaker:
    """:param threshold: consecutive retryable failures that open the circuit (``0`` disables).
    :param cooldown: seconds the circuit stays open before a trial call."""

    def __init__(self, name: str, *, threshold: int = 5, cooldown: float = 30.0,
                 clock: Clock) -> None:
        self.name = name
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_out = False
        self.times_opened = 0
        self.rejected = 0

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
        if self.threshold <= 0 or self._state is BreakerState.CLOSED:
            return True
        if self._state is BreakerState.OPEN:
            return self._cooled_down()
        return not self._trial_out

    def acquire(self) -> Permit | None:
        """A permit for one call, or ``None`` when the circuit refuses it."""
        if self.threshold <= 0 or self._state is BreakerState.CLOSED:
            return _PASS
        if self._state is BreakerState.OPEN:
            if not self._cooled_down():
                self.rejected += 1
                return None
            self._state = BreakerState.HALF_OPEN
            self._trial_out = False
            logger.info("circuit half-open: letting one trial call through",
                        extra={"circuit": self.name})
        if self._trial_out:
            self.rejected += 1
            return None
        self._trial_out = True
        return _TRIAL

    def record(self, permit: Permit, *, failed: bool) -> None:
        """The verdict of a call: ``failed`` for a retryable failure; a success or any other
        answer (the provider responded) counts as healthy."""
        if self.threshold <= 0:
            return
        if self._state is BreakerState.HALF_OPEN:
            if not permit.trial:
                return  # a call admitted before the circuit opened: stale news
            self._trial_out = False
            if failed:
                self._open()
            else:
                self._close()
            return
        if self._state is BreakerState.OPEN:
            return  # late results of calls started before opening change nothing
        if not failed:
            self._failures = 0
            return
        self._failures += 1
        if self._failures >= self.threshold:
            self._open()

    def release(self, permit: Permit) -> None:
        """The call ended without a verdict (cancelled, or never started)."""
        if permit.trial and self._state is BreakerState.HALF_OPEN:
            self._trial_out = False

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._clock()
        self.times_opened += 1
        logger.warning("circuit opened after %d consecutive failures; cooling down %.1fs",
                       self._failures or 1, self.cooldown, extra={"circuit": self.name})

    def _close(self) -> None:
        self._state = BreakerState.CLOSED
        self._failures = 0
        logger.info("circuit closed: trial call succeeded", extra={"circuit": self.name})

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "consecutive_failures": self._failures,
            "threshold": self.threshold,
            "cooldown_s": self.cooldown,
            "retry_in_s": round(self.retry_in(), 3),
            "times_opened": self.times_opened,
            "rejected": self.rejected,
        }
