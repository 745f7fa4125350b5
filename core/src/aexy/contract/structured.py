"""What servers taught this process about structured output: the step-down ladder.

Servers that copy an API rarely copy all of it: one rejects strict JSON-schema output, another a
non-default temperature. A provider lists its structured-output modes best first; when a server
rejects the one sent, the provider steps down one mode within the call, and :class:`ServerMemo`
remembers the lower mode per endpoint and model for every provider instance in the process (a
gateway built per request does not rediscover it). A rejection that concerned one schema only
is not remembered, so one odd schema does not downgrade every analysis type. Writes are rare; a
lock keeps them whole.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Generic, TypeVar

__all__ = ["ServerMemo"]

M = TypeVar("M", bound=str)


class ServerMemo(Generic[M]):
    """The structured-output mode that works, and the request features refused, per
    ``(endpoint, model)``.

    :param modes: every mode, best first; the first is where an unknown server starts.
    """

    def __init__(self, modes: Sequence[M]) -> None:
        if not modes:
            raise ValueError("a ladder needs at least one mode")
        self.modes: tuple[M, ...] = tuple(modes)
        self._working: dict[tuple[str, str], M] = {}
        self._refused: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    def mode(self, endpoint: str, model: str) -> M:
        """The mode the next call to ``model`` at ``endpoint`` starts with."""
        return self._working.get((endpoint, model), self.modes[0])

    def step_down(self, endpoint: str, model: str, rejected: M, *, remember: bool = True
                  ) -> M | None:
        """The mode below ``rejected`` (``None`` at the bottom), remembered for later calls
        unless ``remember`` is false (the rejection was about one schema, not the server)."""
        index = self.modes.index(rejected)
        if index + 1 >= len(self.modes):
            return None
        lower = self.modes[index + 1]
        if remember:
            with self._lock:
                # Another call may have stepped further down meanwhile: never step back up.
                known = self._working.get((endpoint, model), self.modes[0])
                if self.modes.index(known) < index + 1:
                    self._working[(endpoint, model)] = lower
        return lower

    def refuses(self, endpoint: str, model: str, feature: str) -> bool:
        """Whether ``model`` at ``endpoint`` refused ``feature`` (e.g. ``"temperature"``)."""
        return (endpoint, model, feature) in self._refused

    def refused(self, endpoint: str, model: str, feature: str) -> None:
        """Remember that ``model`` at ``endpoint`` refuses ``feature``."""
        with self._lock:
            self._refused.add((endpoint, model, feature))

    def forget(self) -> None:
        """Forget everything learned (tests, or after a server upgrade)."""
        with self._lock:
            self._working.clear()
            self._refused.clear()
