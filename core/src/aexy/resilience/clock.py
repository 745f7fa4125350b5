"""Time as a dependency: the clock/sleep types, a per-call deadline, and a virtual clock.

The gateway never calls ``time`` or ``asyncio.sleep`` directly; it uses the ``clock`` and
``sleep`` it was given. :class:`VirtualClock` supplies both for tests and benchmarks: sleeping
tasks wake in time order, and time jumps forward only when every task is blocked, so a run that
"waits" minutes takes milliseconds and is deterministic.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import weakref
from collections.abc import Awaitable, Callable, Iterable

__all__ = ["Clock", "Cutoff", "Deadline", "Random", "Sleep", "VirtualClock"]

#: Monotonic seconds.
Clock = Callable[[], float]
#: ``await sleep(seconds)``.
Sleep = Callable[[float], Awaitable[None]]
#: A uniform number in ``[0, 1)``; the source of backoff jitter.
Random = Callable[[], float]


class Deadline:
    """One overall time budget, measured on ``clock``; ``seconds=None`` means no limit."""

    __slots__ = ("_clock", "at", "seconds")

    def __init__(self, clock: Clock, seconds: float | None) -> None:
        self._clock = clock
        self.seconds = seconds
        self.at = None if seconds is None else clock() + seconds

    def remaining(self) -> float:
        """Seconds left (``inf`` without a limit, ``0.0`` once expired)."""
        if self.at is None:
            return float("inf")
        return max(0.0, self.at - self._clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0


class Cutoff:
    """``with Cutoff(seconds):`` cancels the running task when the block outlives ``seconds`` of
    real time, and turns that cancellation into :class:`TimeoutError`; a cancellation from
    anywhere else stays a cancellation. What ``asyncio.timeout`` does for one attempt, as a plain
    context manager: it runs on every provider call, so its cost counts. It takes no timer of its
    own: one :class:`_Watchdog` per event loop watches every cutoff in force.
    """

    __slots__ = ("_cancelling", "_fired", "_task", "_watchdog")

    def __init__(self, seconds: float) -> None:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("Cutoff must be used inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        self._fired = False
        loop = task.get_loop()
        watchdog = self._watchdog = _watchdog_for(loop)
        at = loop.time() + seconds
        watchdog.due[self] = at
        if at < watchdog.wake_at:
            watchdog.set(loop, at)

    def _fire(self) -> None:
        self._fired = True
        self._task.cancel()

    def __enter__(self) -> Cutoff:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        self._watchdog.due.pop(self, None)
        # Our own cancel request is withdrawn; only when it was the only one does the block
        # end in a timeout (as asyncio.timeout decides).
        if (self._fired and self._task.uncancel() <= self._cancelling
                and exc_type is asyncio.CancelledError):
            raise TimeoutError


class _Watchdog:
    """The cutoffs in force on one event loop, behind a single timer set for the earliest of
    them. Starting and ending a cutoff is a dict entry; a timer handle per call (created,
    pushed on the loop's heap, cancelled) cost several times more. The timer is only moved
    earlier, never cancelled when a cutoff ends: when it fires it fires what is due and sets
    itself for the earliest cutoff left, so an unneeded wake-up costs one look at the dict.
    It holds neither the loop nor its timer strongly, so a closed loop is freed with it."""

    __slots__ = ("_timer", "due", "wake_at")

    def __init__(self) -> None:
        #: Each cutoff in force and when it is due (:class:`Cutoff` adds and removes itself).
        self.due: dict[Cutoff, float] = {}
        self.wake_at = math.inf
        self._timer: weakref.ref[asyncio.TimerHandle] | None = None

    def __len__(self) -> int:
        return len(self.due)

    def set(self, loop: asyncio.AbstractEventLoop, at: float) -> None:
        """Wake at ``at`` (loop time), instead of any later wake-up."""
        timer = self._timer() if self._timer is not None else None
        if timer is not None:
            timer.cancel()
        self.wake_at = at
        self._timer = weakref.ref(loop.call_at(at, self._wake, loop))

    def _wake(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer, self.wake_at = None, math.inf
        now = loop.time()
        for cutoff in [c for c, at in self.due.items() if at <= now]:
            del self.due[cutoff]
            cutoff._fire()
        if self.due:
            self.set(loop, min(self.due.values()))


_watchdogs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watchdog] = (
    weakref.WeakKeyDictionary())
#: The loop asked about last (weakly held) and its watchdog: one loop is the common case.
_last: tuple[weakref.ref[asyncio.AbstractEventLoop], _Watchdog] | None = None


def _watchdog_for(loop: asyncio.AbstractEventLoop) -> _Watchdog:
    global _last
    if _last is not None and _last[0]() is loop:
        return _last[1]
    watchdog = _watchdogs.get(loop)
    if watchdog is None:
        watchdog = _watchdogs[loop] = _Watchdog()
    _last = (weakref.ref(loop), watchdog)
    return watchdog


class VirtualClock:
    """A clock and an async sleep in virtual time.

    ``clock = VirtualClock(); LLMGateway(..., clock=clock, sleep=clock.sleep)``. Every requested
    sleep is recorded in :attr:`sleeps`. Time advances to the earliest pending wake-up once the
    event loop has nothing else ready to run (CPython's default loop; other loops fall back to
    yielding a few times first).
    """

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward by hand (for code that only reads the clock)."""
        self.now += seconds

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        if delay <= 0:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._heap, (self.now + delay, next(self._seq), fut))
        if self._driver is None or self._driver.done():
            self._driver = loop.create_task(self._drive())
        await fut

    async def _drive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while self._heap and self._heap[0][2].done():  # sleepers cancelled meanwhile
                heapq.heappop(self._heap)
            if not self._heap:
                return
            await self._until_idle(loop)
            when, _, fut = heapq.heappop(self._heap)
            if fut.done():
                continue
            self.now = max(self.now, when)
            fut.set_result(None)

    @staticmethod
    async def _until_idle(loop: asyncio.AbstractEventLoop) -> None:
        ready = getattr(loop, "_ready", None)
        if ready is None:
            for _ in range(64):
                await asyncio.sleep(0)
            return
        await asyncio.sleep(0)
        while _busy(ready):  # noqa: ASYNC110 - polling the loop's ready queue is the point
            await asyncio.sleep(0)


def _busy(ready: Iterable[object]) -> bool:
    """Whether anything but a virtual-clock driver is ready to run (two clocks on one loop
    would otherwise each wait forever for the other to go idle)."""
    for handle in ready:
        task = getattr(getattr(handle, "_callback", None), "__self__", None)
        coro = task.get_coro() if isinstance(task, asyncio.Task) else None
        if getattr(coro, "__qualname__", "") != "VirtualClock._drive":
            return True
    return False
