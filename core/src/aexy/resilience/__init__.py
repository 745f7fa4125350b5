"""Resilience building blocks used by :class:`aexy.LLMGateway`: deadlines, the attempt cutoff and
a virtual clock, the retry policy, the circuit breaker, single-flight request coalescing, and
the one-warning-per-outage log.
:mod:`aexy.resilience.guard` puts them around one provider (``GuardedProvider``).

Rate limiters live in :mod:`aexy.ratelimit` (they are a plugin hook). Everything here takes an
injected clock and sleep, so tests and benchmarks run in virtual time.
"""

from __future__ import annotations

from aexy.resilience.breaker import BreakerState, CircuitBreaker, Permit
from aexy.resilience.clock import Clock, Deadline, Random, Sleep, VirtualClock
from aexy.resilience.incident import IncidentLog
from aexy.resilience.retry import RetryPolicy
from aexy.resilience.singleflight import Shared, SingleFlight

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "Clock",
    "Deadline",
    "IncidentLog",
    "Permit",
    "Random",
    "RetryPolicy",
    "Shared",
    "SingleFlight",
    "Sleep",
    "VirtualClock",
]
