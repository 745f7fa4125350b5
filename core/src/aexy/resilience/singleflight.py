"""Single-flight: concurrent calls with the same key share one execution.

The shared work runs in its own task, so a caller that is cancelled leaves and the work goes on
for the others; when the last caller leaves, the work is cancelled (nobody wants its result).
Each caller waits on a future of its own, which the work resolves itself as it finishes (one
event-loop turn sooner than a done-callback or ``asyncio.shield`` would). The key is dropped
before the callers resume, so an error reaches the callers that were waiting and nobody after
them: errors are never remembered.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import Any, Generic, NamedTuple, TypeVar

__all__ = ["Shared", "SingleFlight"]

T = TypeVar("T")

if sys.version_info >= (3, 12):
    def _start(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, None]
               ) -> asyncio.Task[None]:
        # Runs the work at once, up to its first real wait: no event-loop turn before it
        # starts, and none at all for work that never waits.
        return asyncio.Task(coro, loop=loop, eager_start=True)
else:
    def _start(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, None]
               ) -> asyncio.Task[None]:
        return loop.create_task(coro)


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
    __slots__ = ("callers", "task", "waiting")

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None
        self.waiting: list[asyncio.Future[T]] = []
        self.callers = 0  # every caller that received (or will receive) the value


class SingleFlight(Generic[T]):
    """``value, joined, shared = await flights.do(key, make_coroutine)``."""

    def __init__(self) -> None:
        self._flights: dict[Hashable, _Flight[T]] = {}

    def __len__(self) -> int:
        return len(self._flights)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._flights

    async def do(self, key: Hashable, fn: Callable[[], Awaitable[T]]) -> Shared[T]:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[T] = loop.create_future()
        flight = self._flights.get(key)
        joined = flight is not None
        if flight is None:
            flight = self._flights[key] = _Flight()
            flight.waiting.append(waiter)  # before the work starts: it may finish eagerly
            flight.callers += 1
            flight.task = _start(loop, self._run(key, flight, fn))
        else:
            flight.waiting.append(waiter)
            flight.callers += 1
        try:
            if not joined and not waiter.done():
                # Let the work take its first step before waiting on it: when it finishes
                # without ever waiting (a cache, an in-process model), the result is already
                # here and no further event-loop turn is spent (Python 3.12 starts it eagerly).
                await asyncio.sleep(0)
            value = waiter.result() if waiter.done() else await waiter
        except asyncio.CancelledError:
            # This caller was cancelled (or the work was): if it was the last one waiting,
            # nobody wants the result any more.
            flight.waiting.remove(waiter)
            flight.callers -= 1
            if not flight.waiting and flight.task is not None and not flight.task.done():
                self._drop(key, flight)
                flight.task.cancel()
            raise
        return Shared(value, joined, joined or flight.callers > 1)

    async def _run(self, key: Hashable, flight: _Flight[T],
                   fn: Callable[[], Awaitable[T]]) -> None:
        try:
            value = await fn()
        except BaseException as exc:
            self._drop(key, flight)
            for waiter in flight.waiting:
                if not waiter.done():
                    if isinstance(exc, asyncio.CancelledError):
                        waiter.cancel()
                    else:
                        waiter.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        self._drop(key, flight)
        for waiter in flight.waiting:
            if not waiter.done():
                waiter.set_result(value)

    def _drop(self, key: Hashable, flight: _Flight[T]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
