"""Single-flight: concurrent calls with the same key share one execution.

The shared work runs in its own task and every caller awaits it through ``asyncio.shield``: a
caller that is cancelled leaves, the work goes on for the others. When the last caller leaves,
the work is cancelled (nobody wants its result). The key is dropped before the task finishes,
so an error reaches the callers that were waiting and nobody after them: errors are never
remembered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, NamedTuple, TypeVar

__all__ = ["Shared", "SingleFlight"]

T = TypeVar("T")


class Shared(NamedTuple, Generic[T]):
    """What :meth:`SingleFlight.do` returns.

    :param value: the result of the shared work.
    :param joined: this caller joined work another caller started.
    :param shared: more than one caller received this same ``value`` (copy before mutating).
    """

    value: T
    joined: bool
    shared: bool


class _Flight(Generic[T]):
    __slots__ = ("task", "waiters")

    def __init__(self) -> None:
        self.task: asyncio.Task[T] | None = None
        self.waiters = 0


class SingleFlight(Generic[T]):
    """``value, joined, shared = await flights.do(key, make_coroutine)``."""

    def __init__(self) -> None:
        self._flights: dict[Hashable, _Flight[T]] = {}

    def __len__(self) -> int:
        return len(self._flights)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._flights

    async def do(self, key: Hashable, fn: Callable[[], Awaitable[T]]) -> Shared[T]:
        flight = self._flights.get(key)
        joined = flight is not None
        if flight is None:
            flight = self._start(key, fn)
        task = flight.task
        assert task is not None
        flight.waiters += 1
        try:
            value = await asyncio.shield(task)
            # Joiners decrement only after they resume, so the count still includes them.
            return Shared(value, joined, joined or flight.waiters > 1)
        except asyncio.CancelledError:
            # This caller was cancelled (the work itself is not done): if it was the last
            # one waiting, nobody wants the result any more.
            if not task.done() and flight.waiters == 1:
                self._drop(key, flight)
                task.cancel()
            raise
        finally:
            flight.waiters -= 1

    def _start(self, key: Hashable, fn: Callable[[], Awaitable[T]]) -> _Flight[T]:
        flight: _Flight[T] = _Flight()

        async def run() -> T:
            try:
                return await fn()
            finally:
                self._drop(key, flight)

        flight.task = asyncio.ensure_future(run())
        flight.task.add_done_callback(_retrieve)
        self._flights[key] = flight
        return flight

    def _drop(self, key: Hashable, flight: _Flight[T]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]


def _retrieve(task: asyncio.Task[object]) -> None:
    # Mark the exception as seen: if every caller left, nobody else would, and asyncio would
    # log "Task exception was never retrieved".
    if not task.cancelled():
        task.exception()
