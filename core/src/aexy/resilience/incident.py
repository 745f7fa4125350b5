"""One warning per outage: :class:`IncidentLog`.

A dependency that fails now and then answers (a Redis restarting, a slow one, a flapping
network) would log a warning at every failure that follows a success. An incident here starts
at a failure and ends only once the dependency has answered ``quiet`` seconds after its last
failure: the first failure logs one warning, failures within the incident log nothing, and the
end logs one line at ``INFO``. The cache tier and the Redis rate limiter both log through it.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from aexy.resilience.clock import Clock

__all__ = ["IncidentLog"]

#: Seconds a dependency must answer without failing before an incident is over.
QUIET = 30.0


class IncidentLog:
    """:param what: the subject of both lines (``"cache backend redis"``).
    :param quiet: seconds without failure, ended by an answer, that end an incident
        (default :data:`QUIET`)."""

    __slots__ = ("_clock", "_last_failure", "_logger", "active", "incidents", "quiet", "what")

    def __init__(self, what: str, *, quiet: float | None = None, clock: Clock = time.monotonic,
                 logger: logging.Logger | None = None) -> None:
        self.what = what
        self.quiet = QUIET if quiet is None else quiet
        self._clock = clock
        self._logger = logger if logger is not None else logging.getLogger("aexy")
        self.active = False
        self.incidents = 0
        self._last_failure = -math.inf

    def failed(self, message: str, *args: Any, extra: dict[str, Any] | None = None) -> bool:
        """A failure; the warning ``"<what> <message>"`` is logged when it starts an incident.
        Returns whether it did."""
        self._last_failure = self._clock()
        if self.active:
            return False
        self.active = True
        self.incidents += 1
        self._logger.warning("%s %s", self.what, message % args if args else message,
                             extra=extra)
        return True

    def succeeded(self) -> None:
        """An answer: it ends the incident once ``quiet`` seconds have passed since the last
        failure."""
        if self.active and self._clock() - self._last_failure >= self.quiet:
            self.active = False
            self._logger.info("%s answers again (no failure for %gs)", self.what, self.quiet)
